"""Factories of this app's tenant-owned admin models, for the generic admin isolation
tests (tests/properties/test_admin.py). Register each with @register(Model)."""

from __future__ import annotations

from datetime import timedelta

from bookings.models import Booking
from bookings.payments.models import Payment, Refund, StripeAccount, Subscription
from bookings.services.stays import booking_create
from properties.models import Business
from properties.money import to_minor_units
from tests.factories import PropertyFactory
from tests.tenant_objects import register


@register(Booking)
def make_booking(business: Business) -> Booking:
    prop = PropertyFactory(business=business)
    check_in = prop.local_today() + timedelta(days=30)
    return booking_create(
        property=prop, check_in=check_in, check_out=check_in + timedelta(days=2), source="direct"
    )


def _paid_stay(business: Business) -> Payment:
    booking = make_booking(business)
    return Payment.objects.create(
        business=business,
        booking=booking,
        gateway="fake",
        status=Payment.Status.SUCCEEDED,
        amount=booking.total,
        currency=booking.currency,
        amount_minor=to_minor_units(booking.total, booking.currency),
    )


register(Payment)(_paid_stay)


@register(Refund)
def make_refund(business: Business) -> Refund:
    payment = _paid_stay(business)
    return Refund.objects.create(
        business=business,
        payment=payment,
        booking=payment.booking,
        amount=payment.amount,
        currency=payment.currency,
        reason=Refund.Reason.CANCELLATION,
    )


@register(StripeAccount)
def make_stripe_account(business: Business) -> StripeAccount:
    return StripeAccount.objects.create(business=business, account_id=f"acct_{business.slug}")


@register(Subscription)
def make_subscription(business: Business) -> Subscription:
    return Subscription.objects.create(
        business=business,
        customer_id=f"cus_{business.slug}",
        subscription_id=f"sub_{business.slug}",
        status=Subscription.Status.ACTIVE,
        plan="standard",
        quantity=1,
    )
