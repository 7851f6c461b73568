"""A business with a day worth looking at: guests arriving, leaving and staying, a
cleaner, and one of each problem the dashboard surfaces."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from bookings.models import Booking
from bookings.payments.models import Payment, Refund
from bookings.services.blocks import block_create
from bookings.services.stays import booking_create
from integrations.models import BookingConflict, Channel, IcalFeed, ListingLink, PushOutbox
from messaging.models import Kind, PropertyMessaging, ScheduledMessage, Staff, Turnover
from properties.models import Business, Property
from properties.money import to_minor_units
from tests.conftest import APP_HOST, Tenant
from tests.factories import PropertyFactory


def business_today(business: Business) -> date:
    return timezone.now().astimezone(business.tz).date()


def stay(
    prop: Property,
    start: date,
    nights: int,
    *,
    name: str = "Ada Lovelace",
    source: str = "direct",
    **kw: object,
) -> Booking:
    return booking_create(
        property=prop,
        check_in=start,
        check_out=start + timedelta(days=nights),
        source=source,
        guest_name=name,
        guest_email=f"{re.sub(r'[^a-z]', '', name.split()[0].lower()) or 'guest'}@example.com",
        guests=2,
        **kw,  # type: ignore[arg-type]
    )


def paid(booking: Booking, amount: Decimal | None = None) -> Payment:
    amount = booking.total if amount is None else amount
    Booking.objects.filter(pk=booking.pk).update(amount_paid=amount)
    return Payment.objects.create(
        business=booking.business,
        booking=booking,
        gateway="fake",
        status=Payment.Status.SUCCEEDED,
        amount=amount,
        currency=booking.currency,
        amount_minor=to_minor_units(amount, booking.currency),
        paid_at=timezone.now(),
    )


def with_cleaner(prop: Property, name: str = "Maria Cleaner") -> Staff:
    cleaner = Staff.objects.create(
        business=prop.business, name=name, email=f"{name.split()[0].lower()}@clean.example.com"
    )
    PropertyMessaging.objects.update_or_create(
        property=prop, defaults={"business": prop.business, "default_cleaner": cleaner}
    )
    return cleaner


@dataclass
class Day:
    """What `busy_day` made."""

    tenant: Tenant
    today: date
    departing: Booking
    arriving: Booking
    staying: Booking
    block: Booking
    conflict: BookingConflict
    failed_email: ScheduledMessage
    refused: Refund
    channel: Channel
    feed: IcalFeed
    cleaner: Staff


def make_busy_day(tenant: Tenant, *, extra_properties: int = 0) -> Day:
    business = tenant.business
    today = business_today(business)
    sea = tenant.prop
    Property.objects.filter(pk=sea.pk).update(name="Sea View")
    sea.refresh_from_db()
    cleaner = with_cleaner(sea)
    departing = stay(sea, today - timedelta(days=3), 3, name="Grace Hopper", source="airbnb")
    arriving = stay(sea, today, 4, name="Ada Lovelace")
    Turnover.objects.filter(next_booking=arriving).update(state=Turnover.State.ACCEPTED)
    hill = PropertyFactory(business=business, name="Hill Barn")
    staying = stay(hill, today - timedelta(days=2), 5, name="Alan Turing", source="booking")
    paid(staying)
    block = block_create(
        property=hill,
        start=today + timedelta(days=10),
        end=today + timedelta(days=12),
        note="Painting",
    )
    for n in range(extra_properties):
        extra = PropertyFactory(business=business, name=f"Extra {n}")
        stay(extra, today, 2, name=f"Extra Guest{n}")
        stay(extra, today - timedelta(days=2), 2, name=f"Leaving Guest{n}")
    conflict = BookingConflict.objects.create(
        business=business,
        property=sea,
        external_id="HMX-42",
        check_in=today + 1 * timedelta(days=1),
        check_out=today + timedelta(days=3),
        partner_data={
            "guest_name": "Linus Partner",
            "guests": 2,
            "total": "480.00",
            "currency": "EUR",
        },
        existing_booking=arriving,
    )
    failed_email = ScheduledMessage.objects.create(
        business=business,
        booking=arriving,
        kind=Kind.REMINDER,
        recipient="ada@example.com",
        recipient_name="Ada Lovelace",
        key=f"test:failed:{arriving.pk}",
        send_at=timezone.now() - timedelta(hours=2),
        state=ScheduledMessage.State.FAILED,
        attempts=5,
        last_error="550 mailbox unavailable",
    )
    payment = paid(departing, Decimal("200.00"))
    refused = Refund.objects.create(
        business=business,
        payment=payment,
        booking=departing,
        amount=Decimal("50.00"),
        currency="EUR",
        reason=Refund.Reason.CANCELLATION,
        status=Refund.Status.FAILED,
        error="Card expired",
    )
    channel = Channel.objects.create(business=business, platform="airbnb", name="Airbnb")
    link = ListingLink.objects.create(
        business=business, channel=channel, listing_id="L-1", property=sea
    )
    PushOutbox.objects.create(
        business=business,
        channel=channel,
        listing=link,
        kind=PushOutbox.Kind.AVAILABILITY,
        status=PushOutbox.Status.DEAD,
        attempts=8,
        last_error="HTTP 503",
        next_attempt_at=timezone.now(),
    )
    feed = IcalFeed.objects.create(
        business=business,
        property=hill,
        platform="vrbo",
        url="https://example.com/hill.ics",
        last_error="Feed answered 404",
        last_error_at=timezone.now(),
        consecutive_failures=3,
    )
    return Day(
        tenant=tenant,
        today=today,
        departing=departing,
        arriving=arriving,
        staying=staying,
        block=block,
        conflict=conflict,
        failed_email=failed_email,
        refused=refused,
        channel=channel,
        feed=feed,
        cleaner=cleaner,
    )


@pytest.fixture
def day(tenant: Tenant) -> Day:
    return make_busy_day(tenant)


@pytest.fixture
def owner(tenant: Tenant) -> Client:
    return tenant.admin_client()


@pytest.fixture
def outsider_client(outsider: Tenant) -> Client:
    return outsider.admin_client()


@pytest.fixture
def anonymous() -> Client:
    return Client(HTTP_HOST=APP_HOST)
