"""Checkout: a visitor pays for a stay, and what the payment's success or failure does.

- A checkout first *holds* the nights (bookings.services.booking_hold), then asks the
  gateway for a hosted checkout: nothing is charged before the nights are held. The
  visitor's own open checkout for the same stay is resumed; one of theirs for other
  dates or guests that would collide is released first (`checkout_open`).
- Every success (Stripe's webhook, the fake page's "Pay", a paid session read back)
  goes through `payment_apply`: the claim is checked against *our* locked Payment row
  (business, booking, connected account, currency, amount), so a mismatch changes
  nothing and a success is applied at most once. Confirming is conditional on the
  booking's current state: nights taken meanwhile, or a booking cancelled meanwhile,
  get the whole payment refunded, never an overlapping stay.
- Gateway calls (HTTP) never run inside a database transaction. Lock order: payment
  rows (by pk), their refunds, then the property, then the booking.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from bookings.errors import InvalidDates, InvalidTransition, RuleViolation, StayUnavailable
from bookings.models import Booking
from bookings.payments.gateway import (
    CheckoutRequest,
    PaymentGateway,
    PaymentUnavailable,
    get_gateway,
)
from bookings.payments.models import Payment, Refund
from bookings.payments.services.billing import billing_ensure_taking_bookings
from bookings.payments.services.refunds import refund_record, refunds_execute
from bookings.services.cancellation import booking_cancel_without_refund
from bookings.services.holds import extension_holds_release
from bookings.services.stays import booking_change_dates, booking_confirm, booking_hold
from properties.db import lock_one
from properties.models import Property, User
from properties.money import to_minor_units

logger = logging.getLogger(__name__)

# Outcome of an extension checkout superseded by a newer one for the same stay: if it
# is paid anyway, it is refunded (only the newest extension stands).
REPLACED_EXTENSION = "Replaced by a newer extension."


@dataclass(frozen=True)
class CheckoutStarted:
    booking: Booking
    payment: Payment | None
    redirect_url: str


@dataclass
class Outcome:
    """What a payment event did, in words for the event log and the visitor."""

    # "confirmed" | "extended" | "paid" | "already" | "refunded" | "released" | "ignored"
    status: str
    message: str
    payment: Payment | None = None
    refund_ids: list[int] = field(default_factory=list)


def _paths(origin: str, booking: Booking) -> tuple[str, str]:
    return (
        f"{origin}/trips/{booking.reference}/confirmation/",
        f"{origin}/trips/{booking.reference}/",
    )


def payment_create(
    *, booking: Booking, kind: str, gateway: PaymentGateway, amount: Decimal, **fields: Any
) -> Payment:
    """A pending payment of `amount` in the booking's currency, with the minor units the
    gateway will be asked for."""
    return Payment.objects.create(
        business=booking.business,
        booking=booking,
        kind=kind,
        gateway=gateway.name,
        amount=amount,
        currency=booking.currency,
        amount_minor=to_minor_units(amount, booking.currency),
        **fields,
    )


def payment_checkout_create(
    *,
    gateway: PaymentGateway,
    payment: Payment,
    booking: Booking,
    description: str,
    site_origin: str,
) -> Payment:
    """Open the gateway's hosted checkout for a recorded payment (outside any
    transaction: an HTTP call). Raises PaymentUnavailable."""
    success_url, cancel_url = _paths(site_origin, booking)
    session = gateway.create_checkout(
        CheckoutRequest(
            business=booking.business,
            payment_id=payment.pk,
            booking_reference=booking.reference,
            description=description,
            amount_minor=payment.amount_minor,
            currency=payment.currency,
            customer_email=booking.guest_email,
            site_origin=site_origin,
            success_url=success_url,
            cancel_url=cancel_url,
            expires_at=booking.hold_expires_at,
        )
    )
    payment.checkout_id = session.id
    payment.checkout_url = session.url
    payment.connected_account = session.connected_account
    payment.save(update_fields=["checkout_id", "checkout_url", "connected_account", "updated_at"])
    return payment


def _stay_description(booking: Booking, prop: Property) -> str:
    return (
        f"{prop.name}: {booking.check_in:%-d %b %Y} to {booking.check_out:%-d %b %Y} "
        f"({booking.nights} night{'s' if booking.nights != 1 else ''}), {booking.reference}"
    )


def checkout_open(
    *,
    property: Property,
    user: User,
    check_in: date,
    check_out: date,
    guests: int,
    now: datetime | None = None,
) -> CheckoutStarted | None:
    """The visitor's own open checkout for exactly this stay (property, dates and
    guests), to resume: submitting twice, or coming back, never holds the nights twice.
    Their open checkouts for other dates or guests that collide with this stay are
    released, so that a new checkout can hold the nights; returns None then.

    Raises InvalidDates when check-out is not after check-in."""
    if check_out <= check_in:
        raise InvalidDates(
            "Check-out must be after check-in.", fields={"check_out": ["after check-in"]}
        )
    now = now or timezone.now()
    pending = list(
        Payment.objects.filter(
            business=property.business,
            kind=Payment.Kind.STAY,
            status=Payment.Status.PENDING,
            booking__guest_user=user,
            booking__property=property,
            booking__status=Booking.Status.HELD,
        )
        .filter(booking__in=Booking.objects.active(now=now).overlapping(check_in, check_out))
        .select_related("booking")
        .order_by("pk")
    )
    for payment in pending:
        held = payment.booking
        if payment.checkout_url and (held.check_in, held.check_out, held.guests) == (
            check_in,
            check_out,
            guests,
        ):
            return CheckoutStarted(held, payment, payment.checkout_url)
    for payment in pending:
        payment_abandon(
            payment=payment,
            status=Payment.Status.FAILED,
            reason="Replaced by a new checkout for other dates or guests.",
            now=now,
        )
    return None


def checkout_start(
    *,
    property: Property,
    check_in: date,
    check_out: date,
    guests: int,
    user: User,
    guest_name: str,
    guest_phone: str = "",
    note: str = "",
    site_origin: str,
    language: str = "",
    gateway: PaymentGateway | None = None,
    now: datetime | None = None,
) -> CheckoutStarted:
    """Resume the visitor's open checkout for this stay (`checkout_open`), or hold the
    nights for them and open a checkout for the quoted total.

    Raises StayUnavailable (someone holds or booked the nights: "just taken"), a
    RuleViolation, BookingsPaused (the business's Holidesk subscription lapsed beyond
    its grace period: nothing is held), or PaymentUnavailable (the hold is released
    again)."""
    resumed = checkout_open(
        property=property,
        user=user,
        check_in=check_in,
        check_out=check_out,
        guests=guests,
        now=now,
    )
    if resumed is not None:
        return resumed
    billing_ensure_taking_bookings(business=property.business, now=now)
    gateway = gateway or get_gateway()
    gateway.ensure_ready(property.business)
    booking = booking_hold(
        property=property,
        check_in=check_in,
        check_out=check_out,
        guests=guests,
        guest_user=user,
        guest_name=guest_name,
        guest_email=user.email,
        guest_phone=guest_phone,
        note=note,
        language=language,
        now=now,
    )
    payment = payment_create(
        booking=booking, kind=Payment.Kind.STAY, gateway=gateway, amount=booking.total
    )
    if payment.amount_minor == 0:
        outcome = payment_succeeded(payment=payment, now=now)
        return CheckoutStarted(booking, outcome.payment, _paths(site_origin, booking)[0])
    try:
        payment_checkout_create(
            gateway=gateway,
            payment=payment,
            booking=booking,
            description=_stay_description(booking, property),
            site_origin=site_origin,
        )
    except PaymentUnavailable:
        payment_abandon(payment=payment, status=Payment.Status.FAILED, now=now)
        raise
    return CheckoutStarted(booking, payment, payment.checkout_url)


# --- Success ---------------------------------------------------------------------------


def payment_mismatch(
    payment: Payment,
    *,
    business_id: Any,
    booking_reference: Any,
    amount_minor: Any,
    currency: Any,
    account: str,
) -> str:
    """Why a gateway's claim does not match our payment row ("" when it does)."""
    if str(business_id) != str(payment.business_id):
        return f"business {business_id!r} is not the payment's business"
    if booking_reference != payment.booking.reference:
        return f"booking {booking_reference!r} is not the payment's booking"
    if payment.connected_account and account != payment.connected_account:
        return f"account {account!r} is not the business's connected account"
    if not isinstance(currency, str) or currency.upper() != payment.currency.upper():
        return f"currency {currency!r} is not {payment.currency}"
    if amount_minor != payment.amount_minor:
        return f"amount {amount_minor!r} is not {payment.amount_minor} minor units"
    return ""


def payment_apply(
    *,
    payment_id: int,
    business_id: Any,
    booking_reference: Any,
    amount_minor: Any,
    currency: Any,
    payment_intent_id: str = "",
    account: str = "",
    now: datetime,
) -> Outcome:
    """Apply a gateway's claim that a payment succeeded: confirm the stay, or move it to
    the extension's dates, or refund the payment when neither is possible any more.
    Runs inside the caller's transaction; returns the refunds to send once committed."""
    payment = (
        Payment.objects.select_for_update()
        .select_related("booking", "booking__property", "business")
        .get(pk=payment_id)
    )
    problem = payment_mismatch(
        payment,
        business_id=business_id,
        booking_reference=booking_reference,
        amount_minor=amount_minor,
        currency=currency,
        account=account,
    )
    if problem:
        logger.error("Payment %s: success not applied: %s", payment.pk, problem)
        return Outcome("ignored", f"Not applied: {problem}.", payment)
    if payment.status == Payment.Status.SUCCEEDED:
        return Outcome("already", "Payment was already applied.", payment)
    replaced = payment.status == Payment.Status.FAILED and payment.outcome == REPLACED_EXTENSION
    payment.status = Payment.Status.SUCCEEDED
    payment.paid_at = now
    if payment_intent_id:
        payment.payment_intent_id = payment_intent_id
    booking = payment.booking
    try:
        if payment.kind == Payment.Kind.STAY:
            booking_confirm(booking=booking, amount_paid=payment.amount, now=now)
            payment.outcome = "Booking confirmed."
            status = "confirmed"
        elif payment.kind == Payment.Kind.BALANCE:
            # What the guest owed after the owner changed the stay. Paid into a stay
            # that was cancelled meanwhile, it goes back (InvalidTransition, below).
            _stay_open_check(booking)
            Booking.objects.filter(pk=booking.pk).update(
                amount_paid=F("amount_paid") + payment.amount
            )
            payment.outcome = "Amount due paid."
            status = "paid"
        else:
            assert payment.new_check_in is not None  # payment_extension_has_dates
            assert payment.new_check_out is not None
            # The held nights go into the stay (or back to the calendar if stale).
            extension_holds_release(holds=list(payment.holds.all()))
            if replaced or _extension_is_stale(payment):
                payment.outcome = (
                    "Refunded: a newer extension replaced this one."
                    if replaced
                    else "Refunded: the stay's dates changed before this extension was paid."
                )
                payment.save()
                refund = refund_record(
                    payment=payment,
                    amount=payment.amount,
                    reason=Refund.Reason.DATES_CHANGED,
                    credit_booking=False,
                )
                return Outcome("refunded", payment.outcome, payment, [refund.pk])
            # The extension's rules were checked when it was quoted and paid for.
            booking_change_dates(
                booking=booking,
                check_in=payment.new_check_in,
                check_out=payment.new_check_out,
                enforce_rules=False,
                now=now,
            )
            Booking.objects.filter(pk=booking.pk).update(
                amount_paid=F("amount_paid") + payment.amount
            )
            payment.outcome = "Stay extended."
            status = "extended"
    except (StayUnavailable, InvalidTransition, RuleViolation) as exc:
        taken = isinstance(exc, StayUnavailable)
        payment.outcome = (
            "Refunded: the nights were taken before the payment arrived."
            if taken
            else f"Refunded: {exc.message}"
        )
        payment.save()
        refund = refund_record(
            payment=payment,
            amount=payment.amount,
            reason=Refund.Reason.DATES_TAKEN if taken else Refund.Reason.BOOKING_CLOSED,
            credit_booking=False,
        )
        return Outcome("refunded", payment.outcome, payment, [refund.pk])
    payment.save()
    return Outcome(status, payment.outcome, payment)


def _stay_open_check(booking: Booking) -> None:
    """Raise InvalidTransition unless the stay (read under the booking's lock) is still
    confirmed."""
    current = Booking.objects.select_for_update().get(pk=booking.pk)
    if current.status != Booking.Status.CONFIRMED:
        raise InvalidTransition(
            f"Booking {current.reference} is {current.get_status_display().lower()}."
        )


def _extension_is_stale(payment: Payment) -> bool:
    """Whether the stay no longer has the dates this extension was quoted from. Reads
    the booking under lock (property, then booking: the order of the booking
    services), so two extensions paid at once cannot both see the old dates."""
    if payment.from_check_in is None or payment.from_check_out is None:
        return False
    booking = payment.booking
    lock_one(Property.objects.all(), pk=booking.property_id)
    current = Booking.objects.select_for_update().get(pk=booking.pk)
    return (current.check_in, current.check_out) != (
        payment.from_check_in,
        payment.from_check_out,
    )


def payment_succeeded(*, payment: Payment, now: datetime | None = None) -> Outcome:
    """The fake gateway's "Pay" (and free stays): the same path as Stripe's webhook,
    with the claim taken from our own row."""
    now = now or timezone.now()
    with transaction.atomic():
        outcome = payment_apply(
            payment_id=payment.pk,
            business_id=payment.business_id,
            booking_reference=payment.booking.reference,
            amount_minor=payment.amount_minor,
            currency=payment.currency,
            payment_intent_id=payment.payment_intent_id or f"{payment.gateway}_pi_{payment.pk}",
            account=payment.connected_account,
            now=now,
        )
    refunds_execute(refund_ids=outcome.refund_ids)
    return outcome


def payment_abandon(
    *,
    payment: Payment,
    status: str = Payment.Status.FAILED,
    reason: str = "",
    now: datetime | None = None,
) -> Outcome:
    """Declined, expired or replaced checkout: release the hold (if it is still a hold).
    `reason` replaces the default outcome text. A payment no longer pending is left
    as it is."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = Payment.objects.select_for_update().select_related("booking").get(pk=payment.pk)
        if locked.status != Payment.Status.PENDING:
            return Outcome("ignored", f"Payment is {locked.get_status_display().lower()}.", locked)
        locked.status = status
        locked.outcome = reason[:200] or (
            "Checkout expired." if status == Payment.Status.EXPIRED else "Payment declined."
        )
        locked.save()
        booking = locked.booking
        if locked.kind == Payment.Kind.STAY and booking.status == Booking.Status.HELD:
            booking_cancel_without_refund(booking=booking, reason=locked.outcome, now=now)
            return Outcome("released", locked.outcome + " The held nights were released.", locked)
        extension_holds_release(holds=list(locked.holds.all()))
        return Outcome("released", locked.outcome, locked)
