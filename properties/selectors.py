"""Reads for tenancy and properties. Every tenant-owned read takes `business=` first."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import QuerySet
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
class RoomType:
    """A hotel's published places with the same bedrooms and capacity (`group_id` None:
    the places in no hotel)."""

    group_id: int | None
    group_name: str
    bedrooms: int
    max_guests: int


# A business's room types, one index descent each (property_room_type_idx): a recursive
# walk from each (hotel, bedrooms, capacity) to the next, then the hotels' names for the
# order. Places in no hotel are hotel 0 in the index.
_ROOM_TYPES = """
WITH RECURSIVE kind(hotel, bedrooms, max_guests) AS (
    (SELECT coalesce(p.group_id, 0), p.bedrooms, p.max_guests
     FROM properties_property p
     WHERE p.business_id = %(business)s AND p.published
     ORDER BY p.business_id, coalesce(p.group_id, 0), p.bedrooms, p.max_guests
     LIMIT 1)
    UNION ALL
    SELECT later.* FROM kind, LATERAL (
        SELECT coalesce(p.group_id, 0), p.bedrooms, p.max_guests
        FROM properties_property p
        WHERE p.business_id = %(business)s AND p.published
          AND (p.business_id, coalesce(p.group_id, 0), p.bedrooms, p.max_guests)
              > (%(business)s, kind.hotel, kind.bedrooms, kind.max_guests)
        ORDER BY p.business_id, coalesce(p.group_id, 0), p.bedrooms, p.max_guests
        LIMIT 1
    ) later
)
SELECT kind.hotel, g.name, kind.bedrooms, kind.max_guests
FROM kind LEFT JOIN properties_propertygroup g ON g.id = kind.hotel
ORDER BY g.name NULLS LAST, kind.hotel, kind.bedrooms, kind.max_guests
"""


def room_types(*, business: Business) -> list[RoomType]:
    """The business's published room types by hotel name (places in no hotel last),
    bedrooms and capacity. One query, whose work grows with the room types (a chain's
    240), not with the places (its 32,000)."""
    with connection.cursor() as cursor:
        cursor.execute(_ROOM_TYPES, {"business": business.pk})
        rows = cursor.fetchall()
    return [
        RoomType(group_id=hotel or None, group_name=name or "", bedrooms=beds, max_guests=most)
        for hotel, name, beds, most in rows
    ]


@dataclass(frozen=True)
class SearchFilters:
    """What a business's published places offer to search on: bedroom counts, the
    largest party one place sleeps, its hotels (groups), and its room types."""

    bedrooms: list[int]
    max_guests: int
    groups: list[PropertyGroup]
    room_types: list[RoomType]


def search_filters(*, business: Business) -> SearchFilters:
    """One query (`room_types`)."""
    kinds = room_types(business=business)
    groups: dict[int, PropertyGroup] = {}
    for kind in kinds:
        if kind.group_id is not None and kind.group_id not in groups:
            groups[kind.group_id] = PropertyGroup(
                id=kind.group_id, business=business, name=kind.group_name
            )
    return SearchFilters(
        bedrooms=sorted({kind.bedrooms for kind in kinds}),
        max_guests=max((kind.max_guests for kind in kinds), default=1),
        groups=list(groups.values()),
        room_types=kinds,
    )
