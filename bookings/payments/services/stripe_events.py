"""Stripe's word on a payment: verified webhook events, and a checkout session read back.

Each event id is inserted into `StripeEvent` (UNIQUE) in the transaction that acts on
the event, so a redelivery, or a concurrent duplicate waiting on the unique index,
changes nothing. Only allow-listed types are acted on. Nothing in a payload is trusted
for tenant or amount: the session or payment intent is mapped to *our* Payment row,
and the success goes through `checkout.payment_apply`, which checks the business,
booking, connected account, currency and amount against that row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from bookings.payments.gateway import PaymentGateway, get_gateway
from bookings.payments.models import Payment, Refund, StripeEvent
from bookings.payments.services.billing import (
    BillingOutcome,
    invoice_event_apply,
    subscription_event_apply,
)
from bookings.payments.services.checkout import (
    Outcome,
    payment_abandon,
    payment_apply,
    payment_mismatch,
)
from bookings.payments.services.connect import stripe_account_apply
from bookings.payments.services.refunds import refund_record, refunds_execute
from properties.money import from_minor_units

HANDLED_EVENT_TYPES = frozenset(
    {"checkout.session.completed", "checkout.session.expired", "charge.refunded"}
)
# Events about the platform's own customers (Holidesk's subscription of a business):
# they never carry a connected `account`. A connected account's own billing events (a
# business billing its own customers) reach the Connect endpoint with `account` set and
# are ignored.
SUBSCRIPTION_EVENT_TYPES = frozenset(
    {
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
    }
)
INVOICE_EVENT_TYPES = frozenset({"invoice.paid", "invoice.payment_failed"})


@dataclass(frozen=True)
class EventResult:
    status: str  # "processed" | "duplicate" | "ignored"
    outcome: str


def _stripe_payment(session_id: Any) -> Payment | None:
    if not isinstance(session_id, str) or not session_id:
        return None
    return (
        Payment.objects.filter(gateway="stripe", checkout_id=session_id)
        .select_related("booking")
        .first()
    )


def payment_sync(
    *, payment: Payment, gateway: PaymentGateway | None = None, now: datetime | None = None
) -> Outcome | None:
    """A visitor is back from the provider's checkout page: if the provider already
    reports the checkout paid, apply it now, through the same checks as its webhook
    (the webhook, when it arrives, finds the payment applied and changes nothing)."""
    if payment.status != Payment.Status.PENDING or not payment.checkout_id:
        return None
    gateway = gateway or get_gateway(payment.gateway)
    session = gateway.checkout_session(
        business=payment.business,
        checkout_id=payment.checkout_id,
        connected_account=payment.connected_account,
    )
    if not session or session.get("status") != "complete":
        return None
    with transaction.atomic():
        outcome = _session_completed(session, payment.connected_account, now or timezone.now())
    refunds_execute(refund_ids=outcome.refund_ids)
    return outcome


def _session_completed(obj: dict[str, Any], account: str, now: datetime) -> Outcome:
    payment = _stripe_payment(obj.get("id"))
    if payment is None:
        return Outcome("ignored", "Unknown checkout session.")
    if obj.get("payment_status") not in ("paid", "no_payment_required"):
        return Outcome("ignored", "Checkout completed but not paid yet.", payment)
    metadata = obj.get("metadata") or {}
    return payment_apply(
        payment_id=payment.pk,
        business_id=metadata.get("business_id"),
        booking_reference=metadata.get("booking_reference"),
        amount_minor=obj.get("amount_total"),
        currency=obj.get("currency"),
        payment_intent_id=obj.get("payment_intent") or "",
        account=account,
        now=now,
    )


def _session_expired(obj: dict[str, Any], account: str, now: datetime) -> Outcome:
    payment = _stripe_payment(obj.get("id"))
    if payment is None:
        return Outcome("ignored", "Unknown checkout session.")
    metadata = obj.get("metadata") or {}
    problem = payment_mismatch(
        payment,
        business_id=metadata.get("business_id"),
        booking_reference=metadata.get("booking_reference"),
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        account=account,
    )
    if problem:
        return Outcome("ignored", f"Not applied: {problem}.", payment)
    return payment_abandon(payment=payment, status=Payment.Status.EXPIRED, now=now)


def _charge_refunded(obj: dict[str, Any], account: str, now: datetime) -> Outcome:
    """Record what the gateway says was refunded (including refunds made in Stripe's
    dashboard). Our pending refunds on that payment are settled; any amount beyond
    them is recorded as a refund made at the gateway."""
    intent = obj.get("payment_intent")
    if not isinstance(intent, str) or not intent:
        return Outcome("ignored", "Charge without a payment intent.")
    payment = (
        Payment.objects.select_for_update()
        .filter(gateway="stripe", payment_intent_id=intent)
        .select_related("booking")
        .first()
    )
    if payment is None:
        return Outcome("ignored", "Unknown payment.")
    if payment.connected_account and account != payment.connected_account:
        return Outcome("ignored", "Not applied: account is not the business's account.", payment)
    currency = obj.get("currency")
    refunded_minor = obj.get("amount_refunded")
    if (
        not isinstance(currency, str)
        or currency.upper() != payment.currency.upper()
        or not isinstance(refunded_minor, int)
        or not 0 <= refunded_minor <= payment.amount_minor
    ):
        return Outcome("ignored", "Not applied: refund amount or currency is off.", payment)
    refunds = list(payment.refunds.select_for_update().exclude(status=Refund.Status.FAILED))
    for refund in refunds:
        if refund.status == Refund.Status.PENDING and refund.gateway_refund_id:
            refund.status = Refund.Status.SUCCEEDED
            refund.save(update_fields=["status", "updated_at"])
    ours = sum((r.amount for r in refunds), Decimal(0))
    extra = from_minor_units(refunded_minor, payment.currency) - ours
    if extra > 0:
        refund_record(
            payment=payment,
            amount=extra,
            reason=Refund.Reason.AT_GATEWAY,
            status=Refund.Status.SUCCEEDED,
            credit_booking=payment.booking.amount_paid > 0,
        )
        return Outcome("processed", f"Recorded a refund of {extra} made at the gateway.", payment)
    return Outcome("processed", "Refunds up to date.", payment)


_HANDLERS: dict[str, Callable[[dict[str, Any], str, datetime], Outcome]] = {
    "checkout.session.completed": _session_completed,
    "checkout.session.expired": _session_expired,
    "charge.refunded": _charge_refunded,
}


def _is_platform_event(event_type: str) -> bool:
    return (
        event_type == "account.updated"
        or event_type in SUBSCRIPTION_EVENT_TYPES
        or event_type in INVOICE_EVENT_TYPES
    )


def _platform_event(
    event_type: str, obj: dict[str, Any], account: str, created: Any, now: datetime
) -> BillingOutcome:
    if event_type == "account.updated":
        # Only the account's own event counts: a Connect event names the account it is
        # about in `account`, and it must be the object itself.
        updated = stripe_account_apply(account_id=account, obj=obj, now=now)
        if updated is None:
            return BillingOutcome("ignored", "Unknown connected account.")
        return BillingOutcome("processed", "Account status recorded.", updated.business_id)
    if account:
        return BillingOutcome("ignored", "A connected account's own billing event.")
    if event_type in SUBSCRIPTION_EVENT_TYPES:
        return subscription_event_apply(obj=obj, event_type=event_type, created=created, now=now)
    return invoice_event_apply(obj=obj, event_type=event_type, now=now)


def stripe_event_handle(*, event: dict[str, Any], now: datetime | None = None) -> EventResult:
    """Act on one verified Stripe event, exactly once per event id."""
    now = now or timezone.now()
    event_id = str(event.get("id") or "")
    event_type = str(event.get("type") or "")
    account = str(event.get("account") or "")
    with transaction.atomic():
        try:
            with transaction.atomic():
                row = StripeEvent.objects.create(
                    event_id=event_id, type=event_type[:100], account=account[:64]
                )
        except IntegrityError:
            return EventResult("duplicate", "Event already received.")
        handler = _HANDLERS.get(event_type)
        obj = (event.get("data") or {}).get("object")
        if isinstance(obj, dict) and _is_platform_event(event_type):
            result = _platform_event(event_type, obj, account, event.get("created"), now)
            row.outcome = f"{result.status}: {result.message}"[:300]
            row.business_id = result.business_id
            row.save(update_fields=["outcome", "business"])
            return EventResult(result.status, row.outcome)
        if handler is None or not isinstance(obj, dict):
            row.outcome = "Ignored: event type not handled."
            row.save(update_fields=["outcome"])
            return EventResult("ignored", row.outcome)
        outcome = handler(obj, account, now)
        row.outcome = f"{outcome.status}: {outcome.message}"[:300]
        if outcome.payment is not None:
            row.business_id = outcome.payment.business_id
        row.save(update_fields=["outcome", "business"])
    refunds_execute(refund_ids=outcome.refund_ids)
    return EventResult("ignored" if outcome.status == "ignored" else "processed", row.outcome)
