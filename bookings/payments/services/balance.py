"""What a guest still owes on a stay (its total rose when the owner changed the dates,
or the owner recorded it unpaid), and the two ways it gets paid:

- the guest pays it online from their trip page (`balance_checkout_start`): a
  `balance` payment through the gateway, applied by `checkout.payment_apply` like every
  other success;
- the owner records money taken outside Holidesk (cash at the door, a bank transfer:
  `payment_record_offline`), so the booking's paid amount, what is still due and the
  bookings export tell the truth. Nothing is sent to any gateway then.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from bookings.errors import InvalidAmount, InvalidTransition, PriceChanged
from bookings.models import Booking
from bookings.payments.gateway import PaymentGateway, PaymentUnavailable, get_gateway
from bookings.payments.models import Payment
from bookings.payments.services.checkout import (
    CheckoutStarted,
    payment_abandon,
    payment_checkout_create,
    payment_create,
)
from bookings.rules import owner_amount_check, owner_may_change_check, owner_note_clean
from properties.db import lock_one
from properties.models import User
from properties.money import format_money, to_minor_units

OFFLINE_GATEWAY = "offline"


def amount_due(booking: Booking) -> Decimal:
    """What the guest still owes on a confirmed stay: its total less what they paid
    net of refunds (never negative). A block or a stay that is not confirmed owes
    nothing."""
    if booking.is_block or booking.status != Booking.Status.CONFIRMED:
        return Decimal(0)
    return max(Decimal(0), booking.total - (booking.amount_paid - booking.amount_refunded))


def payment_record_offline(
    *,
    booking: Booking,
    amount: Decimal,
    method: str,
    note: str = "",
    recorded_by: User | None = None,
    expected_due: Decimal | None = None,
    now: datetime | None = None,
) -> Payment:
    """Record that the guest paid `amount` outside Holidesk, by `method` (cash, bank
    transfer, other): a succeeded payment of kind `offline`, added to the booking's
    paid amount. At most what is due, in amounts the currency can pay; only on a
    confirmed stay the owner (not a partner) manages. `expected_due` is what the owner
    was shown as due: if it moved since (the same form sent twice), nothing is recorded
    (PriceChanged)."""
    now = now or timezone.now()
    owner_may_change_check(booking)
    currency = booking.currency
    if method not in Payment.Method.values:
        raise InvalidAmount("Choose how the guest paid.", fields={"method": ["unknown"]})
    owner_amount_check(amount, currency)
    note = owner_note_clean(note)
    with transaction.atomic():
        # The lock order of every payment write: payment rows, then the booking.
        list(Payment.objects.select_for_update().filter(booking=booking).order_by("pk"))
        current = lock_one(Booking.objects.all(), pk=booking.pk)
        if current.is_block or current.status != Booking.Status.CONFIRMED:
            raise InvalidTransition(
                f"Payments are recorded on confirmed stays ({current.reference} is "
                f"{current.get_status_display().lower()})."
            )
        due = amount_due(current)
        if expected_due is not None and expected_due != due:
            raise PriceChanged(
                f"What is due changed since the page was opened (now "
                f"{format_money(due, currency)}): nothing was recorded. Check and try again."
            )
        if amount > due:
            raise InvalidAmount(
                f"Only {format_money(due, currency)} is still due on this stay."
                if due
                else "Nothing is due on this stay.",
                fields={"amount": [f"at most {due}"]},
            )
        payment = Payment.objects.create(
            business_id=current.business_id,
            booking=current,
            kind=Payment.Kind.OFFLINE,
            gateway=OFFLINE_GATEWAY,
            status=Payment.Status.SUCCEEDED,
            amount=amount,
            currency=currency,
            amount_minor=to_minor_units(amount, currency),
            method=method,
            note=note,
            recorded_by=recorded_by,
            outcome=f"Recorded by {recorded_by.email}." if recorded_by else "",
            paid_at=now,
        )
        Booking.objects.filter(pk=current.pk).update(
            amount_paid=F("amount_paid") + amount, updated_at=now
        )
    return payment


REPLACED_BALANCE = "Replaced by a newer checkout of the amount due."


def balance_checkout_start(
    *,
    booking: Booking,
    site_origin: str,
    gateway: PaymentGateway | None = None,
    now: datetime | None = None,
) -> CheckoutStarted:
    """The guest pays what is due on their stay online: a checkout for exactly that
    amount. The guest's own open checkout for the same amount is resumed; an older
    one for another amount is voided (should it be paid anyway, it is applied: the
    owner sees the overpayment and can refund it). Raises InvalidAmount when nothing
    is due, PaymentUnavailable when the business cannot take payments."""
    now = now or timezone.now()
    gateway = gateway or get_gateway()
    due = amount_due(booking)
    if due <= 0:
        raise InvalidAmount("Nothing is due on this stay.", fields={"amount": ["nothing due"]})
    open_ones = list(
        Payment.objects.filter(
            booking=booking, kind=Payment.Kind.BALANCE, status=Payment.Status.PENDING
        ).order_by("-pk")
    )
    for payment in open_ones:
        if payment.amount == due and payment.checkout_url:
            return CheckoutStarted(booking, payment, payment.checkout_url)
    for payment in open_ones:
        payment_abandon(payment=payment, reason=REPLACED_BALANCE, now=now)
    gateway.ensure_ready(booking.business)
    payment = payment_create(
        booking=booking, kind=Payment.Kind.BALANCE, gateway=gateway, amount=due
    )
    try:
        payment_checkout_create(
            gateway=gateway,
            payment=payment,
            booking=booking,
            description=(
                f"{booking.property.name}: amount due on {booking.reference} "
                f"({booking.check_in:%-d %b %Y} to {booking.check_out:%-d %b %Y})"
            ),
            site_origin=site_origin,
        )
    except PaymentUnavailable:
        payment_abandon(payment=payment, status=Payment.Status.FAILED, now=now)
        raise
    return CheckoutStarted(booking, payment, payment.checkout_url)
