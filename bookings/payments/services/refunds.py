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
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from bookings import signals
from bookings.errors import InvalidTransition
from bookings.models import Booking
from bookings.payments.gateway import (
    PaymentGateway,
    PaymentRefused,
    PaymentUnavailable,
    get_gateway,
)
from bookings.payments.models import Payment, Refund
from bookings.services.cancellation import booking_cancel_without_refund
from properties.db import lock_one
from properties.models import Property
from properties.money import format_money, to_minor_units

logger = logging.getLogger(__name__)

# Refunds made without anyone asking (a payment that could not be applied): the
# visitor is told by email and on the trip page.
AUTOMATIC_REFUND_REASONS = (
    Refund.Reason.DATES_TAKEN,
    Refund.Reason.BOOKING_CLOSED,
    Refund.Reason.DATES_CHANGED,
)

REFUND_MAX_ATTEMPTS = 8
REFUND_RETRY_AFTER = timedelta(minutes=5)


def refund_record(
    *,
    payment: Payment,
    amount: Decimal,
    reason: str,
    status: str = Refund.Status.PENDING,
    credit_booking: bool = True,
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
        attempted_at = now or timezone.now()
        Refund.objects.filter(pk=refund.pk).update(
            attempts=F("attempts") + 1, last_attempt_at=attempted_at
        )
        refund.refresh_from_db(fields=["attempts", "last_attempt_at"])
        try:
            result = (gateway or get_gateway(payment.gateway)).refund(
                business=refund.business,
                payment_intent_id=payment.payment_intent_id,
                connected_account=payment.connected_account,
                amount_minor=to_minor_units(refund.amount, refund.currency),
                idempotency_key=f"holidesk-refund-{refund.pk}",
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
        if updated and refund.reason in (Refund.Reason.CANCELLATION, Refund.Reason.AT_GATEWAY):
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


def _plan_cancellation_refunds(booking: Booking, amount: Decimal) -> list[int]:
    """Spread a refund over the booking's paid payments, newest first."""
    ids = []
    remaining = amount
    paid = (
        Payment.objects.filter(booking=booking, status=Payment.Status.SUCCEEDED)
        .prefetch_related("refunds")  # Payment.refunded, per payment
        .order_by("-paid_at", "-pk")
    )
    for payment in paid:
        if remaining <= 0:
            break
        share = min(remaining, payment.amount - payment.refunded)
        if share <= 0:
            continue
        ids.append(
            refund_record(payment=payment, amount=share, reason=Refund.Reason.CANCELLATION).pk
        )
        remaining -= share
    return ids


def _has_ended(booking: Booking, now: datetime) -> bool:
    """Whether the stay's check-out day has come where the property is."""
    return bool(booking.check_out <= now.astimezone(booking.property.tz).date())


def booking_cancel_and_refund(
    *,
    booking: Booking,
    by_owner: bool = False,
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
    partner's booking replaced)."""
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
        refund_ids = _plan_cancellation_refunds(cancelled, amount) if amount > 0 else []
        # Checkouts still open for this booking are void; should one be paid anyway,
        # `payment_apply` refunds it (the booking is cancelled).
        Payment.objects.filter(booking=cancelled, status=Payment.Status.PENDING).update(
            status=Payment.Status.FAILED, outcome="The booking was cancelled.", updated_at=now
        )
    refunds_execute(refund_ids=refund_ids)
    cancelled.refresh_from_db()
    return cancelled, amount
