"""Writes for tenancy and properties. Keyword-only, one transaction each."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from properties.models import ApiToken, Business, Membership, User


@transaction.atomic
def business_create(
    *,
    owner: User,
    name: str,
    slug: str,
    contact_email: str,
    timezone_name: str = "Europe/London",
    currency: str = "EUR",
) -> Business:
    """Create a business and make `owner` its owner. Validates like a form would."""
    business = Business(
        name=name,
        slug=slug,
        contact_email=contact_email,
        timezone=timezone_name,
        currency=currency,
    )
    business.full_clean()
    business.save()
    Membership.objects.create(user=owner, business=business, role=Membership.Role.OWNER)
    if not owner.is_staff:
        # The Django admin is the owners' workplace; is_staff only opens its door,
        # what they may see there comes from their membership (properties.admin).
        owner.is_staff = True
        owner.save(update_fields=["is_staff"])
    return business


def api_token_create(
    *, business: Business, user: User, name: str = "API token", raw_key: str | None = None
) -> tuple[ApiToken, str]:
    """Create a token; returns it with the raw key, which is never stored."""
    raw = raw_key or ApiToken.new_key()
    token = ApiToken.objects.create(
        business=business,
        user=user,
        name=name,
        key_hash=ApiToken.hash_key(raw),
        key_hint=raw[:10],
    )
    return token, raw


def api_token_revoke(*, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token
