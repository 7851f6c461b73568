"""iCal export and import: the real samples, round trips, releases, conflicts."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import icalendar
import pytest
import time_machine
from django.test import Client

from bookings.models import Booking
from bookings.services.blocks import block_create
from bookings.services.stays import booking_create
from integrations import ssrf
from integrations.models import BookingConflict, IcalEvent, IcalFeed
from integrations.services import conflicts, ical, ical_parse
from tests.conftest import APP_HOST, Tenant
from tests.support.partner_server import PartnerServer

pytestmark = pytest.mark.django_db
# Real exports of Airbnb, Booking.com and Vrbo/Abritel (see samples/PROVENANCE.md).
SAMPLES = Path(__file__).parent / "samples"

R, T, B = "reservation", "tentative", "block"
EXPECTED = {
    "airbnb_icaltest_legacy_0.8.8_blocks.ics": (
        "airbnb",
        # The third event ends before it starts: skipped.
        [(date(2025, 2, 26), date(2025, 2, 27), B), (date(2025, 4, 3), date(2025, 5, 25), B)],
        1,
    ),
    "airbnb_redacted_from_tiloc_test.ics": (
        "airbnb",
        [(date(2020, 8, 2), date(2020, 8, 12), R), (date(2020, 7, 3), date(2020, 7, 4), B)],
        0,
    ),
    "bookingcom_fede_real.ics": (
        "booking",
        [(date(2025, 11, 22), date(2025, 11, 23), B), (date(2025, 12, 1), date(2027, 5, 18), B)],
        0,
    ),
    "vrbo_abritel_homeaway_from_tiloc_test.ics": (
        "vrbo",
        [
            (date(2019, 12, 24), date(2019, 12, 29), R),
            (date(2020, 1, 1), date(2020, 1, 24), R),
            (date(2020, 2, 29), date(2020, 3, 5), B),
            (date(2020, 3, 9), date(2020, 3, 16), R),
            (date(2020, 5, 15), date(2020, 5, 19), R),
            (date(2020, 10, 13), date(2020, 10, 24), R),
            (date(2020, 11, 15), date(2020, 12, 6), T),
        ],
        0,
    ),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_samples_parse_with_the_right_classification_and_dates(name: str) -> None:
    platform, expected, skipped = EXPECTED[name]
    events, bad = ical_parse.parse_feed((SAMPLES / name).read_bytes(), platform)
    assert [(e.start, e.end, e.classification) for e in events] == expected
    assert bad == skipped
    assert all(e.uid for e in events)


def test_a_broken_event_is_skipped_and_the_rest_of_the_feed_imports() -> None:
    body = (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
        b"BEGIN:VEVENT\r\nUID:broken-start\r\nDTSTART;VALUE=DATE:2031XX01\r\n"
        b"DTEND;VALUE=DATE:20310105\r\nSUMMARY:Reserved\r\nEND:VEVENT\r\n"
        b"BEGIN:VEVENT\r\nUID:date-duration\r\nDTSTART;VALUE=DATE:20310201\r\n"
        b"DURATION;VALUE=DATE:20310203\r\nSUMMARY:Reserved\r\nEND:VEVENT\r\n"
        b"BEGIN:VEVENT\r\nUID:good\r\nDTSTART;VALUE=DATE:20310301\r\n"
        b"DTEND;VALUE=DATE:20310304\r\nSUMMARY:Reserved\r\nEND:VEVENT\r\n"
        b"END:VCALENDAR\r\n"
    )
    events, skipped = ical_parse.parse_feed(body, "airbnb")
    assert [(e.uid, e.start, e.end) for e in events] == [
        ("good", date(2031, 3, 1), date(2031, 3, 4))
    ]
    assert skipped == 2


@pytest.mark.parametrize(
    ("platform", "summary", "expected"),
    [
        ("airbnb", "Reserved", R),
        ("airbnb", "Airbnb (Not available)", B),
        ("airbnb", "Not available", B),
        ("booking", "CLOSED - Not available", B),
        ("vrbo", "Reserved - Ada", R),
        ("vrbo", "Blocked", B),
        ("vrbo", "Tentative - Ada", T),
        ("vrbo", "Réservée - Melanie", R),
        ("vrbo", "Indisponible", B),
        ("vrbo", "Provisoire - Sylvie", T),
        ("vrbo", "Reserviert - Hans", R),
        ("vrbo", "Reservado - Ana", R),
        ("vrbo", "Bloqueado", B),
        ("other", "Reserved", R),
        ("other", "Not available", B),
    ],
)
def test_classification(platform: str, summary: str, expected: str) -> None:
    assert ical_parse.classify(platform, summary) == expected


class FakeFeed:
    """Answers like a partner's feed; lets a test change the body between polls."""

    def __init__(self, body: bytes, status: int = 200, headers: dict[str, str] | None = None):
        self.body, self.status, self.headers = body, status, headers or {}
        self.calls: list[dict[str, str]] = []
        self.error: Exception | None = None

    def __call__(self, url: str, *, headers: dict[str, str], **kw: Any) -> ssrf.Fetched:
        self.calls.append(headers)
        if self.error is not None:
            raise self.error
        return ssrf.Fetched(status=self.status, body=self.body, headers=self.headers, url=url)


def _feed(tenant: Tenant, platform: str = "airbnb") -> IcalFeed:
    return IcalFeed.objects.create(
        business=tenant.business,
        property=tenant.prop,
        platform=platform,
        url="https://x.test/f.ics",
    )


def _cal(*events: tuple[str, date, date, str]) -> bytes:
    cal = icalendar.Calendar()
    cal.add("prodid", "-//test//EN")
    cal.add("version", "2.0")
    for uid, start, end, summary in events:
        event = icalendar.Event()
        event.add("uid", uid)
        event.add("dtstart", start)
        event.add("dtend", end)
        event.add("summary", summary)
        cal.add_component(event)
    return bytes(cal.to_ical())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_samples_import_as_partner_blocks(tenant: Tenant, name: str) -> None:
    platform, expected, _ = EXPECTED[name]
    feed = _feed(tenant, platform)
    with time_machine.travel(date(2019, 12, 1), tick=False):
        report = ical.ical_feed_sync(feed_id=feed.pk, fetch=FakeFeed((SAMPLES / name).read_bytes()))
    assert report.outcome == "updated"
    blocks = Booking.objects.filter(property=tenant.prop, status="confirmed").order_by("stay")
    assert sorted((b.check_in, b.check_out) for b in blocks) == sorted(
        (s, e) for s, e, _ in expected
    )
    assert {b.kind for b in blocks} == {Booking.Kind.PARTNER_BLOCK}
    assert {b.source for b in blocks} == {Booking.Source.ICAL}
    classes = sorted(IcalEvent.objects.filter(feed=feed).values_list("classification", flat=True))
    assert classes == sorted(c for _, _, c in expected)


def test_feed_sync_over_real_http_with_a_conditional_get(
    tenant: Tenant, partner_server: PartnerServer
) -> None:
    """The real fetch path (guarded exchange, headers read back) against a local server
    that honours If-None-Match."""
    name = next(iter(EXPECTED))
    platform, expected, _ = EXPECTED[name]
    feed = _feed(tenant, platform)
    feed.url = partner_server.serve("/feed.ics", (SAMPLES / name).read_bytes(), etag='"v1"')
    feed.save()
    with time_machine.travel(date(2019, 12, 1), tick=False):
        first = ical.ical_feed_sync(feed_id=feed.pk)
        second = ical.ical_feed_sync(feed_id=feed.pk)
    assert (first.outcome, second.outcome) == ("updated", "not-modified")
    seen = [r["headers"].get("If-None-Match") for r in partner_server.requests]
    assert seen == [None, '"v1"']
    feed.refresh_from_db()
    assert feed.etag == '"v1"'
    blocks = Booking.objects.filter(property=tenant.prop, status="confirmed")
    assert blocks.count() == len(expected)


def test_date_change_on_the_same_uid_moves_the_block(tenant: Tenant) -> None:
    feed = _feed(tenant)
    start = date.today() + timedelta(days=20)
    source = FakeFeed(_cal(("u1", start, start + timedelta(days=3), "Reserved")))
    ical.ical_feed_sync(feed_id=feed.pk, fetch=source)
    source.body = _cal(("u1", start + timedelta(days=1), start + timedelta(days=5), "Reserved"))
    report = ical.ical_feed_sync(feed_id=feed.pk, fetch=source)
    assert report.moved == 1
    block = Booking.objects.get(status="confirmed")
    assert (block.check_in, block.check_out) == (
        start + timedelta(days=1),
        start + timedelta(days=5),
    )


def test_gone_event_is_released_after_two_successful_fetches(tenant: Tenant) -> None:
    feed = _feed(tenant)
    start = date.today() + timedelta(days=20)
    keep = ("keep", start + timedelta(days=10), start + timedelta(days=12), "Reserved")
    source = FakeFeed(_cal(("gone", start, start + timedelta(days=3), "Reserved"), keep))
    ical.ical_feed_sync(feed_id=feed.pk, fetch=source)
    assert Booking.objects.filter(status="confirmed").count() == 2
    source.body = _cal(keep)
    assert ical.ical_feed_sync(feed_id=feed.pk, fetch=source).released == 0
    assert Booking.objects.filter(status="confirmed").count() == 2
    assert ical.ical_feed_sync(feed_id=feed.pk, fetch=source).released == 1
    assert Booking.objects.filter(status="confirmed").count() == 1


def test_failed_or_empty_fetch_releases_nothing(tenant: Tenant) -> None:
    feed = _feed(tenant)
    start = date.today() + timedelta(days=20)
    source = FakeFeed(_cal(("u1", start, start + timedelta(days=3), "Reserved")))
    ical.ical_feed_sync(feed_id=feed.pk, fetch=source)
    source.body = _cal()  # empty
    for _ in range(3):
        assert ical.ical_feed_sync(feed_id=feed.pk, fetch=source).outcome == "empty"
    source.error = ssrf.FetchError("HTTP 503")
    for _ in range(3):
        assert ical.ical_feed_sync(feed_id=feed.pk, fetch=source).outcome == "failed"
    source.error = None
    source.body = b"<html>maintenance</html>"
    assert ical.ical_feed_sync(feed_id=feed.pk, fetch=source).outcome == "failed"
    source.status, source.body = 500, b""
    assert ical.ical_feed_sync(feed_id=feed.pk, fetch=source).outcome == "failed"
    assert Booking.objects.filter(status="confirmed").count() == 1
    feed.refresh_from_db()
    assert feed.consecutive_failures == 5
    assert feed.last_error
    assert IcalEvent.objects.get().missing_count == 0


def test_conditional_get_and_not_modified(tenant: Tenant) -> None:
    feed = _feed(tenant)
    start = date.today() + timedelta(days=20)
    source = FakeFeed(
        _cal(("u1", start, start + timedelta(days=3), "Reserved")),
        headers={"etag": '"v1"', "last-modified": "Mon, 23 Nov 2026 10:00:00 GMT"},
    )
    ical.ical_feed_sync(feed_id=feed.pk, fetch=source)
    source.status = 304
    assert ical.ical_feed_sync(feed_id=feed.pk, fetch=source).outcome == "not-modified"
    assert source.calls[1]["If-None-Match"] == '"v1"'
    assert source.calls[1]["If-Modified-Since"] == "Mon, 23 Nov 2026 10:00:00 GMT"
    feed.refresh_from_db()
    assert feed.last_success_at is not None
    assert feed.next_fetch_at > feed.last_success_at


def test_overlap_with_a_stay_becomes_a_conflict(tenant: Tenant) -> None:
    feed = _feed(tenant, "vrbo")
    start = date.today() + timedelta(days=20)
    stay = booking_create(
        property=tenant.prop, check_in=start, check_out=start + timedelta(days=2), source="direct"
    )
    source = FakeFeed(
        _cal(("u1", start + timedelta(days=1), start + timedelta(days=4), "Reserved - Ada"))
    )
    report = ical.ical_feed_sync(feed_id=feed.pk, fetch=source)
    assert report.conflicts == 1
    conflict = BookingConflict.objects.get()
    assert conflict.existing_booking == stay
    assert conflict.feed == feed
    assert conflict.external_id == "u1"
    # Polling again does not pile up conflicts.
    ical.ical_feed_sync(feed_id=feed.pk, fetch=source)
    assert BookingConflict.objects.count() == 1


def _export(tenant: Tenant, query: str = "") -> bytes:
    raw = ical.ical_token_rotate(property=tenant.prop)
    response = Client(HTTP_HOST=APP_HOST).get(f"/ical/{raw}.ics{query}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    return response.content


def test_export_parses_and_has_no_guest_data(tenant: Tenant) -> None:
    start = date.today() + timedelta(days=20)
    stay = booking_create(
        property=tenant.prop,
        check_in=start,
        check_out=start + timedelta(days=3),
        source="direct",
        guest_name="Ada Lovelace",
        guest_email="ada@example.com",
    )
    block_create(
        property=tenant.prop, start=start + timedelta(days=5), end=start + timedelta(days=7)
    )
    body = _export(tenant)
    assert b"Ada" not in body
    assert b"ada@example.com" not in body
    cal = icalendar.Calendar.from_ical(body)
    events = list(cal.walk("VEVENT"))
    assert [(e.decoded("dtstart"), e.decoded("dtend"), str(e["summary"])) for e in events] == [
        (start, start + timedelta(days=3), "Reserved"),
        (start + timedelta(days=5), start + timedelta(days=7), "Not available"),
    ]
    assert str(events[0]["uid"]) == f"{stay.reference}@holidesk"
    assert "VALUE=DATE" in body.decode().split("DTSTART")[1][:12]


def test_export_round_trips_through_our_own_import(tenant: Tenant, outsider: Tenant) -> None:
    start = date.today() + timedelta(days=20)
    booking_create(
        property=tenant.prop, check_in=start, check_out=start + timedelta(days=3), source="direct"
    )
    block_create(
        property=tenant.prop, start=start + timedelta(days=5), end=start + timedelta(days=7)
    )
    body = _export(tenant)
    feed = _feed(outsider, "other")
    ical.ical_feed_sync(feed_id=feed.pk, fetch=FakeFeed(body))
    imported = Booking.objects.filter(property=outsider.prop, status="confirmed").order_by("stay")
    assert [(b.check_in, b.check_out) for b in imported] == [
        (start, start + timedelta(days=3)),
        (start + timedelta(days=5), start + timedelta(days=7)),
    ]
    assert sorted(IcalEvent.objects.values_list("classification", flat=True)) == [B, R]


def test_export_never_sends_an_event_back_to_its_own_platform(tenant: Tenant) -> None:
    feed = _feed(tenant, "airbnb")
    start = date.today() + timedelta(days=20)
    ical.ical_feed_sync(
        feed_id=feed.pk,
        fetch=FakeFeed(_cal(("air1", start, start + timedelta(days=2), "Reserved"))),
    )
    booking_create(
        property=tenant.prop,
        check_in=start + timedelta(days=5),
        check_out=start + timedelta(days=6),
        source="booking",
    )
    to_airbnb = icalendar.Calendar.from_ical(_export(tenant, "?platform=airbnb"))
    assert [e.decoded("dtstart") for e in to_airbnb.walk("VEVENT")] == [start + timedelta(days=5)]
    to_booking = icalendar.Calendar.from_ical(_export(tenant, "?platform=booking"))
    assert [e.decoded("dtstart") for e in to_booking.walk("VEVENT")] == [start]
    assert len(icalendar.Calendar.from_ical(_export(tenant)).walk("VEVENT")) == 2


def test_rotated_token_stops_the_old_url(tenant: Tenant) -> None:
    old = ical.ical_token_rotate(property=tenant.prop)
    ical.ical_token_rotate(property=tenant.prop)
    assert Client(HTTP_HOST=APP_HOST).get(f"/ical/{old}.ics").status_code == 404
    assert Client(HTTP_HOST=APP_HOST).get("/ical/nope.ics").status_code == 404


def test_feeds_are_claimed_when_due(tenant: Tenant) -> None:
    feed = _feed(tenant)
    assert ical.ical_feeds_claim_due() == [feed.pk]
    assert ical.ical_feeds_claim_due() == []  # claimed, not handed out twice


def test_owner_takes_the_ical_stay_of_a_conflict(tenant: Tenant) -> None:
    feed = _feed(tenant, "vrbo")
    start = date.today() + timedelta(days=20)
    block = block_create(property=tenant.prop, start=start, end=start + timedelta(days=2))
    source = FakeFeed(_cal(("u1", start, start + timedelta(days=3), "Reserved - Ada")))
    ical.ical_feed_sync(feed_id=feed.pk, fetch=source)
    conflict = BookingConflict.objects.get()
    conflicts.conflict_resolve(conflict=conflict, action="take_partner")
    block.refresh_from_db()
    assert block.status == Booking.Status.CANCELLED
    event = IcalEvent.objects.get(uid="u1")
    assert event.booking is not None
    assert (event.booking.check_in, event.booking.check_out) == (start, start + timedelta(days=3))
    # The next poll keeps it, and creates no new conflict.
    ical.ical_feed_sync(feed_id=feed.pk, fetch=source)
    assert BookingConflict.objects.filter(status="open").count() == 0


def test_beat_schedules_dispatch_reconciliation_and_polling() -> None:
    from config.celery import app
    from integrations.beat import BEAT_SCHEDULE

    app.loader.import_default_modules()
    tasks = {entry["task"] for entry in BEAT_SCHEDULE.values()}
    assert tasks == {
        "integrations.tasks.dispatch_pushes",
        "integrations.tasks.reconcile_pushes",
        "integrations.tasks.poll_ical_feeds",
    }
    assert tasks <= set(app.tasks)
    assert BEAT_SCHEDULE["integrations.reconcile_pushes"]["schedule"] == 3600.0
