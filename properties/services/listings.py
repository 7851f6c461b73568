"""Adding and editing properties, their prices and their seasonal rates.

Every door (the dashboard's property and price pages, and the admin's seasonal rates)
comes through here. The rules of a property's values are the model's own (field
validators, choices and check constraints, asked through `full_clean`, exactly as the
admin's forms ask them); this module adds who may (`properties.permissions`, with the
member's group scope) and the rules no single row can see: a slug free within the
business, and seasons that do not partly overlap.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from properties import permissions
from properties.db import lock_one
from properties.errors import DomainError
from properties.models import Business, Membership, Property, PropertyGroup, SeasonalRate, User

# What the property page edits (properties.manage) ...
SETTINGS_FIELDS = (
    "name",
    "slug",
    "group",
    "published",
    "description",
    "address",
    "max_guests",
    "bedrooms",
    "bathrooms",
    "amenities",
    "check_in_time",
    "check_out_time",
    "timezone",
)
# ... and what the prices page edits (rates.manage).
PRICE_FIELDS = (
    "base_price",
    "cleaning_fee",
    "tax_percent",
    "min_nights",
    "max_nights",
    "weekly_discount_percent",
    "monthly_discount_percent",
    "advance_notice_days",
    "booking_horizon_days",
    "cancellation_policy",
)


class PropertyInvalid(DomainError):
    """Values a property or a season may not take; `fields` names each problem."""

    code = "invalid"
    http_status = 400


def _problems(error: ValidationError) -> dict[str, list[str]]:
    if hasattr(error, "error_dict"):
        return {
            field: [message for e in errors for message in e.messages]
            for field, errors in error.error_dict.items()
        }
    return {"__all__": list(error.messages)}


def _invalid(error: ValidationError) -> PropertyInvalid:
    fields = _problems(error)
    first = next((m for messages in fields.values() for m in messages), "Check the values.")
    return PropertyInvalid(first, fields=fields)


def _member(by: User | AnonymousUser, business: Business) -> Membership | None:
    if not isinstance(by, User):
        return None
    return Membership.objects.filter(user=by, business=business).first()


def _check_group(by: User | AnonymousUser, business: Business, group: PropertyGroup | None) -> None:
    """A property's group must be the business's, and one a group-scoped member works in
    (a hotel manager cannot move a room out of their reach, or into another hotel)."""
    if group is not None and group.business_id != business.pk:
        raise PropertyInvalid("No such group.", fields={"group": ["Unknown group."]})
    membership = _member(by, business)
    if membership is None or not permissions.is_group_scoped(membership.role):
        return
    if group is None or not permissions.permits(membership, permissions.MANAGE_PROPERTIES, group):
        raise PropertyInvalid(
            "Choose one of your groups: you see only their properties.",
            fields={"group": ["Choose one of your groups."]},
        )


def _free_slug(business: Business, wanted: str, *, exclude: int | None = None) -> str:
    base = (slugify(wanted) or "property")[:70]
    taken = set(
        Property.objects.for_business(business)
        .exclude(pk=exclude)
        .filter(slug__startswith=base)
        .values_list("slug", flat=True)
    )
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def _validate(prop: Property) -> None:
    taken = (
        Property.objects.filter(business_id=prop.business_id, slug=prop.slug)
        .exclude(pk=prop.pk)
        .exists()
    )
    if prop.slug and taken:
        raise PropertyInvalid(
            f"Another property of yours uses the address “{prop.slug}”.",
            fields={"slug": ["Another property uses this; choose another."]},
        )
    try:
        prop.full_clean()
    except ValidationError as error:
        raise _invalid(error) from None


@transaction.atomic
def property_create(
    *, by: User | AnonymousUser, business: Business, values: Mapping[str, Any]
) -> Property:
    """A new, unpublished property from the settings and price `values` given (the rest
    keep their defaults). An empty slug is made from the name."""
    permissions.require(by, permissions.MANAGE_PROPERTIES, business=business)
    unknown = set(values) - set(SETTINGS_FIELDS) - set(PRICE_FIELDS)
    if unknown:
        raise ValueError(f"Not a property field: {sorted(unknown)}")
    group = values.get("group")
    _check_group(by, business, group)
    lock_one(Business.objects.filter(pk=business.pk))  # one slug chooser at a time
    prop = Property(business=business, base_price=Decimal(0))
    for field, value in values.items():
        setattr(prop, field, value)
    if not prop.slug:
        prop.slug = _free_slug(business, prop.name)
    _validate(prop)
    prop.save()
    return prop


@transaction.atomic
def property_update(
    *, by: User | AnonymousUser, prop: Property, values: Mapping[str, Any]
) -> Property:
    """Save `values` on the property: settings need `properties.manage`, prices and
    stay rules `rates.manage`, each on this property (a group manager: of their
    groups). Unchanged values ask nothing."""
    stored = lock_one(Property.objects.all(), pk=prop.pk)
    business = stored.business
    changed = {f: v for f, v in values.items() if getattr(stored, f) != v}
    for field in changed:
        if field in SETTINGS_FIELDS:
            action = permissions.MANAGE_PROPERTIES
        elif field in PRICE_FIELDS:
            action = permissions.MANAGE_RATES
        else:
            raise ValueError(f"Not an editable property field: {field}")
        permissions.require(by, action, business=business, obj=stored)
    if not changed:
        return stored
    if "group" in changed:
        _check_group(by, business, changed["group"])
    for field, value in changed.items():
        setattr(stored, field, value)
    _validate(stored)
    stored.save()
    return stored


# --- Seasonal rates ----------------------------------------------------------------------


def _fmt(day: date) -> str:
    return f"{day:%-d %b %Y}"


def season_overlap_problem(
    *, prop: Property, start: date, end: date, exclude: int | None = None
) -> str:
    """Why [start, end) cannot sit with the property's other seasons, or "". A season
    may lie wholly inside another (Christmas inside Winter: the later start wins,
    `bookings.pricing.rate_for`); partly overlapping ones, or two starting the same
    night, would leave guests and owner guessing which price holds."""
    others = SeasonalRate.objects.filter(property=prop, start__lt=end, end__gt=start)
    if exclude is not None:
        others = others.exclude(pk=exclude)
    for other in others.order_by("start"):
        if other.start == start:
            return (
                f"{other.name} ({_fmt(other.start)} to {_fmt(other.end)}) starts on the same "
                "night: change that one, or start this one later."
            )
        inside = other.start < start and end <= other.end
        around = start < other.start and other.end <= end
        if not (inside or around):
            return (
                f"Overlaps {other.name} ({_fmt(other.start)} to {_fmt(other.end)}) in part. "
                "A season may lie wholly inside another, not partly over it."
            )
    return ""


def _rate_validate(rate: SeasonalRate) -> None:
    try:
        rate.full_clean()
    except ValidationError as error:
        raise _invalid(error) from None
    if rate.min_nights is not None and rate.min_nights < 1:
        raise PropertyInvalid(
            "A minimum stay is at least 1 night.", fields={"min_nights": ["At least 1."]}
        )
    problem = season_overlap_problem(
        prop=rate.property, start=rate.start, end=rate.end, exclude=rate.pk
    )
    if problem:
        raise PropertyInvalid(problem, fields={"start": [problem]})


@transaction.atomic
def seasonal_rate_save(
    *,
    by: User | AnonymousUser,
    prop: Property,
    values: Mapping[str, Any],
    rate: SeasonalRate | None = None,
) -> SeasonalRate:
    """Add a season to the property (`rate` None) or change one of its seasons:
    name, start, end (the day after the last night), nightly price, minimum stay."""
    stored_prop = lock_one(Property.objects.all(), pk=prop.pk)
    permissions.require(
        by, permissions.MANAGE_RATES, business=stored_prop.business, obj=stored_prop
    )
    if rate is None:
        row = SeasonalRate(business_id=stored_prop.business_id, property=stored_prop)
    else:
        row = lock_one(SeasonalRate.objects.filter(business_id=stored_prop.business_id), pk=rate.pk)
        if row.property_id != stored_prop.pk:
            # Moved to another property (the admin's form allows it): both are theirs.
            permissions.require(
                by,
                permissions.MANAGE_RATES,
                business=stored_prop.business,
                obj=Property.objects.get(pk=row.property_id),
            )
            row.property = stored_prop
    for field in ("name", "start", "end", "nightly_price", "min_nights"):
        if field in values:
            setattr(row, field, values[field])
    if row.start and row.end and row.end <= row.start:
        raise PropertyInvalid(
            "The season ends before it starts: the end is the day after its last night.",
            fields={"end": ["Must be after the start."]},
        )
    _rate_validate(row)
    row.save()
    return row


@transaction.atomic
def seasonal_rate_delete(*, by: User | AnonymousUser, rate: SeasonalRate) -> None:
    stored_prop = lock_one(Property.objects.all(), pk=rate.property_id)
    permissions.require(
        by, permissions.MANAGE_RATES, business=stored_prop.business, obj=stored_prop
    )
    SeasonalRate.objects.filter(pk=rate.pk, property=stored_prop).delete()
