"""Changing a stay's dates tells the guest and the owner what changed; the owner's
new-booking email carries the amount, the guest's contact and a link."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from bookings.services.stays import booking_change_dates, booking_create
from messaging.models import Kind, ScheduledMessage
from messaging.rendering import render, row_context
from tests.bookings.conftest import days_from_today
from tests.conftest import Tenant


def _direct_stay(tenant: Tenant, source: str = "direct"):  # type: ignore[no-untyped-def]
    prop = tenant.prop
    return booking_create(
        property=prop,
        check_in=days_from_today(prop, 20),
        check_out=days_from_today(prop, 23),
        source=source,
        guest_name="Ada Lovelace",
        guest_email="ada@example.com",
        guest_phone="+44 1234",
        total=Decimal("420.00"),
    )


def test_extending_a_stay_emails_guest_and_owner_with_old_and_new_dates(tenant: Tenant) -> None:
    booking = _direct_stay(tenant)
    booking_change_dates(
        booking=booking, check_in=booking.check_in, check_out=booking.check_out + timedelta(days=2)
    )
    guest = ScheduledMessage.objects.get(kind=Kind.STAY_CHANGED)
    owner = ScheduledMessage.objects.get(kind=Kind.OWNER_STAY_CHANGED)
    assert guest.recipient == "ada@example.com"
    assert owner.recipient == tenant.owner.email or owner.recipient
    now = timezone.now()
    text = render(tenant.business, guest.kind, row_context(guest, now=now)).text
    assert "(3 nights); it is now" in text
    assert "(5 nights)" in text
    assert f"/trips/{booking.reference}/" in text
    owner_text = render(tenant.business, owner.kind, row_context(owner, now=now)).text
    assert "ada@example.com" in owner_text
    assert f"/dashboard/bookings/{booking.reference}/" in owner_text


def test_each_change_is_told_once(tenant: Tenant) -> None:
    booking = _direct_stay(tenant)
    booking_change_dates(
        booking=booking, check_in=booking.check_in, check_out=booking.check_out + timedelta(days=1)
    )
    booking.refresh_from_db()
    booking_change_dates(
        booking=booking, check_in=booking.check_in, check_out=booking.check_out + timedelta(days=1)
    )
    assert ScheduledMessage.objects.filter(kind=Kind.STAY_CHANGED).count() == 2


def test_a_partners_stay_is_not_told_by_us(tenant: Tenant) -> None:
    booking = _direct_stay(tenant, source="airbnb")
    booking_change_dates(
        booking=booking, check_in=booking.check_in, check_out=booking.check_out + timedelta(days=1)
    )
    assert not ScheduledMessage.objects.filter(
        kind__in=[Kind.STAY_CHANGED, Kind.OWNER_STAY_CHANGED]
    ).exists()


def test_the_owners_new_booking_email_has_amount_contact_and_link(tenant: Tenant) -> None:
    booking = _direct_stay(tenant)
    row = ScheduledMessage.objects.get(kind=Kind.OWNER_NEW_BOOKING)
    rendered = render(tenant.business, row.kind, row_context(row, now=timezone.now()))
    assert "€420.00" in rendered.text
    assert "ada@example.com" in rendered.text
    assert "+44 1234" in rendered.text
    assert f"/dashboard/bookings/{booking.reference}/" in rendered.html
