"""Extending a confirmed stay: nights added before or after it, paid as the difference.

The added nights are held while the guest pays (bookings.services.extension_nights_hold),
and the stay's dates change only when the payment succeeds, atomically, in
`checkout.payment_apply`. Only the newest extension checkout of a stay stands: starting
one replaces the older ones and their holds, and a replaced one that is paid anyway is
refunded. Should the holds run out and someone book those nights first, the payment is
refunded and the stay keeps its dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from bookings.errors import BeyondHorizon, InvalidDates, InvalidTransition, StayUnavailable
from bookings.models import Booking
from bookings.payments.gateway import PaymentGateway, PaymentUnavailable, get_gateway
from bookings.payments.models import Payment
from bookings.payments.services.billing import billing_ensure_taking_bookings
from bookings.payments.services.checkout import (
    REPLACED_EXTENSION,
    CheckoutStarted,
    payment_abandon,
    payment_checkout_create,
    payment_create,
)
from bookings.pricing import Quote, quote
from bookings.rules import MAX_STAY_NIGHTS
from bookings.services.holds import extension_holds_release, extension_nights_hold
from bookings.services.stays import booking_change_dates


@dataclass(frozen=True)
class ExtensionQuote:
    booking: Booking
    check_in: date
    check_out: date
    quote: Quote
    difference: Decimal


def extension_quote(
    *, booking: Booking, check_in: date, check_out: date, now: datetime | None = None
) -> ExtensionQuote:
    """The price difference of adding nights before or after a confirmed stay, when
    those nights are free. Raises a BookingError naming what is wrong."""
    now = now or timezone.now()
    if booking.status != Booking.Status.CONFIRMED or booking.is_block:
        raise InvalidTransition("Only a confirmed stay can be extended.")
    if check_out <= check_in:
        raise InvalidDates("Check-out must be after check-in.", fields={"check_out": ["after"]})
    if check_in > booking.check_in or check_out < booking.check_out:
        raise InvalidDates(
            "An extension keeps the nights you have and adds nights before or after them.",
            fields={"check_in": ["keep your nights"]},
        )
    if (check_in, check_out) == (booking.check_in, booking.check_out):
        raise InvalidDates("Choose at least one extra night.", fields={"check_out": ["same"]})
    # The engine's span limit and the booking horizon hold for every extension, even of
    # a stay in progress (whose other rules are not enforced): nothing prices an
    # unbounded range of nights.
    if (check_out - check_in).days > MAX_STAY_NIGHTS:
        raise InvalidDates("A stay can span at most 3 years.", fields={"check_out": ["too far"]})
    prop = booking.property
    today = prop.local_today()
    horizon = today + timedelta(days=prop.booking_horizon_days)
    if check_out > booking.check_out and check_out > horizon:
        raise BeyondHorizon(
            f"Bookings open up to {horizon:%-d %b %Y}; please choose an earlier check-out.",
            fields={"check_out": [f"on or before {horizon.isoformat()}"]},
        )
    if check_in != booking.check_in and check_in < today:
        raise InvalidDates("Check-in cannot move into the past.", fields={"check_in": ["past"]})
    priced = quote(prop, check_in, check_out, booking.guests, enforce_rules=check_in >= today)
    other = (
        Booking.objects.filter(property=prop)
        .active(now=now)
        .overlapping(check_in, check_out)
        .exclude(pk=booking.pk)
        # The guest's own extension holds (a newer extension replaces them).
        .exclude(
            extension_payments__booking=booking,
            extension_payments__status=Payment.Status.PENDING,
        )
        .order_by("stay")
        .first()
    )
    if other is not None:
        raise StayUnavailable(
            f"Those extra nights are not free: another stay runs from "
            f"{other.check_in:%-d %b %Y} to {other.check_out:%-d %b %Y}. "
            "Your booking has not changed.",
            conflict=(other.check_in, other.check_out),
        )
    return ExtensionQuote(booking, check_in, check_out, priced, priced.total - booking.total)


def extension_start(
    *,
    booking: Booking,
    check_in: date,
    check_out: date,
    site_origin: str,
    gateway: PaymentGateway | None = None,
    now: datetime | None = None,
) -> CheckoutStarted:
    """Charge the difference; the added nights are held while the guest pays, and the
    dates change when the payment succeeds. A change that costs nothing more is made
    at once."""
    now = now or timezone.now()
    gateway = gateway or get_gateway()
    ext = extension_quote(booking=booking, check_in=check_in, check_out=check_out, now=now)
    if ext.difference <= 0:
        changed, _ = booking_change_dates(
            booking=booking, check_in=check_in, check_out=check_out, now=now
        )
        return CheckoutStarted(changed, None, f"{site_origin}/trips/{booking.reference}/")
    billing_ensure_taking_bookings(business=booking.business, now=now)
    gateway.ensure_ready(booking.business)
    with transaction.atomic():
        # Only the newest extension checkout stands; should an older one be paid anyway,
        # it applies only while the stay still has the dates it was quoted from.
        replaced = list(
            Payment.objects.select_for_update()
            .filter(booking=booking, kind=Payment.Kind.EXTENSION, status=Payment.Status.PENDING)
            .order_by("pk")
        )
        Payment.objects.filter(pk__in=[p.pk for p in replaced]).update(
            status=Payment.Status.FAILED,
            outcome=REPLACED_EXTENSION,
            updated_at=now,
        )
        extension_holds_release(holds=list(Booking.objects.filter(extension_payments__in=replaced)))
        holds = extension_nights_hold(
            booking=booking, check_in=check_in, check_out=check_out, now=now
        )
        payment = payment_create(
            booking=booking,
            kind=Payment.Kind.EXTENSION,
            gateway=gateway,
            amount=ext.difference,
            new_check_in=check_in,
            new_check_out=check_out,
            from_check_in=booking.check_in,
            from_check_out=booking.check_out,
        )
        payment.holds.set(holds)
    nights = (check_out - check_in).days - booking.nights
    description = (
        f"{booking.property.name}: {nights} extra night{'s' if nights != 1 else ''} "
        f"({check_in:%-d %b %Y} to {check_out:%-d %b %Y}), {booking.reference}"
    )
    try:
        payment_checkout_create(
            gateway=gateway,
            payment=payment,
            booking=booking,
            description=description,
            site_origin=site_origin,
        )
    except PaymentUnavailable:
        payment_abandon(payment=payment, status=Payment.Status.FAILED, now=now)
        raise
    return CheckoutStarted(booking, payment, payment.checkout_url)
