"""Stripe Connect onboarding of a business from the dashboard.

The owner asks for an onboarding link; the first time, a connected account is created
on Stripe (idempotency key per business) and recorded as the business's `StripeAccount`
with charges off. Stripe's hosted onboarding sends the owner back to the dashboard,
where the account is read back; `account.updated` webhooks keep it current. Charges
turn on only when Stripe says so: nobody can point a business's money elsewhere, since
the account id comes from Stripe's answer to our own call, never from a form.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bookings.payments.gateway import PaymentUnavailable
from bookings.payments.models import StripeAccount
from bookings.payments.platform import StripePlatform, platform_ready, stripe_platform
from properties.db import lock_one
from properties.models import Business, User
from properties.permissions import MANAGE_PAYOUTS, require


def _platform(platform: StripePlatform | None) -> StripePlatform:
    if platform is None and not platform_ready():
        raise PaymentUnavailable("Stripe is not configured on this Holidesk installation.")
    return platform or stripe_platform()


def stripe_onboarding_start(
    *,
    business: Business,
    user: User,
    return_url: str,
    refresh_url: str,
    platform: StripePlatform | None = None,
) -> str:
    """The URL of Stripe's hosted onboarding for this business (a new account the
    first time, the same account after that)."""
    require(user, MANAGE_PAYOUTS, business=business)
    platform = _platform(platform)
    account = StripeAccount.objects.filter(business=business).first()
    if account is None:
        # Outside any transaction (no row lock held across a network call). Two clicks
        # at once send the same idempotency key, so Stripe answers both with one
        # account; the business row's lock then lets one of them record it.
        created = platform.account_create(
            business_id=business.pk,
            name=business.name,
            email=business.contact_email,
            account_type=settings.STRIPE_CONNECT_ACCOUNT_TYPE,
        )
        with transaction.atomic():
            lock_one(Business.objects.all(), pk=business.pk)
            account = StripeAccount.objects.filter(business=business).first()
            if account is None:
                account = StripeAccount(
                    business=business,
                    account_id=str(created["id"]),
                    charges_enabled=False,
                    account_type=settings.STRIPE_CONNECT_ACCOUNT_TYPE,
                )
                _apply(account, created, timezone.now())
                account.save()
    return platform.account_link(
        account_id=account.account_id, refresh_url=refresh_url, return_url=return_url
    )


def _apply(account: StripeAccount, obj: dict[str, Any], now: datetime) -> None:
    requirements = obj.get("requirements") or {}
    due = list(requirements.get("past_due") or []) + [
        item
        for item in requirements.get("currently_due") or []
        if item not in (requirements.get("past_due") or [])
    ]
    account.charges_enabled = bool(obj.get("charges_enabled"))
    account.payouts_enabled = bool(obj.get("payouts_enabled"))
    account.details_submitted = bool(obj.get("details_submitted"))
    account.requirements_due = [str(item)[:100] for item in due][:50]
    account.disabled_reason = str(requirements.get("disabled_reason") or "")[:100]
    if obj.get("type"):
        account.account_type = str(obj["type"])[:10]
    account.status_checked_at = now


def stripe_account_apply(
    *, account_id: str, obj: dict[str, Any], now: datetime | None = None
) -> StripeAccount | None:
    """Record what Stripe says about a connected account we know (the webhook's
    `account.updated`, or a read-back). An unknown account changes nothing."""
    if not account_id or obj.get("id") != account_id:
        return None
    with transaction.atomic():
        account = (
            StripeAccount.objects.select_for_update(of=("self",))
            .filter(account_id=account_id)
            .first()
        )
        if account is None:
            return None
        _apply(account, obj, now or timezone.now())
        account.save()
    return account


def stripe_account_refresh(
    *, business: Business, platform: StripePlatform | None = None
) -> StripeAccount | None:
    """Read the business's account back from Stripe (the owner is back from
    onboarding; the webhook may not have arrived yet)."""
    account = StripeAccount.objects.filter(business=business).first()
    if account is None:
        return None
    obj = _platform(platform).account_retrieve(account.account_id)
    return stripe_account_apply(account_id=account.account_id, obj=obj) or account
