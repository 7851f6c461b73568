"""A stay's write costs the same number of statements however full its calendar is:
the engine, its messages, the cleaning jobs and key codes around it, and its push."""

from __future__ import annotations

from datetime import date, timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext

from bookings.services.cancellation import booking_cancel_without_refund
from bookings.services.stays import booking_change_dates
from integrations.models import Platform
from integrations.services import channels
from properties.models import Property
from tests.conftest import make_tenant
from tests.messaging.conftest import stay, with_cleaner

START = date(2031, 6, 1)


def _calendar(stays: int, listing: str) -> Property:
    prop = make_tenant(listing).prop
    with_cleaner(prop)
    channel, _, _ = channels.channel_create(
        business=prop.business, platform=Platform.VRBO, endpoint_url="https://p.example.com/h"
    )
    channels.listing_link_create(channel=channel, listing_id=listing, property=prop)
    for k in range(stays):
        stay(
            prop,
            START + timedelta(days=4 * k),
            START + timedelta(days=4 * k + 2),
            email=f"g{k}@x.io",
        )
    return prop


def _statements(stays: int, listing: str) -> list[int]:
    prop = _calendar(stays, listing)
    day = START + timedelta(days=4 * (stays // 2) + 2)  # between two stays
    counts = []
    with CaptureQueriesContext(connection) as created:
        booking = stay(prop, day, day + timedelta(days=1), email="counted@x.io")
    counts.append(len(created))
    with CaptureQueriesContext(connection) as moved:
        booking_change_dates(
            booking=booking, check_in=day, check_out=day + timedelta(days=2), enforce_rules=False
        )
    counts.append(len(moved))
    with CaptureQueriesContext(connection) as cancelled:
        booking_cancel_without_refund(booking=booking)
    counts.append(len(cancelled))
    return counts


def test_a_write_costs_the_same_statements_on_a_short_and_a_long_calendar(db: None) -> None:
    short, long = _statements(4, "short"), _statements(40, "long")
    assert short == long, (short, long)
