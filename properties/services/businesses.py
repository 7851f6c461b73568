"""Creating a business and saving its settings; the rules of site addresses (slugs)."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from properties import permissions
from properties.db import lock_one
from properties.models import Business, Membership, ReleasedSlug, User
from properties.photos.errors import PhotoRejected
from properties.photos.validation import photo_inspect
from properties.selectors import currency_lock_reason, slug_unavailable_reason

# Fields whose change needs more than EDIT_BUSINESS.
_GUARDED_FIELDS = {
    "slug": (permissions.RENAME_SITE, "Only an owner may change the site's address."),
    "custom_domain": (permissions.SET_CUSTOM_DOMAIN, "Only an owner may set a custom domain."),
    "require_owner_two_factor": (
        permissions.REQUIRE_TWO_FACTOR,
        "Only an owner may change the two-factor rule.",
    ),
}
# What an owner may edit on a business (the admin's form shows these); each change is
# checked by `business_save`.
BUSINESS_EDITABLE_FIELDS = (
    "name",
    "slug",
    "custom_domain",
    "contact_email",
    "timezone",
    "currency",
    "logo",
    "accent_colour",
    "about",
    "languages",
    "require_owner_two_factor",
)


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
    problem = slug_unavailable_reason(slug=slug)
    if problem:
        raise ValidationError({"slug": [problem]})
    business.save()
    Membership.objects.create(user=owner, business=business, role=Membership.Role.OWNER)
    if not owner.is_staff:
        # The Django admin is the owners' workplace; is_staff only opens its door,
        # what they may see there comes from their membership (properties.admin).
        owner.is_staff = True
        owner.save(update_fields=["is_staff"])
    return business


def _logo_check(business: Business) -> None:
    """A new logo passes the photos' check (JPEG, PNG or WebP, size and pixel limits,
    read from the header only), so no other decoder ever sees an uploaded file."""
    logo = business.logo
    if not logo or getattr(logo, "_committed", True):
        return  # removed, or the stored file kept
    name = logo.name.rsplit("/", 1)[-1] if logo.name else "The logo"
    try:
        photo_inspect(logo.file, name=name)
    except PhotoRejected as error:
        raise ValidationError({"logo": [error.message]}) from None


@transaction.atomic
def business_save(*, user: User | AnonymousUser, business: Business) -> Business:
    """Save the edited `business`: each changed field asks its own permission, a new
    slug must be free, a new logo must be an image the photos accept, the currency
    changes only when nothing priced in it is still to come (`currency_lock_reason`),
    and a new custom domain starts unverified (it routes nowhere until its DNS TXT
    record is seen, properties.services.domains)."""
    stored = lock_one(Business.objects.filter(pk=business.pk))
    if business.custom_domain is not None:
        business.custom_domain = business.custom_domain.strip().lower().rstrip(".") or None
    changed = {f for f in BUSINESS_EDITABLE_FIELDS if getattr(stored, f) != getattr(business, f)}
    if not changed:
        return stored
    for field in changed:
        action, message = _GUARDED_FIELDS.get(
            field, (permissions.EDIT_BUSINESS, "Your role may not change the business.")
        )
        permissions.require(user, action, business=stored, message=message)
    business.full_clean()
    if "slug" in changed:
        problem = slug_unavailable_reason(slug=business.slug, business=business)
        if problem:
            raise ValidationError({"slug": [problem]})
    if "logo" in changed:
        _logo_check(business)
    if "currency" in changed:
        # Asked of the stored row, under its lock: its currency names what was priced.
        reason = currency_lock_reason(business=stored)
        if reason:
            raise ValidationError({"currency": [reason]})
    if business.custom_domain != stored.custom_domain:
        business.domain_verified_at = None
        business.domain_checked_at = None
    business.save()
    return business


def slug_release(*, slug: str, business: Business | None) -> None:
    """Remember that `slug` was given up now (by `business`, None once deleted), so
    that nobody else takes it during the quarantine."""
    ReleasedSlug.objects.update_or_create(
        slug=slug, defaults={"business": business, "released_at": timezone.now()}
    )


def slug_taken_back(*, slug: str, business: Business) -> None:
    """A business uses an address again that it once gave up: no longer released."""
    ReleasedSlug.objects.filter(slug=slug, business=business).delete()
