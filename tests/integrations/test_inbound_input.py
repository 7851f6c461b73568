"""Hostile partner input through the real endpoint: characters PostgreSQL or an email
header cannot take, times UTC cannot hold, stays at the ends of the calendar. Each is
a 400 that writes nothing, or is normalised where the contract says so."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from bookings.models import Booking
from bookings.rules import REACH_DAYS
from integrations.models import BookingConflict, InboundEvent, PartnerMessage, PartnerReservation
from integrations.services.events import EARLIEST_DAY, LATEST_DAY
from tests.integrations.conftest import Partner, event, post

TODAY = date.today()
REACH = timedelta(days=REACH_DAYS - 2)  # the property's today may be a day off UTC's

pytestmark = pytest.mark.django_db


def counts() -> tuple[int, ...]:
    return (
        Booking.objects.count(),
        InboundEvent.objects.count(),
        PartnerReservation.objects.count(),
        BookingConflict.objects.count(),
        PartnerMessage.objects.count(),
    )


def assert_refused(partner: Partner, payload: dict[str, Any], field: str) -> dict[str, Any]:
    before = counts()
    response = post(partner.url, payload, partner.inbound)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid_payload"
    assert field in error["fields"], error
    assert counts() == before
    return error


def with_guest(**guest: Any) -> dict[str, Any]:
    payload = event()
    payload["data"]["guest"].update(guest)
    return payload


# --- Characters PostgreSQL cannot store -------------------------------------------------


@pytest.mark.parametrize(
    "mutate",
    [
        lambda e: e["data"]["guest"].update(name="\ud800"),
        lambda e: e["data"]["guest"].update(name="Ada \udfff Lovelace"),
        lambda e: e["data"].update(note="\udbff"),  # a field we do not read: still stored
        lambda e: e["data"].update({"\ud800": "key"}),
        lambda e: e.update(id="evt_\ud800"),
    ],
)
def test_lone_utf16_surrogate_anywhere_is_400(partner: Partner, mutate: Any) -> None:
    payload = event()
    mutate(payload)
    error = assert_refused(partner, payload, "body")
    assert "surrogate" in error["message"]


def test_surrogate_pair_is_one_character_and_accepted(partner: Partner) -> None:
    response = post(partner.url, with_guest(name="Ada \ud83c\udf0a"), partner.inbound)
    assert response.status_code == 200, response.content
    assert Booking.objects.get().guest_name == "Ada \U0001f30a"


# --- Times UTC cannot hold --------------------------------------------------------------


@pytest.mark.parametrize(
    "occurred_at",
    [
        "0001-01-01T00:00:00+01:00",  # 31 Dec of year 0 in UTC
        "9999-12-31T23:59:59-01:00",  # year 10000 in UTC
        "10000-01-01T00:00:00Z",
        "0000-01-01T00:00:00Z",
        "2031-11-22T10:00:00+24:00",
    ],
)
def test_occurred_at_outside_the_years_utc_holds_is_400(partner: Partner, occurred_at: str) -> None:
    payload = event()
    payload["occurred_at"] = occurred_at
    assert_refused(partner, payload, "occurred_at")


def test_message_sent_at_before_year_1_in_utc_is_400(partner: Partner) -> None:
    payload = event("m1", "message.created", sent_at="0001-01-01T00:30:00+01:00")
    assert_refused(partner, payload, "data.sent_at")


def test_occurred_at_at_the_edge_of_utc_is_accepted(partner: Partner) -> None:
    payload = event()
    payload["occurred_at"] = "0001-01-01T00:00:00Z"
    assert post(partner.url, payload, partner.inbound).status_code == 200
    assert InboundEvent.objects.get().occurred_at.year == 1


# --- Control characters in guest details -------------------------------------------------


@pytest.mark.parametrize(
    ("name", "stored"),
    [
        ("Ada\nLovelace", "Ada Lovelace"),
        ("Ada\r\nBcc: someone@example.com", "Ada Bcc: someone@example.com"),
        ("Ada\tLovelace", "Ada Lovelace"),
        ("Ada\u2028Lovelace", "Ada Lovelace"),
    ],
)
def test_line_breaks_and_tabs_in_a_guest_name_become_a_space(
    partner: Partner, name: str, stored: str
) -> None:
    response = post(partner.url, with_guest(name=name), partner.inbound)
    assert response.status_code == 200, response.content
    assert Booking.objects.get().guest_name == stored


def test_a_modified_guest_name_is_made_one_line_too(partner: Partner) -> None:
    post(partner.url, event("e1"), partner.inbound)
    payload = event("e2", "reservation.modified", revision=2)
    payload["data"]["guest"]["name"] = "Grace\nHopper"
    assert post(partner.url, payload, partner.inbound).status_code == 200
    assert Booking.objects.get().guest_name == "Grace Hopper"


@pytest.mark.parametrize(
    ("guest", "field"),
    [
        ({"name": "Ada\x07"}, "data.guest.name"),
        ({"name": "Ada\x1b[31m"}, "data.guest.name"),
        ({"name": "Ada\x0bLovelace"}, "data.guest.name"),
        ({"name": "Ada\x7f"}, "data.guest.name"),
        ({"name": "Ada\x85Lovelace"}, "data.guest.name"),
        ({"email": "ada@example.com\n"}, "data.guest.email"),
        ({"email": "ada@example.com\r\nBcc: x@example.com"}, "data.guest.email"),
        ({"email": "ada\t@example.com"}, "data.guest.email"),
        ({"phone": "+44 1234\n567"}, "data.guest.phone"),
        ({"phone": "+44\t1234"}, "data.guest.phone"),
        ({"phone": "+44\x1f1234"}, "data.guest.phone"),
    ],
)
def test_other_control_characters_in_guest_details_are_400(
    partner: Partner, guest: dict[str, str], field: str
) -> None:
    assert_refused(partner, with_guest(**guest), field)


def test_nul_in_a_guest_phone_is_400(partner: Partner) -> None:
    assert_refused(partner, with_guest(phone="+44\x001234"), "body")


# --- Stays at the ends of the calendar --------------------------------------------------


@pytest.mark.parametrize(
    ("check_in", "check_out", "field"),
    [
        ("9999-12-20", "9999-12-27", "data.check_in"),
        ("9999-12-30", "9999-12-31", "data.check_out"),
        ("0001-01-01", "0001-01-05", "data.check_in"),
        (
            str(LATEST_DAY - timedelta(days=3)),
            str(LATEST_DAY + timedelta(days=1)),
            "data.check_out",
        ),
        (
            str(EARLIEST_DAY - timedelta(days=1)),
            str(EARLIEST_DAY + timedelta(days=3)),
            "data.check_in",
        ),
    ],
)
def test_stay_at_the_ends_of_the_calendar_is_400(
    partner: Partner, check_in: str, check_out: str, field: str
) -> None:
    assert_refused(partner, event(check_in=check_in, check_out=check_out), field)


def test_move_to_year_9999_is_400_and_the_booking_keeps_its_dates(partner: Partner) -> None:
    ref = post(partner.url, event("e1"), partner.inbound).json()["booking"]
    payload = event(
        "e2", "reservation.modified", revision=2, check_in="9999-12-01", check_out="9999-12-08"
    )
    assert_refused(partner, payload, "data.check_in")
    booking = Booking.objects.get(reference=ref)
    assert str(booking.check_in) == "2031-12-20"
    assert PartnerReservation.objects.get().last_revision == 1


@pytest.mark.parametrize(
    ("check_in", "check_out"),
    [
        (str(TODAY + REACH - timedelta(days=7)), str(TODAY + REACH)),
        (str(TODAY - REACH), str(TODAY - REACH + timedelta(days=7))),
    ],
)
def test_stay_just_inside_the_engine_reach_is_accepted_with_its_messages(
    partner: Partner, check_in: str, check_out: str
) -> None:
    # Accepted means everything the engine derives from it (guest messages, turnover)
    # was computed in the same transaction without falling off the calendar.
    response = post(partner.url, event(check_in=check_in, check_out=check_out), partner.inbound)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "processed"


def test_stay_beyond_the_engine_reach_is_400_and_writes_nothing(partner: Partner) -> None:
    # The engine's one date rule (bookings.rules) holds for partner stays too.
    late = TODAY + REACH + timedelta(days=1)
    response = post(
        partner.url,
        event(check_in=str(late), check_out=str(late + timedelta(days=7))),
        partner.inbound,
    )
    assert response.status_code == 400, response.content
    assert not Booking.objects.exists()


def test_stay_longer_than_the_engine_span_names_check_out(partner: Partner) -> None:
    error = assert_refused(partner, event(check_out="2036-12-27"), "data.check_out")
    assert error["fields"]["data.check_out"] == ["A stay can span at most 3 years."]


def test_every_wrong_field_is_named_at_once(partner: Partner) -> None:
    payload = event(check_out="2031-12-01", guests=0)
    payload["data"]["guest"]["email"] = "nope"
    error = assert_refused(partner, payload, "data.check_out")
    assert {"data.check_out", "data.guests", "data.guest.email"} <= set(error["fields"])
