"""Refunds: recorded with the write that implies them, sent to the gateway afterwards.

A refund is first a pending `Refund` row, written in the transaction that decided it
(a cancellation, a payment that could not be applied, a refund reported by Stripe), and
committed; only then is the gateway called, outside any transaction, and its answer
updates the row. A refund the gateway could not take (timeout, network, provider error)
stays pending and is sent again, with the same idempotency key, by
`bookings.refunds_retry`.

`booking_cancel_and_refund` is what every door that cancels a paid stay calls: it
cancels (bookings.services.booking_cancel_without_refund) and refunds what the policy
implies, in one transaction that locks the booking's payments first (the lock order of
all payment writes: payment rows by pk, then refunds, then the property, then the
booking), so a cancellation and a payment event never deadlock.

`booking_refund_partial` is the owner's refund of part (or all) of what a stay's guest
paid, without cancelling; the date-change service refunds what new, cheaper dates no
longer cost. Every refund draws on the booking's payments the same way
(`refunds_plan`): card payments first, newest first, through their gateway; money paid
offline (cash, a bank transfer the owner recorded) last, recorded as given back by hand
(no gateway can return it).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from bookings import signals
from bookings.errors import InvalidAmount, InvalidTransition, PriceChanged
from bookings.models import Booking
from bookings.payments.gateway import (
    PaymentGateway,
    PaymentRefused,
    PaymentUnavailable,
    RefundRequest,
    get_gateway,
)
from bookings.payments.models import Payment, Refund
from bookings.rules import owner_amount_check, owner_may_change_check, owner_note_clean
from bookings.services.cancellation import booking_cancel_without_refund
from properties.db import lock_one
from properties.models import Property, User
from properties.money import format_money, to_minor_units
from properties.permissions import REFUND_BEYOND_POLICY, require

logger = logging.getLogger(__name__)

# Refunds made without anyone asking (a payment that could not be applied): the
# visitor is told by email and on the trip page.
AUTOMATIC_REFUND_REASONS = (
    Refund.Reason.DATES_TAKEN,
    Refund.Reason.BOOKING_CLOSED,
    Refund.Reason.DATES_CHANGED,
)

# Refunds counted in `Booking.amount_refunded` from the moment they are recorded (and
# taken back out should the gateway refuse them).
CREDITED_REASONS = (
    Refund.Reason.CANCELLATION,
    Refund.Reason.AT_GATEWAY,
    Refund.Reason.OWNER,
    Refund.Reason.NEW_DATES,
)

# A refund of money paid offline: no gateway can send it; the owner gives it back the
# way it came, and the row records that they did.
OFFLINE_REFUND_NOTE = "Paid offline: given back by the owner outside Holidesk."

REFUND_MAX_ATTEMPTS = 8
REFUND_RETRY_AFTER = timedelta(minutes=5)


def refund_record(
    *,
    payment: Payment,
    amount: Decimal,
    reason: str,
    status: str = Refund.Status.PENDING,
    credit_booking: bool = True,
    note: str = "",
) -> Refund:
    """Write a refund of `payment`, inside the caller's transaction (which holds the
    payment's lock); the caller sends it with `refunds_execute` once committed."""
    refund = Refund.objects.create(
        business_id=payment.business_id,
        payment=payment,
        booking_id=payment.booking_id,
        amount=amount,
        currency=payment.currency,
        reason=reason,
        status=status,
        note=note[:300],
    )
    if credit_booking:
        Booking.objects.filter(pk=payment.booking_id).update(
            amount_refunded=F("amount_refunded") + amount
        )
    return refund


def refunds_execute(
    *, refund_ids: list[int], gateway: PaymentGateway | None = None, now: datetime | None = None
) -> None:
    """Send recorded refunds to the gateway, outside any transaction."""
    for refund_id in refund_ids:
        refund = Refund.objects.select_related("payment", "booking", "business").get(pk=refund_id)
        if refund.status != Refund.Status.PENDING or refund.gateway_refund_id:
            continue
        payment = refund.payment
        if payment.is_offline:
            Refund.objects.filter(pk=refund.pk, status=Refund.Status.PENDING).update(
                status=Refund.Status.SUCCEEDED,
                note=(refund.note or OFFLINE_REFUND_NOTE)[:300],
                updated_at=timezone.now(),
            )
            continue
        attempted_at = now or timezone.now()
        Refund.objects.filter(pk=refund.pk).update(
            attempts=F("attempts") + 1, last_attempt_at=attempted_at
        )
        refund.refresh_from_db(fields=["attempts", "last_attempt_at"])
        try:
            result = (gateway or get_gateway(payment.gateway)).refund(
                RefundRequest(
                    business=refund.business,
                    payment_intent_id=payment.payment_intent_id,
                    connected_account=payment.connected_account,
                    amount_minor=to_minor_units(refund.amount, refund.currency),
                    idempotency_key=f"holidesk-refund-{refund.pk}",
                )
            )
        except PaymentRefused as exc:
            _refund_failed(refund, exc.message)
            continue
        except PaymentUnavailable as exc:
            if refund.attempts >= REFUND_MAX_ATTEMPTS:
                _refund_failed(refund, f"Gave up after {refund.attempts} attempts: {exc.message}")
            else:
                Refund.objects.filter(pk=refund.pk).update(last_error=exc.message[:300])
                logger.warning(
                    "Refund %s not sent (attempt %s): %s", refund.pk, refund.attempts, exc.message
                )
            continue
        if result.status == "failed":
            _refund_failed(refund, "The payment provider refused the refund.")
            continue
        refund.gateway_refund_id = result.id
        if result.status == "succeeded":
            refund.status = Refund.Status.SUCCEEDED
        refund.save(update_fields=["gateway_refund_id", "status", "updated_at"])
        if refund.reason in AUTOMATIC_REFUND_REASONS:
            _tell_visitor_of_refund(refund)


def refunds_retry(*, gateway: PaymentGateway | None = None, now: datetime | None = None) -> int:
    """Send again the refunds still pending after a transient gateway failure (or never
    sent), once they are REFUND_RETRY_AFTER old; each is marked failed after
    REFUND_MAX_ATTEMPTS sends. Returns how many were sent."""
    now = now or timezone.now()
    due = now - REFUND_RETRY_AFTER
    ids = list(
        Refund.objects.filter(
            status=Refund.Status.PENDING, gateway_refund_id="", created_at__lte=due
        )
        .filter(Q(last_attempt_at__isnull=True) | Q(last_attempt_at__lte=due))
        .order_by("pk")
        .values_list("pk", flat=True)[:200]
    )
    refunds_execute(refund_ids=ids, gateway=gateway, now=now)
    return len(ids)


def _refund_failed(refund: Refund, error: str) -> None:
    with transaction.atomic():
        updated = Refund.objects.filter(pk=refund.pk, status=Refund.Status.PENDING).update(
            status=Refund.Status.FAILED, error=error[:300], last_error=error[:300]
        )
        if updated and refund.reason in CREDITED_REASONS:
            Booking.objects.filter(pk=refund.booking_id).update(
                amount_refunded=F("amount_refunded") - refund.amount
            )
    logger.error("Refund %s failed: %s", refund.pk, error)


def _tell_visitor_of_refund(refund: Refund) -> None:
    """Messaging emails the visitor (through its outbox and rate limit)."""
    booking = refund.booking
    why = (
        "your stay's dates had already changed through another extension"
        if refund.reason == Refund.Reason.DATES_CHANGED
        else "those nights could no longer be kept for you"
    )
    signals.refund_issued.send(
        sender=Refund,
        business_id=refund.business_id,
        booking_id=booking.pk,
        refund_id=refund.pk,
        summary=(
            f"Your payment of {format_money(refund.amount, refund.currency)} arrived after "
            f"{why}, so it has been refunded in full. Nothing else was booked or charged."
        ),
    )


def refunds_plan(*, booking: Booking, amount: Decimal, reason: str, note: str = "") -> list[int]:
    """Record refunds of `amount` over the booking's paid payments (whose rows the
    caller holds locked): card payments first, newest first, then offline ones."""
    ids = []
    remaining = amount
    paid = sorted(
        Payment.objects.filter(booking=booking, status=Payment.Status.SUCCEEDED)
        .prefetch_related("refunds")  # Payment.refunded, per payment
        .order_by("-paid_at", "-pk"),
        key=lambda p: p.is_offline,  # stable: newest first within each group
    )
    for payment in paid:
        if remaining <= 0:
            break
        share = min(remaining, payment.amount - payment.refunded)
        if share <= 0:
            continue
        ids.append(refund_record(payment=payment, amount=share, reason=reason, note=note).pk)
        remaining -= share
    return ids


def refundable(*, booking: Booking) -> Decimal:
    """What can still be given back: the booking's net payment, as far as its payment
    rows (card and offline) still hold it."""
    net = booking.amount_paid - booking.amount_refunded
    if net <= 0:
        return Decimal(0)
    rows = Payment.objects.filter(booking=booking, status=Payment.Status.SUCCEEDED)
    held = sum((p.amount - p.refunded for p in rows.prefetch_related("refunds")), Decimal(0))
    return max(Decimal(0), min(net, held))


def _has_ended(booking: Booking, now: datetime) -> bool:
    """Whether the stay's check-out day has come where the property is."""
    return bool(booking.check_out <= now.astimezone(booking.property.tz).date())


def booking_cancel_and_refund(
    *,
    booking: Booking,
    by_owner: bool = False,
    by: User | None = None,
    reason: str = "Cancelled by the guest",
    now: datetime | None = None,
) -> tuple[Booking, Decimal]:
    """Cancel a stay and pay back what it implies: under the property's policy (the
    visitor on My trips, the owner API), or in full when the owner cancels in the admin
    or gives the dates to a partner's stay (`by_owner`). The refund is recorded in the
    cancelling transaction, then sent through the gateway.

    A stay that has ended (its check-out day has come, in the property's time zone)
    cannot be cancelled under the policy: InvalidTransition. The owner's full-refund
    cancellation still can, to settle a stay that did not happen (a no-show, a stay a
    partner's booking replaced). A member cancelling (`by`) needs the right to refund
    beyond the policy for that (NotAllowed otherwise: front desk refunds by the policy)."""
    if by_owner and by is not None:
        require(
            by,
            REFUND_BEYOND_POLICY,
            business=booking.business,
            obj=booking,
            message="Your role refunds under the cancellation policy only.",
        )
    now = now or timezone.now()
    with transaction.atomic():
        # Lock order as everywhere in payments: payment rows (by pk) first, then the
        # property and the booking (as booking_cancel_without_refund takes them again).
        # A payment event running at the same time waits here instead of deadlocking.
        list(Payment.objects.select_for_update().filter(booking=booking).order_by("pk"))
        if not by_owner:
            lock_one(Property.objects.all(), pk=booking.property_id)
            current = lock_one(Booking.objects.select_related("property"), pk=booking.pk)
            if _has_ended(current, now):
                raise InvalidTransition("A stay that has ended cannot be cancelled.")
        cancelled, amount = booking_cancel_without_refund(
            booking=booking, by_owner=by_owner, reason=reason, now=now
        )
        refund_ids = (
            refunds_plan(booking=cancelled, amount=amount, reason=Refund.Reason.CANCELLATION)
            if amount > 0
            else []
        )
        # Checkouts still open for this booking are void; should one be paid anyway,
        # `payment_apply` refunds it (the booking is cancelled).
        Payment.objects.filter(booking=cancelled, status=Payment.Status.PENDING).update(
            status=Payment.Status.FAILED, outcome="The booking was cancelled.", updated_at=now
        )
    refunds_execute(refund_ids=refund_ids)
    cancelled.refresh_from_db()
    return cancelled, amount


def _price_lower_by_refund(booking: Booking, *, amount: Decimal, note: str) -> None:
    """A refund on a confirmed stay first gives back what the guest paid beyond its
    total; the rest lowers the stay's price by as much (a goodwill gesture is not a
    debt: the guest must not then owe it, and a stay is still "paid in full" for the
    key-code email). The price table gets a line for it, so its lines still add up to
    the total. Called under the booking's lock, with `booking` as read before the
    refund was recorded."""
    overpaid = max(Decimal(0), booking.amount_paid - booking.amount_refunded - booking.total)
    lowered = min(booking.total, max(Decimal(0), amount - overpaid))
    if lowered <= 0:
        return
    breakdown = dict(booking.price_breakdown or {})
    label = "Refunded by the owner" + (f": {note}" if note else "")
    breakdown["lines"] = [
        *(breakdown.get("lines") or []),
        {"label": label[:200], "amount": str(-lowered)},
    ]
    breakdown["total"] = str(booking.total - lowered)
    Booking.objects.filter(pk=booking.pk).update(
        total=F("total") - lowered, price_breakdown=breakdown
    )


def booking_refund_partial(
    *,
    booking: Booking,
    amount: Decimal,
    note: str,
    expected_refundable: Decimal | None = None,
    now: datetime | None = None,
) -> list[Refund]:
    """The owner gives back part (or all) of what the guest paid, without cancelling:
    at most what is still refundable, in amounts the currency can pay. Recorded in one
    transaction under the payments' locks, then sent through the gateway; returns the
    refunds with the gateway's answer (a refused one is `failed`, with its error, and
    no longer counted as refunded). On a confirmed stay, the part of the refund beyond
    any overpayment lowers the stay's price (`_price_lower_by_refund`).

    `expected_refundable` is what the owner was shown: if it moved since (a second
    submit of the same form, a payment or refund in between), nothing is done
    (PriceChanged)."""
    now = now or timezone.now()
    owner_may_change_check(booking)
    currency = booking.currency
    owner_amount_check(amount, currency)
    note = owner_note_clean(note)
    with transaction.atomic():
        list(Payment.objects.select_for_update().filter(booking=booking).order_by("pk"))
        current = lock_one(Booking.objects.select_related("property"), pk=booking.pk)
        if current.is_block:
            raise InvalidTransition("A block has no payments to refund.")
        available = refundable(booking=current)
        if expected_refundable is not None and expected_refundable != available:
            raise PriceChanged(
                "What can be refunded changed since the page was opened "
                f"(now {format_money(available, currency)}). Check and confirm again."
            )
        if amount > available:
            raise InvalidAmount(
                f"At most {format_money(available, currency)} can be refunded.",
                fields={"amount": [f"at most {available}"]},
            )
        refund_ids = refunds_plan(
            booking=current, amount=amount, reason=Refund.Reason.OWNER, note=note
        )
        if current.status == Booking.Status.CONFIRMED:
            _price_lower_by_refund(current, amount=amount, note=note)
    refunds_execute(refund_ids=refund_ids)
    return list(Refund.objects.filter(pk__in=refund_ids).order_by("pk"))
