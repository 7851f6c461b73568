"""Writes of direct-booking payments: checkout, confirmation, release, refunds, extensions.

Where money and the calendar meet:

- A checkout first *holds* the nights (bookings.services.booking_hold), then asks the
  gateway for a hosted checkout. Nothing is charged before the nights are held.
- A success (Stripe's signed `checkout.session.completed`, or "Pay" on the fake
  checkout page) goes through one function, `_apply_success`. It maps the gateway's
  object to *our* Payment row and checks the business, booking reference, connected
  account, currency and amount against that row; a mismatch changes nothing. The
  payment row is locked, so a success is applied at most once.
- Confirming is conditional on the booking's current state (booking_confirm): a
  payment that arrives after its hold ran out still confirms when the nights are free;
  when someone else took them, or the booking was cancelled meanwhile, the whole
  payment is refunded automatically and the visitor is told. An overlapping stay is
  never confirmed: the exclusion constraint stays the authority.
- Gateway calls (HTTP) never run inside a database transaction: a refund is first
  recorded as a pending row, committed, then sent; its outcome updates the row.

Lock order, everywhere: payment rows (by pk), then their refunds, then (inside the
booking services) the property row, then the booking. Cancellation locks the booking's
payments first too, so a cancellation and a payment event cannot deadlock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from bookings import signals
from bookings.errors import (
    BeyondHorizon,
    InvalidDates,
    InvalidTransition,
    RuleViolation,
    StayUnavailable,
)
from bookings.models import Booking
from bookings.payment_models import Payment, Refund, StripeEvent
from bookings.payments.gateway import (
    CheckoutRequest,
    PaymentGateway,
    PaymentRefused,
    PaymentUnavailable,
    get_gateway,
)
from bookings.pricing import Quote, quote
from bookings.services import (
    _lock_property,
    _validate_range,
    booking_cancel_without_refund,
    booking_change_dates,
    booking_confirm,
    booking_hold,
    extension_holds_release,
    extension_nights_hold,
)
from properties.models import Property, User
from properties.money import format_money, from_minor_units, to_minor_units

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckoutStarted:
    booking: Booking
    payment: Payment | None
    redirect_url: str


@dataclass
class Outcome:
    """What a payment event did, in words for the event log and the visitor."""

    status: str  # "confirmed" | "extended" | "already" | "refunded" | "released" | "ignored"
    message: str
    payment: Payment | None = None
    refund_ids: list[int] = field(default_factory=list)


def _paths(origin: str, booking: Booking) -> tuple[str, str]:
    return (
        f"{origin}/trips/{booking.reference}/confirmation/",
        f"{origin}/trips/{booking.reference}/",
    )


def _open_checkout(
    *,
    gateway: PaymentGateway,
    payment: Payment,
    booking: Booking,
    description: str,
    site_origin: str,
) -> Payment:
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
    gateway: PaymentGateway | None = None,
    now: datetime | None = None,
) -> CheckoutStarted:
    """Hold the nights for the visitor, then open a checkout for the quoted total.

    Raises StayUnavailable (someone holds or booked the nights: "just taken"), a
    RuleViolation, or PaymentUnavailable (the hold is released again)."""
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
        now=now,
    )
    payment = Payment.objects.create(
        business=booking.business,
        booking=booking,
        kind=Payment.Kind.STAY,
        gateway=gateway.name,
        amount=booking.total,
        currency=booking.currency,
        amount_minor=to_minor_units(booking.total, booking.currency),
    )
    if payment.amount_minor == 0:
        outcome = payment_succeeded(payment=payment, now=now)
        return CheckoutStarted(booking, outcome.payment, _paths(site_origin, booking)[0])
    try:
        _open_checkout(
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


def _mismatch(
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


def _apply_success(
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
    """Runs inside the caller's transaction. Returns refunds to send once committed."""
    payment = (
        Payment.objects.select_for_update()
        .select_related("booking", "booking__property", "business")
        .get(pk=payment_id)
    )
    problem = _mismatch(
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
                refund = _refund_record(
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
        refund = _refund_record(
            payment=payment,
            amount=payment.amount,
            reason=Refund.Reason.DATES_TAKEN if taken else Refund.Reason.BOOKING_CLOSED,
            credit_booking=False,
        )
        return Outcome("refunded", payment.outcome, payment, [refund.pk])
    payment.save()
    return Outcome(status, payment.outcome, payment)


def _extension_is_stale(payment: Payment) -> bool:
    """Whether the stay no longer has the dates this extension was quoted from. Reads
    the booking under lock (property, then booking: the order of the booking
    services), so two extensions paid at once cannot both see the old dates."""
    if payment.from_check_in is None or payment.from_check_out is None:
        return False
    booking = payment.booking
    _lock_property(booking.property_id)
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
        outcome = _apply_success(
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


def _abandon(payment_id: int, status: str, now: datetime, reason: str = "") -> Outcome:
    payment = Payment.objects.select_for_update().select_related("booking").get(pk=payment_id)
    if payment.status != Payment.Status.PENDING:
        return Outcome("ignored", f"Payment is {payment.get_status_display().lower()}.", payment)
    payment.status = status
    payment.outcome = reason or (
        "Checkout expired." if status == Payment.Status.EXPIRED else "Payment declined."
    )
    payment.save()
    booking = payment.booking
    if payment.kind == Payment.Kind.STAY and booking.status == Booking.Status.HELD:
        booking_cancel_without_refund(booking=booking, reason=payment.outcome, now=now)
        return Outcome("released", payment.outcome + " The held nights were released.", payment)
    extension_holds_release(holds=list(payment.holds.all()))
    return Outcome("released", payment.outcome, payment)


def payment_abandon(
    *,
    payment: Payment,
    status: str = Payment.Status.FAILED,
    reason: str = "",
    now: datetime | None = None,
) -> Outcome:
    """Declined, expired or replaced checkout: release the hold (if it is still a hold).
    `reason` replaces the default outcome text."""
    now = now or timezone.now()
    with transaction.atomic():
        return _abandon(payment.pk, status, now, reason[:200])


# --- Refunds ---------------------------------------------------------------------------

# Refunds made without anyone asking (a payment that could not be applied): the
# visitor is told by email and on the trip page.
AUTOMATIC_REFUND_REASONS = (
    Refund.Reason.DATES_TAKEN,
    Refund.Reason.BOOKING_CLOSED,
    Refund.Reason.DATES_CHANGED,
)


def _refund_record(
    *,
    payment: Payment,
    amount: Decimal,
    reason: str,
    status: str = Refund.Status.PENDING,
    credit_booking: bool = True,
) -> Refund:
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


# A refund the gateway could not take (timeout, network, provider error) stays pending
# and is sent again, with the same idempotency key, by bookings.refunds_retry.
REFUND_MAX_ATTEMPTS = 8
REFUND_RETRY_AFTER = timedelta(minutes=5)


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
            _refund_record(payment=payment, amount=share, reason=Refund.Reason.CANCELLATION).pk
        )
        remaining -= share
    return ids


def booking_cancel_and_refund(
    *,
    booking: Booking,
    by_owner: bool = False,
    reason: str = "Cancelled by the guest",
    now: datetime | None = None,
) -> tuple[Booking, Decimal]:
    """Cancel a stay and pay back what it implies: under the property's policy (the
    visitor on My trips, the owner API), or in full when the owner cancels in the admin.
    The refund is recorded in the cancelling transaction, then sent through the gateway."""
    now = now or timezone.now()
    with transaction.atomic():
        # Lock order as everywhere in payments: payment rows (by pk) first, then the
        # property and the booking (booking_cancel_without_refund). A payment event running at the
        # same time waits here instead of deadlocking.
        list(Payment.objects.select_for_update().filter(booking=booking).order_by("pk"))
        cancelled, amount = booking_cancel_without_refund(
            booking=booking, by_owner=by_owner, reason=reason, now=now
        )
        refund_ids = _plan_cancellation_refunds(cancelled, amount) if amount > 0 else []
        # Checkouts still open for this booking are void; should one be paid anyway,
        # `_apply_success` refunds it (the booking is cancelled).
        Payment.objects.filter(booking=cancelled, status=Payment.Status.PENDING).update(
            status=Payment.Status.FAILED, outcome="The booking was cancelled.", updated_at=now
        )
    refunds_execute(refund_ids=refund_ids)
    cancelled.refresh_from_db()
    return cancelled, amount


# --- Extending a stay ------------------------------------------------------------------


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
    try:
        _validate_range(check_in, check_out)
    except InvalidDates as exc:
        raise InvalidDates(exc.message, fields={"check_out": ["too far"]}) from exc
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


# Outcome of an extension checkout superseded by a newer one for the same stay: if it
# is paid anyway, it is refunded (only the newest extension stands).
REPLACED_EXTENSION = "Replaced by a newer extension."


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
    dates change when the payment succeeds (atomically, in `_apply_success`). Should
    the holds run out and someone book those nights first, the payment is refunded
    and the stay keeps its dates."""
    now = now or timezone.now()
    gateway = gateway or get_gateway()
    ext = extension_quote(booking=booking, check_in=check_in, check_out=check_out, now=now)
    if ext.difference <= 0:
        changed, _ = booking_change_dates(
            booking=booking, check_in=check_in, check_out=check_out, now=now
        )
        return CheckoutStarted(changed, None, f"{site_origin}/trips/{booking.reference}/")
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
        payment = Payment.objects.create(
            business=booking.business,
            booking=booking,
            kind=Payment.Kind.EXTENSION,
            gateway=gateway.name,
            amount=ext.difference,
            currency=booking.currency,
            amount_minor=to_minor_units(ext.difference, booking.currency),
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
        _open_checkout(
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


# --- Stripe webhook events -------------------------------------------------------------

HANDLED_EVENT_TYPES = frozenset(
    {"checkout.session.completed", "checkout.session.expired", "charge.refunded"}
)


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
    return _session_completed(session, payment.connected_account, now or timezone.now())


def _session_completed(obj: dict[str, Any], account: str, now: datetime) -> Outcome:
    payment = _stripe_payment(obj.get("id"))
    if payment is None:
        return Outcome("ignored", "Unknown checkout session.")
    if obj.get("payment_status") not in ("paid", "no_payment_required"):
        return Outcome("ignored", "Checkout completed but not paid yet.", payment)
    metadata = obj.get("metadata") or {}
    return _apply_success(
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
    problem = _mismatch(
        payment,
        business_id=metadata.get("business_id"),
        booking_reference=metadata.get("booking_reference"),
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        account=account,
    )
    if problem:
        return Outcome("ignored", f"Not applied: {problem}.", payment)
    return _abandon(payment.pk, Payment.Status.EXPIRED, now)


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
        _refund_record(
            payment=payment,
            amount=extra,
            reason=Refund.Reason.AT_GATEWAY,
            status=Refund.Status.SUCCEEDED,
            credit_booking=payment.booking.amount_paid > 0,
        )
        return Outcome("processed", f"Recorded a refund of {extra} made at the gateway.", payment)
    return Outcome("processed", "Refunds up to date.", payment)


_HANDLERS = {
    "checkout.session.completed": _session_completed,
    "checkout.session.expired": _session_expired,
    "charge.refunded": _charge_refunded,
}


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
