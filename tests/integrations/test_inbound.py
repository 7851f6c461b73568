"""POST /api/v1/channels/<channel_id>/events: every row of the contract's table."""

from __future__ import annotations

import json
import threading
import time
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connections
from django.test import Client

from bookings.models import Booking
from bookings.services.blocks import block_create
from bookings.services.stays import booking_change_dates, booking_create
from integrations import signatures
from integrations.models import (
    BookingConflict,
    InboundEvent,
    PartnerMessage,
    PartnerReservation,
    Platform,
)
from integrations.services import channels, conflicts
from tests.conftest import APP_HOST, Tenant, make_tenant
from tests.integrations.conftest import Partner, event, make_partner, post

pytestmark = pytest.mark.django_db


def counts() -> tuple[int, ...]:
    return (
        Booking.objects.count(),
        InboundEvent.objects.count(),
        PartnerReservation.objects.count(),
        BookingConflict.objects.count(),
        PartnerMessage.objects.count(),
    )


# --- 200 rows ---------------------------------------------------------------------------


def test_created_event_makes_a_confirmed_partner_booking(partner: Partner) -> None:
    response = post(partner.url, event(), partner.inbound)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "processed"
    booking = Booking.objects.get(reference=body["booking"])
    assert booking.status == Booking.Status.CONFIRMED
    assert booking.source == Booking.Source.AIRBNB
    assert (booking.check_in, booking.check_out) == (date(2031, 12, 20), date(2031, 12, 27))
    assert booking.guest_name == "Ada Lovelace"
    assert str(booking.total) == "1234.50"
    assert booking.business == partner.channel.business


def test_repeated_event_id_is_a_duplicate(partner: Partner) -> None:
    first = post(partner.url, event(), partner.inbound)
    again = post(partner.url, event(), partner.inbound)
    assert first.json()["status"] == "processed"
    assert again.status_code == 200
    assert again.json() == {"status": "duplicate"}
    assert Booking.objects.count() == 1


def test_revision_not_newer_is_stale(partner: Partner) -> None:
    post(partner.url, event("e1", revision=2), partner.inbound)
    response = post(partner.url, event("e2", "reservation.modified", revision=2), partner.inbound)
    assert response.json() == {"status": "stale"}
    older = post(partner.url, event("e3", "reservation.modified", revision=1), partner.inbound)
    assert older.json() == {"status": "stale"}


def test_modified_moves_the_booking(partner: Partner) -> None:
    ref = post(partner.url, event("e1"), partner.inbound).json()["booking"]
    response = post(
        partner.url,
        event(
            "e2", "reservation.modified", revision=2, check_in="2031-12-21", check_out="2031-12-29"
        ),
        partner.inbound,
    )
    assert response.json() == {"status": "processed", "booking": ref}
    booking = Booking.objects.get(reference=ref)
    assert (booking.check_in, booking.check_out) == (date(2031, 12, 21), date(2031, 12, 29))


def test_modified_before_created_creates_and_the_late_created_is_stale(partner: Partner) -> None:
    first = post(partner.url, event("e2", "reservation.modified", revision=2), partner.inbound)
    assert first.json()["status"] == "processed"
    late = post(partner.url, event("e1", "reservation.created", revision=1), partner.inbound)
    assert late.json() == {"status": "stale"}
    assert Booking.objects.count() == 1


def test_cancelled_before_created_leaves_a_tombstone(partner: Partner) -> None:
    response = post(partner.url, event("e2", "reservation.cancelled", revision=2), partner.inbound)
    assert response.json() == {"status": "processed", "booking": None}
    state = PartnerReservation.objects.get(reservation_id="HMABCD1234")
    assert state.cancelled
    assert state.last_revision == 2
    late = post(partner.url, event("e1", "reservation.created", revision=1), partner.inbound)
    assert late.json() == {"status": "stale"}
    assert Booking.objects.count() == 0


def test_cancelled_cancels_the_booking(partner: Partner) -> None:
    ref = post(partner.url, event("e1"), partner.inbound).json()["booking"]
    response = post(partner.url, event("e2", "reservation.cancelled", revision=2), partner.inbound)
    assert response.json() == {"status": "processed", "booking": ref}
    assert Booking.objects.get(reference=ref).status == Booking.Status.CANCELLED


def test_overlap_is_recorded_as_a_conflict_and_the_owner_is_told(
    partner: Partner, tenant: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    from bookings import signals

    heard: list[dict[str, Any]] = []

    def listener(sender: Any, **kwargs: Any) -> None:
        heard.append(kwargs)

    signals.conflict_recorded.connect(listener)
    try:
        existing = booking_create(
            property=tenant.prop,
            check_in=date(2031, 12, 22),
            check_out=date(2031, 12, 24),
            source="direct",
        )
        with django_capture_on_commit_callbacks(execute=True):
            response = post(partner.url, event(), partner.inbound)
    finally:
        signals.conflict_recorded.disconnect(listener)
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "conflict"
    conflict = BookingConflict.objects.get(public_id=body["conflict"])
    assert conflict.existing_booking == existing
    assert conflict.partner_data["guest_name"] == "Ada Lovelace"
    assert conflict.status == BookingConflict.Status.OPEN
    assert (conflict.check_in, conflict.check_out) == (date(2031, 12, 20), date(2031, 12, 27))
    assert heard
    assert heard[0]["conflict_id"] == conflict.public_id
    assert heard[0]["business_id"] == tenant.business.pk


def test_refused_move_is_a_conflict_with_both_sides(partner: Partner, tenant: Tenant) -> None:
    ref = post(partner.url, event("e1"), partner.inbound).json()["booking"]
    block = block_create(property=tenant.prop, start=date(2032, 1, 5), end=date(2032, 1, 8))
    response = post(
        partner.url,
        event(
            "e2", "reservation.modified", revision=2, check_in="2032-01-04", check_out="2032-01-06"
        ),
        partner.inbound,
    )
    assert response.json()["status"] == "conflict"
    conflict = BookingConflict.objects.get()
    assert conflict.existing_booking == block
    assert conflict.partner_booking.reference == ref
    # The partner's booking keeps its old dates until the owner decides.
    assert Booking.objects.get(reference=ref).check_in == date(2031, 12, 20)


def test_owner_resolves_a_conflict_by_taking_the_partner_stay(
    partner: Partner, tenant: Tenant
) -> None:
    block = block_create(property=tenant.prop, start=date(2031, 12, 22), end=date(2031, 12, 24))
    body = post(partner.url, event(), partner.inbound).json()
    conflict = BookingConflict.objects.get(public_id=body["conflict"])
    conflicts.conflict_resolve(conflict=conflict, action="take_partner")
    block.refresh_from_db()
    assert block.status == Booking.Status.CANCELLED
    stay = Booking.objects.get(source="airbnb", status="confirmed")
    assert stay.check_in == date(2031, 12, 20)
    assert PartnerReservation.objects.get().booking == stay
    conflict.refresh_from_db()
    assert conflict.status == BookingConflict.Status.RESOLVED


def test_owner_resolves_a_conflict_by_moving_the_existing_stay(
    partner: Partner, tenant: Tenant
) -> None:
    existing = booking_create(
        property=tenant.prop,
        check_in=date(2031, 12, 22),
        check_out=date(2031, 12, 24),
        source="direct",
        enforce_rules=False,
    )
    body = post(partner.url, event(), partner.inbound).json()
    conflict = BookingConflict.objects.get(public_id=body["conflict"])
    booking_change_dates(
        booking=existing,
        check_in=date(2032, 2, 1),
        check_out=date(2032, 2, 3),
        enforce_rules=False,
    )
    conflict = conflicts.conflict_resolve(conflict=conflict, action="take_partner")
    existing.refresh_from_db()
    assert existing.status == Booking.Status.CONFIRMED
    assert existing.check_in == date(2032, 2, 1)
    stay = Booking.objects.get(source="airbnb", status="confirmed")
    assert stay.check_in == date(2031, 12, 20)
    assert conflict.resolution.startswith(f"Kept (moved) {existing.reference}")


def test_message_is_stored_on_the_booking_thread(partner: Partner) -> None:
    ref = post(partner.url, event("e1"), partner.inbound).json()["booking"]
    response = post(partner.url, event("e2", "message.created"), partner.inbound)
    assert response.json() == {"status": "processed", "booking": ref}
    message = PartnerMessage.objects.get()
    assert message.booking.reference == ref
    assert message.sender == "guest"
    assert message.body == "Hello"


def test_message_before_its_reservation_is_linked_when_it_arrives(partner: Partner) -> None:
    post(partner.url, event("e0", "message.created"), partner.inbound)
    ref = post(partner.url, event("e1"), partner.inbound).json()["booking"]
    assert PartnerMessage.objects.get().booking.reference == ref


# --- 4xx rows: each writes nothing ------------------------------------------------------


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda e: e["data"].update(check_in="2031-02-30"), "data.check_in"),
        (lambda e: e["data"].update(check_out="2031-12-20"), "data.check_out"),
        (lambda e: e["data"].update(check_out="2031-12-01"), "data.check_out"),
        (lambda e: e["data"].update(guests=0), "data.guests"),
        (lambda e: e["data"].update(guests="4"), "data.guests"),
        (lambda e: e.update(type="reservation.exploded"), "type"),
        (lambda e: e.pop("id"), "id"),
        (lambda e: e["data"].pop("reservation_id"), "data.reservation_id"),
        (lambda e: e["data"].update(revision="2"), "data.revision"),
        (
            lambda e: e["data"].update(total={"amount": "-1", "currency": "EUR"}),
            "data.total.amount",
        ),
        (
            lambda e: e["data"].update(total={"amount": "1", "currency": "euro"}),
            "data.total.currency",
        ),
        (lambda e: e["data"]["guest"].update(email="not-an-email"), "data.guest.email"),
        (lambda e: e.update(occurred_at="yesterday"), "occurred_at"),
        # Inputs that reach database limits must stop at validation, not at the database.
        (lambda e: e["data"].update(guests=40000), "data.guests"),
        (lambda e: e["data"].update(check_in="2031-12-2"), "data.check_in"),
        (lambda e: e["data"].update(check_in="20311220"), "data.check_in"),
        (lambda e: e["data"].update(check_in="2031-W51-6"), "data.check_in"),
        (
            lambda e: e["data"].update(total={"amount": "9999999999.996", "currency": "EUR"}),
            "data.total.amount",
        ),
        (
            lambda e: e["data"].update(total={"amount": "1", "currency": "EUR\n"}),
            "data.total.currency",
        ),
    ],
)
def test_invalid_fields_are_400_and_write_nothing(
    partner: Partner, mutate: Any, field: str
) -> None:
    payload = event()
    mutate(payload)
    before = counts()
    response = post(partner.url, payload, partner.inbound)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid_payload"
    assert field in error["fields"]
    assert counts() == before


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"[1, 2]",
        b"\xff\xfe",
        b"null",
        b"[" * 50_000 + b"]" * 50_000,  # nesting deeper than the parser's recursion
        b'{"id": "e1", "type": "reservation.created", "extra": NaN}',
        b'{"id": "e1", "type": "reservation.created", "extra": Infinity}',
        b'{"id": "e\\u00001", "type": "reservation.created"}',  # NUL: PostgreSQL refuses it
    ],
)
def test_malformed_json_is_400(partner: Partner, raw: bytes) -> None:
    before = counts()
    response = post(partner.url, None, partner.inbound, raw=raw)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_payload"
    assert counts() == before


def test_stay_longer_than_the_engine_allows_is_400(partner: Partner) -> None:
    before = counts()
    response = post(partner.url, event(check_out="2036-12-27"), partner.inbound)
    assert response.status_code == 400
    assert counts() == before


def test_unknown_channel_is_404(partner: Partner) -> None:
    response = post("/api/v1/channels/ch_nope/events", event(), partner.inbound)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_channel"


def test_inactive_channel_is_404(partner: Partner) -> None:
    partner.channel.active = False
    partner.channel.save()
    before = counts()
    response = post(partner.url, event(), partner.inbound)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_channel"
    assert counts() == before


def test_body_over_256_kib_is_413(partner: Partner) -> None:
    payload = event()
    payload["data"]["padding"] = "x" * (256 * 1024)
    before = counts()
    response = post(partner.url, payload, partner.inbound)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert counts() == before


def test_body_of_exactly_256_kib_is_accepted(partner: Partner) -> None:
    payload = event()
    payload["data"]["padding"] = ""
    size = len(json.dumps(payload).encode())
    payload["data"]["padding"] = "x" * (256 * 1024 - size)
    assert len(json.dumps(payload).encode()) == 256 * 1024
    assert post(partner.url, payload, partner.inbound).status_code == 200


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_not_json_is_415(partner: Partner, content_type: str) -> None:
    before = counts()
    response = post(partner.url, event(), partner.inbound, content_type=content_type)
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"
    assert counts() == before


def test_json_with_charset_is_accepted(partner: Partner) -> None:
    response = post(
        partner.url, event(), partner.inbound, content_type="application/json; charset=utf-8"
    )
    assert response.status_code == 200


def test_unmapped_listing_is_422(partner: Partner) -> None:
    before = counts()
    response = post(partner.url, event(listing_id="air-999"), partner.inbound)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "unknown_listing"
    assert counts() == before


def test_listing_of_another_business_is_422(partner: Partner, outsider: Tenant) -> None:
    theirs = make_partner(outsider)
    from tests.factories import PropertyFactory

    channels.listing_link_create(
        channel=theirs.channel,
        listing_id="air-777",
        property=PropertyFactory(business=outsider.business),
    )
    response = post(partner.url, event(listing_id="air-777"), partner.inbound)
    assert response.status_code == 422


def test_get_is_refused_without_a_500(partner: Partner) -> None:
    response = Client(HTTP_HOST=APP_HOST).get(partner.url)
    assert response.status_code == 405


# --- Signatures -------------------------------------------------------------------------


def _assert_401(response: Any) -> None:
    assert response.status_code == 401, response.content
    assert response.json()["error"]["code"] == "invalid_signature"


def test_missing_signature_is_401(partner: Partner) -> None:
    before = counts()
    _assert_401(post(partner.url, event(), None))
    assert counts() == before


def test_wrong_signature_is_401(partner: Partner) -> None:
    _assert_401(post(partner.url, event(), "whsec_wrong"))


@pytest.mark.parametrize(
    "header",
    ["garbage", "t=abc,v1=00", "v1=00", "t=123", "", "t=\u00b2,v1=00", "t=1,v1=\u00e9"],
)
def test_malformed_signature_header_is_401(partner: Partner, header: str) -> None:
    _assert_401(post(partner.url, event(), None, signature=header))


def test_expired_timestamp_is_401(partner: Partner) -> None:
    _assert_401(post(partner.url, event(), partner.inbound, timestamp=int(time.time()) - 301))


def test_timestamp_far_in_the_future_is_401(partner: Partner) -> None:
    _assert_401(post(partner.url, event(), partner.inbound, timestamp=int(time.time()) + 3600))


def test_timestamp_within_the_window_is_accepted(partner: Partner) -> None:
    response = post(partner.url, event(), partner.inbound, timestamp=int(time.time()) - 250)
    assert response.status_code == 200


def test_signature_over_another_body_is_401(partner: Partner) -> None:
    from integrations import signatures

    header = signatures.sign(partner.inbound, b'{"id": "other"}')
    _assert_401(post(partner.url, event(), None, signature=header))


def test_one_valid_entry_among_several_v1_suffices(partner: Partner) -> None:
    from integrations import signatures

    body = json.dumps(event()).encode()
    good = signatures.sign(partner.inbound, body)
    t, v1 = good.split(",")
    header = f"{t},v1={'0' * 64},{v1},v1=deadbeef"
    response = post(partner.url, None, None, raw=body, signature=header)
    assert response.status_code == 200


def test_rotated_secret_old_one_works_for_24_hours(partner: Partner, settings: Any) -> None:
    import time_machine

    new = channels.channel_rotate_inbound_secret(channel=partner.channel)
    assert post(partner.url, event("e1"), new).status_code == 200
    assert post(partner.url, event("e2", reservation_id="R2"), partner.inbound).status_code == 200
    with time_machine.travel(time.time() + 25 * 3600, tick=False):
        _assert_401(post(partner.url, event("e3", reservation_id="R3"), partner.inbound))
        assert post(partner.url, event("e4", reservation_id="R4"), new).status_code == 200


def test_another_business_secret_is_401_on_this_channel(partner: Partner, outsider: Tenant) -> None:
    theirs = make_partner(outsider, platform=Platform.AIRBNB)
    before = counts()
    _assert_401(post(partner.url, event(), theirs.inbound))
    assert counts() == before


def test_secrets_are_stored_encrypted(partner: Partner) -> None:
    partner.channel.refresh_from_db()
    assert partner.inbound not in partner.channel.inbound_secret_enc
    assert partner.outbound not in partner.channel.outbound_secret_enc
    assert channels.channel_inbound_secrets(partner.channel) == [partner.inbound]


# --- Concurrency ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.xdist_group("many_connections")
def test_twenty_concurrent_deliveries_of_one_event_make_one_booking() -> None:
    tenant = make_tenant("seaside")
    partner = make_partner(tenant)
    body = json.dumps(event()).encode()
    from integrations import signatures

    header = signatures.sign(partner.inbound, body)
    barrier = threading.Barrier(20)
    results: list[tuple[int, dict[str, Any]]] = []
    lock = threading.Lock()

    def deliver() -> None:
        try:
            client = Client(HTTP_HOST=APP_HOST)
            barrier.wait()
            response = client.post(
                partner.url,
                data=body,
                content_type="application/json",
                HTTP_HOLIDESK_SIGNATURE=header,
            )
            with lock:
                results.append((response.status_code, response.json()))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [code for code, _ in results] == [200] * 20
    statuses = sorted(body["status"] for _, body in results)
    assert statuses == ["duplicate"] * 19 + ["processed"]
    assert Booking.objects.filter(business=tenant.business).count() == 1
    assert InboundEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.xdist_group("many_connections")
def test_concurrent_revisions_of_one_reservation_end_on_the_newest() -> None:
    tenant = make_tenant("seaside")
    partner = make_partner(tenant)
    post(partner.url, event("e0"), partner.inbound)
    start = date(2032, 3, 1)
    barrier = threading.Barrier(8)

    def deliver(revision: int) -> None:
        try:
            check_in = start + timedelta(days=revision * 10)
            payload = event(
                f"e{revision}",
                "reservation.modified",
                revision=revision,
                check_in=str(check_in),
                check_out=str(check_in + timedelta(days=3)),
            )
            barrier.wait()
            post(partner.url, payload, partner.inbound)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver, args=(r,)) for r in range(2, 10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    booking = Booking.objects.get(business=tenant.business)
    assert booking.check_in == start + timedelta(days=90)
    assert PartnerReservation.objects.get().last_revision == 9


def test_get_answers_json(partner: Partner) -> None:
    response = Client(HTTP_HOST=APP_HOST).get(partner.url)
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_schema_documents_the_partner_endpoint() -> None:
    schema = Client(HTTP_HOST=APP_HOST).get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/channels/{channel_id}/events"]["post"]
    assert {"200", "400", "401", "404", "413", "415", "422"} <= set(operation["responses"])


def test_any_accept_header_gets_json(partner: Partner) -> None:
    body = json.dumps(event()).encode()
    response = Client(HTTP_HOST=APP_HOST).post(
        partner.url,
        data=body,
        content_type="application/json",
        HTTP_ACCEPT="application/xml",
        HTTP_HOLIDESK_SIGNATURE=signatures.sign(partner.inbound, body),
    )
    assert response.status_code == 200
    assert response.json()["status"] == "processed"
