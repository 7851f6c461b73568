"""Holidesk's subscription of each business: Stripe Billing on the platform account.

- `billing_checkout_start`: the owner picks a plan; a Stripe customer is made for the
  business (once) and Stripe Checkout in subscription mode collects the card, billing
  one unit per property, with a trial the first time.
- `billing_portal_open`: Stripe's customer portal (card, invoices, cancel).
- `subscription_event_apply`, `invoice_event_apply`: Stripe's events, the only writer of
  the subscription's state. Each maps the event's customer to *our* row (an unknown
  customer changes nothing) and an event older than the last one applied is ignored.
- `billing_standing` (a read): whether the business takes bookings. A failed payment
  starts a grace period of BILLING_GRACE_DAYS; after it the site says so and refuses
  new bookings (`billing_ensure_taking_bookings`, called by every door that starts a
  sale), and the owner is told (`billing_grace_sweep`, periodic, once per lapse).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bookings.errors import BookingError
from bookings.payments.gateway import PaymentUnavailable
from bookings.payments.models import Subscription
from bookings.payments.platform import StripePlatform
from bookings.payments.services.connect import _platform
from bookings.payments.signals import billing_notice
from properties.db import after_commit, lock_one
from properties.models import Business, Property, User
from properties.permissions import MANAGE_PAYOUTS, require

S = Subscription.Status
# Paid up, or trying Holidesk out.
IN_GOOD_STANDING = frozenset({S.TRIALING, S.ACTIVE})
# Payment trouble, or no subscription any more: the grace clock runs.
LAPSED = frozenset({S.PAST_DUE, S.UNPAID, S.CANCELED, S.INCOMPLETE_EXPIRED, S.PAUSED})


class BillingError(BookingError):
    code = "billing_error"


class BookingsPaused(BookingError):
    """The business's Holidesk subscription lapsed beyond its grace period."""

    code = "bookings_paused"
    http_status = 403


def billing_plans() -> tuple[dict[str, str], ...]:
    return tuple(settings.BILLING_PLANS)


def billing_enabled() -> bool:
    return bool(settings.BILLING_PLANS)


def plan_for(key: str) -> dict[str, str] | None:
    return next((plan for plan in billing_plans() if plan["key"] == key), None)


def plan_for_price(price_id: str) -> dict[str, str] | None:
    return next((plan for plan in billing_plans() if plan["price"] == price_id), None)


# --- Standing (reads) -----------------------------------------------------------------------


@dataclass(frozen=True)
class Standing:
    # "none" (never subscribed), "ok", "grace", "paused"
    state: str
    subscription: Subscription | None
    grace_ends: datetime | None = None

    @property
    def takes_bookings(self) -> bool:
        return self.state != "paused"


def standing_of(subscription: Subscription | None, now: datetime) -> Standing:
    # Billing starts with the first checkout: a business that never subscribed is not
    # restricted (a lapsed one is, below, whatever happens to the row later).
    if subscription is None:
        return Standing("none", None)
    if subscription.lapsed_at is None and subscription.status in (S.NONE, S.INCOMPLETE):
        return Standing("none", subscription)
    if subscription.lapsed_at is None:
        return Standing("ok", subscription)
    grace_ends = subscription.lapsed_at + timedelta(days=settings.BILLING_GRACE_DAYS)
    return Standing("grace" if now < grace_ends else "paused", subscription, grace_ends)


def billing_standing(*, business: Business, now: datetime | None = None) -> Standing:
    subscription = Subscription.objects.filter(business=business).first()
    return standing_of(subscription, now or timezone.now())


def billing_ensure_taking_bookings(*, business: Business, now: datetime | None = None) -> None:
    """The one rule for every door that starts a sale (checkout, extension): a business
    whose subscription lapsed beyond the grace period takes no new bookings."""
    if not billing_standing(business=business, now=now).takes_bookings:
        raise BookingsPaused(
            f"{business.name} is not taking online bookings at the moment. "
            f"Please contact them at {business.contact_email}."
        )


# --- The owner's actions -----------------------------------------------------------------------


def _row(business: Business) -> Subscription:
    row, _ = Subscription.objects.get_or_create(business=business)
    return row


def billing_checkout_start(
    *,
    business: Business,
    user: User,
    plan_key: str,
    success_url: str,
    cancel_url: str,
    platform: StripePlatform | None = None,
) -> str:
    """Stripe Checkout (subscription mode) for this plan: one unit per property, a
    trial the first time. Returns the URL to send the owner to."""
    require(user, MANAGE_PAYOUTS, business=business)
    plan = plan_for(plan_key)
    if plan is None:
        raise BillingError("Please choose one of the plans shown.")
    platform = _platform(platform)
    row = _row(business)
    if row.status in IN_GOOD_STANDING or row.status == S.PAST_DUE:
        raise BillingError(
            "This business already has a subscription: change it in the billing portal."
        )
    if not row.customer_id:
        # Idempotent per business: a retry or a double click gets the same customer.
        customer_id = platform.customer_create(
            business_id=business.pk, name=business.name, email=user.email
        )
        with transaction.atomic():
            row = lock_one(Subscription.objects.all(), pk=row.pk)
            if not row.customer_id:
                row.customer_id = customer_id
                row.save(update_fields=["customer_id", "updated_at"])
    quantity = max(1, Property.objects.for_business(business).count())
    return platform.subscription_checkout(
        business_id=business.pk,
        customer_id=row.customer_id,
        price_id=plan["price"],
        quantity=quantity,
        trial_days=0 if row.trial_used else settings.BILLING_TRIAL_DAYS,
        success_url=success_url,
        cancel_url=cancel_url,
    )


def billing_portal_open(
    *, business: Business, user: User, return_url: str, platform: StripePlatform | None = None
) -> str:
    require(user, MANAGE_PAYOUTS, business=business)
    row = Subscription.objects.filter(business=business).exclude(customer_id="").first()
    if row is None:
        raise BillingError("Choose a plan first: the billing portal opens once you subscribe.")
    return _platform(platform).portal_session(customer_id=row.customer_id, return_url=return_url)


# --- Stripe's events -----------------------------------------------------------------------


@dataclass(frozen=True)
class BillingOutcome:
    status: str  # "processed" | "ignored"
    message: str
    business_id: int | None = None


def _moment(value: Any) -> datetime | None:
    if isinstance(value, int) and value > 0:
        return datetime.fromtimestamp(value, tz=UTC)
    return None


def _locked_row(customer: Any, metadata: dict[str, Any]) -> Subscription | None:
    if not isinstance(customer, str) or not customer:
        return None
    row = (
        Subscription.objects.select_for_update(of=("self",))
        .filter(customer_id=customer)
        .select_related("business")
        .first()
    )
    # Metadata is a cross-check, never the key: it must not name another business.
    named = metadata.get("business_id") if isinstance(metadata, dict) else None
    if row is not None and named not in (None, "", str(row.business_id)):
        return None
    return row


def _notice(business_id: int, stage: str, key: str, grace_ends: datetime) -> Callable[[], Any]:
    def send() -> Any:
        return billing_notice.send(
            sender=Subscription,
            business_id=business_id,
            stage=stage,
            key=key,
            grace_ends=grace_ends,
        )

    return send


def _lapse(row: Subscription, now: datetime, stage: str) -> None:
    if row.lapsed_at is None:
        row.lapsed_at = now
        row.paused_notice_at = None
        grace_ends = now + timedelta(days=settings.BILLING_GRACE_DAYS)
        business_id, key = row.business_id, f"billing:{row.pk}:{int(now.timestamp())}"
        after_commit(_notice(business_id, stage, key, grace_ends), what="billing notice")


def _recover(row: Subscription) -> None:
    row.lapsed_at = None
    row.paused_notice_at = None


def subscription_event_apply(
    *, obj: dict[str, Any], event_type: str, created: Any, now: datetime | None = None
) -> BillingOutcome:
    """customer.subscription.created / updated / deleted. Call inside the event's
    transaction."""
    now = now or timezone.now()
    row = _locked_row(obj.get("customer"), obj.get("metadata") or {})
    if row is None:
        return BillingOutcome("ignored", "Unknown customer.")
    subscription_id = obj.get("id")
    if not isinstance(subscription_id, str) or not subscription_id.startswith("sub_"):
        return BillingOutcome("ignored", "Not a subscription.", row.business_id)
    # A newer subscription may replace an ended one; events of the old one are history.
    if (
        row.subscription_id
        and row.subscription_id != subscription_id
        and (row.status not in LAPSED or event_type == "customer.subscription.deleted")
    ):
        return BillingOutcome("ignored", "Another subscription.", row.business_id)
    when = _moment(created)
    if when and row.event_created_at and when < row.event_created_at:
        return BillingOutcome("ignored", "Older than the state applied.", row.business_id)
    status = "canceled" if event_type == "customer.subscription.deleted" else obj.get("status")
    if status not in S.values:
        return BillingOutcome("ignored", f"Unknown status {status!r}.", row.business_id)
    items = ((obj.get("items") or {}).get("data")) or []
    first = items[0] if items and isinstance(items[0], dict) else {}
    price_id = str((first.get("price") or {}).get("id") or "")
    plan = plan_for_price(price_id)
    row.subscription_id = subscription_id
    row.item_id = str(first.get("id") or "")[:64]
    row.status = status
    row.price_id = price_id[:64]
    row.plan = plan["key"] if plan else ""
    quantity = first.get("quantity") or obj.get("quantity")
    row.quantity = quantity if isinstance(quantity, int) and quantity >= 0 else row.quantity
    row.trial_end = _moment(obj.get("trial_end"))
    row.trial_used = row.trial_used or row.trial_end is not None or status in IN_GOOD_STANDING
    row.current_period_end = _moment(
        obj.get("current_period_end") or first.get("current_period_end")
    )
    row.cancel_at_period_end = bool(obj.get("cancel_at_period_end"))
    row.event_created_at = when or row.event_created_at
    if status in IN_GOOD_STANDING:
        _recover(row)
    elif status in LAPSED:
        _lapse(row, now, "ended" if status == S.CANCELED else "payment_failed")
    row.save()
    return BillingOutcome("processed", f"Subscription {status}.", row.business_id)


def invoice_event_apply(
    *, obj: dict[str, Any], event_type: str, now: datetime | None = None
) -> BillingOutcome:
    """invoice.paid / invoice.payment_failed of the business's subscription."""
    now = now or timezone.now()
    row = _locked_row(obj.get("customer"), {})
    if row is None:
        return BillingOutcome("ignored", "Unknown customer.")
    if event_type == "invoice.paid":
        if row.status in (S.PAST_DUE, S.UNPAID):
            row.status = S.ACTIVE
        _recover(row)
        row.save()
        return BillingOutcome("processed", "Invoice paid.", row.business_id)
    if row.status in IN_GOOD_STANDING:
        row.status = S.PAST_DUE
    _lapse(row, now, "payment_failed")
    row.save()
    return BillingOutcome("processed", "Invoice payment failed.", row.business_id)


def billing_grace_sweep(*, now: datetime | None = None) -> int:
    """Tell the owners whose grace period ended that their site stopped taking
    bookings (once per lapse). Returns how many were told."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.BILLING_GRACE_DAYS)
    told = 0
    with transaction.atomic():
        rows = list(
            Subscription.objects.select_for_update(skip_locked=True)
            .filter(lapsed_at__lte=cutoff, paused_notice_at__isnull=True)
            .order_by("pk")[:500]
        )
        for row in rows:
            row.paused_notice_at = now
            row.save(update_fields=["paused_notice_at", "updated_at"])
            lapsed_at = row.lapsed_at
            assert lapsed_at is not None
            business_id = row.business_id
            key = f"billing:{row.pk}:{int(lapsed_at.timestamp())}"
            grace_ends = lapsed_at + timedelta(days=settings.BILLING_GRACE_DAYS)
            after_commit(_notice(business_id, "paused", key, grace_ends), what="billing notice")
            told += 1
    return told


def billing_quantities_sync(
    *, platform: StripePlatform | None = None, now: datetime | None = None
) -> int:
    """Bill each subscribed business for the properties it has now: where Stripe's
    quantity differs from the property count, ask Stripe to change it (prorated). Our
    row changes only when Stripe's `customer.subscription.updated` says so, so a failed
    call is simply tried again on the next run. Returns how many were changed."""
    from django.db.models import Count, F

    if not billing_enabled():
        return 0
    now = now or timezone.now()
    rows = list(
        Subscription.objects.filter(status__in=list(IN_GOOD_STANDING | {S.PAST_DUE}))
        .exclude(item_id="")
        .annotate(properties=Count("business__properties"))
        .exclude(quantity=F("properties"))
        .filter(properties__gt=0)
        .order_by("pk")[:200]
    )
    if not rows:
        return 0
    platform = _platform(platform)
    changed = 0
    for row in rows:
        quantity = row.properties
        try:
            platform.subscription_quantity(
                item_id=row.item_id,
                quantity=quantity,
                idempotency_key=f"holidesk-quantity-{row.item_id}-{quantity}-{now:%Y%m%d}",
            )
        except PaymentUnavailable:
            continue
        changed += 1
    return changed
