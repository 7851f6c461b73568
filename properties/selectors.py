"""Reads for tenancy and properties. Every tenant-owned read takes `business=` first."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.postgres.aggregates import ArrayAgg
from django.core.cache import cache
from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from properties.models import Business, Membership, Property, PropertyGroup, ReleasedSlug, User
from properties.photos.selectors import prefetch_public_photos

HOST_CACHE_SECONDS = 60
_MISSING = 0  # cached marker for "no such business", so unknown hosts do not hit the DB


def _host_cache_key(kind: str, value: str) -> str:
    return f"business-host:{kind}:{value}"


def business_for_slug_or_domain(
    *, slug: str | None = None, domain: str | None = None
) -> Business | None:
    """The business behind a subdomain slug or a verified custom domain, cached briefly.
    An unverified custom domain belongs to nobody (properties.services.domains)."""
    lookup: dict[str, object]
    if slug is not None:
        key, lookup = _host_cache_key("slug", slug), {"slug": slug}
    elif domain is not None:
        key = _host_cache_key("domain", domain)
        lookup = {"custom_domain": domain, "domain_verified_at__isnull": False}
    else:
        return None
    cached = cache.get(key)
    if cached == _MISSING:
        return None
    if cached is not None:
        # Re-check the natural key: a cached id must never route to another business.
        hit = Business.objects.filter(pk=cached, **lookup).first()
        if hit is not None:
            return hit
    business = Business.objects.filter(**lookup).first()
    cache.set(key, business.pk if business else _MISSING, HOST_CACHE_SECONDS)
    return business


def forget_business_hosts(
    *, business: Business, old_slug: str | None, old_domain: str | None
) -> None:
    keys = [_host_cache_key("slug", business.slug)]
    if business.custom_domain:
        keys.append(_host_cache_key("domain", business.custom_domain))
    if old_slug:
        keys.append(_host_cache_key("slug", old_slug))
    if old_domain:
        keys.append(_host_cache_key("domain", old_domain))
    cache.delete_many(keys)


def slug_unavailable_reason(*, slug: str, business: Business | None = None) -> str | None:
    """Why `slug` cannot be `business`'s (a new one's, if None) address, or None.

    Taken by another business, or given up by another business less than
    HOLIDESK_SLUG_QUARANTINE_DAYS ago: old links and emails still point there, and a
    newcomer must not receive that business's visitors.
    """
    others = Business.objects.filter(slug=slug)
    if business is not None and business.pk is not None:
        others = others.exclude(pk=business.pk)
    if others.exists():
        return "That address is taken; please choose another."
    since = timezone.now() - timedelta(days=settings.HOLIDESK_SLUG_QUARANTINE_DAYS)
    released = ReleasedSlug.objects.filter(slug=slug, released_at__gt=since)
    if business is not None and business.pk is not None:
        released = released.exclude(business=business)
    if released.exists():
        return (
            "That address was in use until recently and cannot be taken yet; please choose another."
        )
    return None


# Why a business's currency may not change now. Prices, payments and refunds are amounts
# in the business currency; the apps that keep such amounts (bookings) register a check
# here from their `AppConfig.ready()`, since this app may not import them. Each answers
# "" (no objection) or the reason, in words for the owner.
_currency_locks: list[Callable[[Business], str]] = []


def register_currency_lock(check: Callable[[Business], str]) -> None:
    if check not in _currency_locks:
        _currency_locks.append(check)


def currency_lock_reason(*, business: Business) -> str:
    """Why `business` may not change its currency now, or "" when it may."""
    for check in _currency_locks:
        reason = check(business)
        if reason:
            return reason
    return ""


def memberships_for_user(*, user: User) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("business").order_by("id")


def membership_for(*, user: User, business: Business) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, business=business).first()


def property_list_published(*, business: Business) -> QuerySet[Property]:
    return (
        Property.objects.for_business(business)
        .filter(published=True)
        .prefetch_related(prefetch_public_photos())
        .order_by("name")
    )


def property_get_published(*, business: Business, slug: str) -> Property | None:
    return (
        Property.objects.for_business(business)
        .filter(published=True, slug=slug)
        .select_related("business")
        .prefetch_related(prefetch_public_photos())
        .first()
    )


@dataclass(frozen=True)
class SearchFilters:
    """What a business's published places offer to search on: bedroom counts, the
    largest party one place sleeps, and its hotels (groups)."""

    bedrooms: list[int]
    max_guests: int
    groups: list[PropertyGroup]


def search_filters(*, business: Business) -> SearchFilters:
    """One query, and one more for the hotels' names when the business has hotels."""
    found = (
        Property.objects.for_business(business)
        .filter(published=True)
        .aggregate(
            bedrooms=ArrayAgg("bedrooms", distinct=True, default=[]),
            most=Max("max_guests"),
            groups=ArrayAgg("group_id", distinct=True, filter=Q(group__isnull=False), default=[]),
        )
    )
    groups = (
        list(PropertyGroup.objects.filter(pk__in=found["groups"]).order_by("name"))
        if found["groups"]
        else []
    )
    return SearchFilters(
        bedrooms=sorted(found["bedrooms"]), max_guests=found["most"] or 1, groups=groups
    )
