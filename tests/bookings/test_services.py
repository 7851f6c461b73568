"""Booking services: holds, confirmation, cancellation, date changes, blocks, signals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.utils import timezone
from psycopg.types.range import Range

from bookings import signals
from bookings.errors import InvalidTransition, StayUnavailable
from bookings.models import Booking
from bookings.services.blocks import block_change_dates, block_create, block_remove
from bookings.services.cancellation import booking_cancel_without_refund, refund_quote
from bookings.services.holds import holds_expire
from bookings.services.stays import (
    booking_change_dates,
    booking_confirm,
    booking_create,
    booking_hold,
)
from tests.bookings.conftest import days_from_today
from tests.conftest import Tenant


@pytest.fixture
def dates(tenant: Tenant) -> tuple[Any, Any]:
    check_in = days_from_today(tenant.prop, 14)
    return check_in, check_in + timedelta(days=3)


def test_hold_reserves_the_nights_for_30_minutes(tenant: Tenant, dates: tuple[Any, Any]) -> None:
    hold = booking_hold(property=tenant.prop, check_in=dates[0], check_out=dates[1], guests=2)
    assert hold.status == Booking.Status.HELD
    assert hold.reference.startswith("HD-")
    assert len(hold.reference) == 9
    assert timedelta(minutes=29) < hold.hold_expires_at - timezone.now() <= timedelta(minutes=30)
    assert hold.total == Decimal("350.00")
    with pytest.raises(StayUnavailable) as caught:
        booking_hold(property=tenant.prop, check_in=dates[0], check_out=dates[1], guests=1)
    assert caught.value.conflict == dates


def test_an_expired_hold_frees_its_dates_without_the_sweeper(
    tenant: Tenant, dates: tuple[Any, Any]
) -> None:
    stale = booking_hold(property=tenant.prop, check_in=dates[0], check_out=dates[1], guests=2)
    with time_machine.travel(timezone.now() + timedelta(minutes=31)):
        fresh = booking_hold(property=tenant.prop, check_in=dates[0], check_out=dates[1], guests=2)
    stale.refresh_from_db()
    assert stale.status == Booking.Status.EXPIRED
    assert fresh.status == Booking.Status.HELD


def test_the_sweeper_expires_run_out_holds(tenant: Tenant, dates: tuple[Any, Any]) -> None:
    hold = booking_hold(property=tenant.prop, check_in=dates[0], check_out=dates[1], guests=2)
    assert holds_expire() == 0
    assert holds_expire(now=timezone.now() + timedelta(minutes=31)) == 1
    hold.refresh_from_db()
    assert hold.status == Booking.Status.EXPIRED


def test_confirm_is_conditional_and_idempotent(tenant: Tenant, dates: tuple[Any, Any]) -> None:
    hold = booking_hold(property=tenant.prop, check_in=dates[0], check_out=dates[1], guests=2)
    confirmed = booking_confirm(booking=hold, amount_paid=Decimal("350.00"))
    assert confirmed.status == Booking.Status.CONFIRMED
    assert confirmed.amount_paid == Decimal("350.00")
    again = booking_confirm(booking=hold)
    assert again.status == Booking.Status.CONFIRMED
    assert again.confirmed_at == confirmed.confirmed_at


def test_payment_after_expiry_confirms_when_the_nights_are_still_free(
    tenant: Tenant, dates: tuple[Any, Any]
) -> None:
    hold = booking_hold(property=tenant.prop, check_in=dates[0], check_out=dates[1], guests=2)
    later = timezone.now() + timedelta(hours=2)
    holds_expire(now=later)
    assert booking_confirm(booking=hold, now=later).status == Booking.Status.CONFIRMED


def test_payment_after_expiry_never_confirms_an_overlapping_stay(
    tenant: Tenant, dates: tuple[Any, Any]
) -> None:
    hold = booking_hold(property=tenant.prop, check_in=dates[0], check_out=dates[1], guests=2)
    later = timezone.now() + timedelta(hours=2)
    with time_machine.travel(later):
        other = booking_hold(property=tenant.prop, check_in=dates[0], check_out=dates[1], guests=2)
    with pytest.raises(StayUnavailable):
        booking_confirm(booking=hold, now=later)
    hold.refresh_from_db()
    assert hold.status == Booking.Status.EXPIRED
    assert Booking.objects.active(now=later).get() == other


def test_a_cancelled_booking_frees_its_dates(tenant: Tenant, dates: tuple[Any, Any]) -> None:
    stay = booking_create(
        property=tenant.prop, check_in=dates[0], check_out=dates[1], source="direct"
    )
    booking_cancel_without_refund(booking=stay)
    assert booking_create(
        property=tenant.prop, check_in=dates[0], check_out=dates[1], source="direct"
    )
    with pytest.raises(InvalidTransition):
        booking_cancel_without_refund(booking=stay)


def test_blocks_count_as_unavailable_and_can_be_moved_and_removed(
    tenant: Tenant, dates: tuple[Any, Any]
) -> None:
    block = block_create(property=tenant.prop, start=dates[0], end=dates[1], note="Roof repair")
    with pytest.raises(StayUnavailable):
        booking_hold(property=tenant.prop, check_in=dates[0], check_out=dates[1], guests=2)
    moved = block_change_dates(block=block, start=dates[1], end=dates[1] + timedelta(days=2))
    assert (moved.check_in, moved.check_out) == (dates[1], dates[1] + timedelta(days=2))
    booking_hold(property=tenant.prop, check_in=dates[0], check_out=dates[1], guests=2)
    block_remove(block=moved)
    assert block_remove(block=moved).status == Booking.Status.CANCELLED  # idempotent


def test_change_dates_returns_the_price_difference(tenant: Tenant, dates: tuple[Any, Any]) -> None:
    stay = booking_create(
        property=tenant.prop, check_in=dates[0], check_out=dates[1], source="direct"
    )
    moved, difference = booking_change_dates(
        booking=stay, check_in=dates[0] - timedelta(days=1), check_out=dates[1]
    )
    assert difference == Decimal("100.00")
    assert moved.nights == 4
    _shorter, difference = booking_change_dates(
        booking=moved, check_in=dates[0], check_out=dates[1]
    )
    assert difference == Decimal("-100.00")


def test_change_dates_cannot_overlap_another_stay(tenant: Tenant, dates: tuple[Any, Any]) -> None:
    stay = booking_create(
        property=tenant.prop, check_in=dates[0], check_out=dates[1], source="direct"
    )
    block_create(
        property=tenant.prop, start=dates[1] + timedelta(days=1), end=dates[1] + timedelta(days=3)
    )
    with pytest.raises(StayUnavailable):
        booking_change_dates(
            booking=stay, check_in=dates[0], check_out=dates[1] + timedelta(days=2)
        )
    stay.refresh_from_db()
    assert stay.check_out == dates[1]


def test_the_database_refuses_overlaps_even_without_the_services(
    tenant: Tenant, dates: tuple[Any, Any]
) -> None:
    booking_create(property=tenant.prop, check_in=dates[0], check_out=dates[1], source="direct")
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        Booking.objects.create(
            business=tenant.business,
            property=tenant.prop,
            stay=Range(dates[0] + timedelta(days=1), dates[1] + timedelta(days=1), "[)"),
            currency="EUR",
        )
    assert caught.value.__cause__.sqlstate == "23P01"
    assert caught.value.__cause__.diag.constraint_name == "booking_no_overlap"


@pytest.mark.parametrize(
    ("field", "value", "constraint"),
    [
        ("guests", 0, "booking_guests_gte_1"),
        ("total", Decimal("-1"), "booking_amounts_gte_0"),
    ],
)
def test_check_constraints(
    tenant: Tenant, dates: tuple[Any, Any], field: str, value: Any, constraint: str
) -> None:
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        Booking.objects.create(
            business=tenant.business,
            property=tenant.prop,
            stay=Range(dates[0], dates[1], "[)"),
            currency="EUR",
            **{field: value},
        )


def test_empty_stay_is_refused_by_the_database(tenant: Tenant, dates: tuple[Any, Any]) -> None:
    with pytest.raises(IntegrityError, match="booking_stay_not_empty"), transaction.atomic():
        Booking.objects.create(
            business=tenant.business,
            property=tenant.prop,
            stay=Range(dates[0], dates[0], "[)"),
            currency="EUR",
        )


# --- Cancellation policy ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "days_before", "expected"),
    [
        ("flexible", 2, "350.00"),
        ("flexible", 0.5, "0.00"),
        ("moderate", 6, "350.00"),
        ("moderate", 3, "175.00"),
        ("strict", 8, "175.00"),
        ("strict", 6, "0.00"),
    ],
)
def test_refund_follows_the_policy_in_local_time(
    tenant: Tenant, dates: tuple[Any, Any], policy: str, days_before: float, expected: str
) -> None:
    tenant.prop.cancellation_policy = policy
    tenant.prop.save()
    stay = booking_create(
        property=tenant.prop, check_in=dates[0], check_out=dates[1], source="direct"
    )
    stay.amount_paid = Decimal("350.00")
    check_in_at = datetime.combine(dates[0], tenant.prop.check_in_time, tzinfo=tenant.prop.tz)
    now = check_in_at - timedelta(days=days_before)
    assert refund_quote(booking=stay, now=now) == Decimal(expected)
    assert refund_quote(booking=stay, now=now, by_owner=True) == Decimal("350.00")


# --- Signals ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_signals_are_sent_on_commit_and_not_on_rollback(
    tenant: Tenant, dates: tuple[Any, Any]
) -> None:
    received: list[tuple[str, int]] = []

    def on_confirmed(sender: Any, booking_id: int, **kwargs: Any) -> None:
        received.append(("confirmed", booking_id))

    signals.booking_confirmed.connect(on_confirmed)
    try:
        with transaction.atomic():
            booking_create(
                property=tenant.prop, check_in=dates[0], check_out=dates[1], source="direct"
            )
            transaction.set_rollback(True)
        assert received == []
        stay = booking_create(
            property=tenant.prop, check_in=dates[0], check_out=dates[1], source="direct"
        )
        assert received == [("confirmed", stay.pk)]
    finally:
        signals.booking_confirmed.disconnect(on_confirmed)


def test_calendar_written_is_sent_inside_the_transaction(
    tenant: Tenant, dates: tuple[Any, Any]
) -> None:
    seen: list[tuple[str, bool]] = []

    def on_written(sender: Any, booking: Booking, action: str, **kwargs: Any) -> None:
        seen.append((action, transaction.get_connection().in_atomic_block))

    signals.calendar_written.connect(on_written)
    try:
        stay = booking_create(
            property=tenant.prop, check_in=dates[0], check_out=dates[1], source="direct"
        )
        booking_cancel_without_refund(booking=stay)
    finally:
        signals.calendar_written.disconnect(on_written)
    assert seen == [("confirmed", True), ("cancelled", True)]


# --- Time zones ------------------------------------------------------------------------


def test_today_and_advance_notice_are_computed_in_the_property_zone(tenant: Tenant) -> None:
    from tests.factories import PropertyFactory

    london = PropertyFactory(
        business=tenant.business, timezone="Europe/London", advance_notice_days=1
    )
    auckland = PropertyFactory(
        business=tenant.business, timezone="Pacific/Auckland", advance_notice_days=1
    )
    # 11:30 UTC on 29 March 2026: Sunday in London (BST began at 01:00 UTC), already
    # Monday 00:30 in Auckland (NZDT, UTC+13).
    instant = datetime(2026, 3, 29, 11, 30, tzinfo=UTC)
    with time_machine.travel(instant, tick=False):
        assert str(london.local_today()) == "2026-03-29"
        assert str(auckland.local_today()) == "2026-03-30"
        from datetime import date

        # Arriving Monday 30 March: London gives one day's notice; Auckland's Monday is today.
        booking_hold(
            property=london, check_in=date(2026, 3, 30), check_out=date(2026, 4, 2), guests=2
        )
        from bookings.errors import AdvanceNotice

        with pytest.raises(AdvanceNotice, match="earliest check-in is 31 Mar 2026"):
            booking_hold(
                property=auckland, check_in=date(2026, 3, 30), check_out=date(2026, 4, 2), guests=2
            )
