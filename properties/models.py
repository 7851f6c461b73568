"""Tenancy (Business, Membership), users, and the rentable Property.

Every tenant-owned row carries a `business` foreign key; reads go through
`Model.objects.for_business(business)` or a selector that takes `business=` first,
so an unscoped query stands out in review.
"""

from __future__ import annotations

import hashlib
import secrets
import zoneinfo
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from properties.validators import (
    hex_colour_validator,
    validate_business_slug,
    validate_domain,
    validate_languages,
    validate_timezone,
)

if TYPE_CHECKING:
    from django_stubs_ext.db.models.manager import RelatedManager


def new_domain_token() -> str:
    return "holidesk-verify-" + secrets.token_urlsafe(24)


def money_field(verbose_name: str | None = None, **kwargs: Any) -> models.DecimalField[Any, Any]:
    """Money is a Decimal in the business's currency: 12 digits, 2 places, never negative."""
    return models.DecimalField(
        verbose_name,
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(Decimal(0))],
        **kwargs,
    )


# The languages a business site may offer (its `languages` pick among these).
LANGUAGE_CHOICES = list(settings.LANGUAGES)


def default_languages() -> list[str]:
    return [settings.LANGUAGE_CODE]


CURRENCIES = [
    ("EUR", "Euro"),
    ("GBP", "Pound sterling"),
    ("USD", "US dollar"),
    ("CHF", "Swiss franc"),
    ("SEK", "Swedish krona"),
    ("NOK", "Norwegian krone"),
    ("DKK", "Danish krone"),
    ("PLN", "Polish złoty"),
    ("CZK", "Czech koruna"),
    ("AUD", "Australian dollar"),
    ("NZD", "New Zealand dollar"),
    ("CAD", "Canadian dollar"),
    ("JPY", "Japanese yen"),
    ("KRW", "South Korean won"),
]


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("Users need an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """Owners, staff users and visitors alike; what they may do comes from memberships."""

    username = None  # type: ignore[assignment]
    email = models.EmailField("email address", unique=True)
    name = models.CharField(max_length=150, blank=True)
    phone = models.CharField(max_length=40, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    if TYPE_CHECKING:
        memberships: RelatedManager[Membership]

    def __str__(self) -> str:
        return self.email


class BusinessQuerySet(models.QuerySet[Any]):
    def for_business(self, business: Business) -> BusinessQuerySet:
        return self.filter(business=business)


class Business(models.Model):
    """The tenant: one holiday-rental business and its website."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(
        max_length=63,
        unique=True,
        validators=[validate_business_slug],
        help_text="Your site's address: <slug>.holidesk.app. Lowercase letters, digits, hyphens.",
    )
    # NULL, not "", is "no domain": the partial unique constraint below and the host
    # lookups compare real names only.
    custom_domain = models.CharField(  # noqa: DJ001
        max_length=253,
        null=True,
        blank=True,
        validators=[validate_domain],
        help_text=(
            "Optional, e.g. www.seaside-cottages.com. It serves your site once its DNS "
            "proves it is yours (see the TXT record shown after saving)."
        ),
    )
    # Proof of domain ownership: a TXT record `_holidesk.<custom_domain>` holding this
    # token. Until it is seen the domain routes nowhere (properties.services.domains).
    domain_token = models.CharField(max_length=64, default=new_domain_token, editable=False)
    domain_verified_at = models.DateTimeField(null=True, blank=True, editable=False)
    domain_checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    timezone = models.CharField(
        max_length=64, default="Europe/London", validators=[validate_timezone]
    )
    currency = models.CharField(max_length=3, choices=CURRENCIES, default="EUR")
    contact_email = models.EmailField()
    logo = models.ImageField(upload_to="logos/", blank=True)
    accent_colour = models.CharField(
        max_length=7, default="#0E7490", validators=[hex_colour_validator]
    )
    about = models.TextField(blank=True, max_length=2000)
    # The visitor site's and guest emails' languages, codes of settings.LANGUAGES; the
    # first is the site's default (served without a URL prefix), docs/languages.md.
    languages = ArrayField(
        models.CharField(max_length=8, choices=LANGUAGE_CHOICES),
        default=default_languages,
        # (db_default too: bulk loaders insert rows with SQL of their own.)
        db_default=[settings.LANGUAGE_CODE],
        validators=[validate_languages],
        help_text=(
            "Codes of your site's languages, separated by commas, the default first "
            "(en English, de Deutsch), e.g. “en,de”."
        ),
    )
    require_owner_two_factor = models.BooleanField(
        default=False,
        help_text="Owners must sign in with a second factor (an authenticator app code).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "businesses"
        constraints = [
            models.CheckConstraint(
                condition=Q(slug__regex=r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"),
                name="business_slug_is_dns_label",
            ),
            # Several businesses may claim a domain; only the one whose token is in its
            # DNS gets it, so a squatter cannot block the real owner.
            models.UniqueConstraint(
                fields=["custom_domain"],
                condition=Q(domain_verified_at__isnull=False),
                name="business_verified_domain_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def verified_domain(self) -> str | None:
        """The custom domain, once its DNS proves it belongs to this business."""
        return self.custom_domain if self.custom_domain and self.domain_verified_at else None

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def default_language(self) -> str:
        """The site's default language: the first of its languages."""
        return self.languages[0] if self.languages else settings.LANGUAGE_CODE


class Membership(models.Model):
    """A person's role in a business. What each role may do, and how groups narrow
    what a member sees, is decided in `properties.permissions` alone."""

    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        MANAGER = "manager", "Manager"
        GROUP_MANAGER = "group_manager", "Group manager"
        FRONT_DESK = "front_desk", "Front desk"
        VIEWER = "viewer", "Viewer"
        STAFF = "staff", "Staff"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.OWNER)
    groups: models.ManyToManyField[PropertyGroup, Any] = models.ManyToManyField(
        "PropertyGroup",
        blank=True,
        related_name="memberships",
        help_text=(
            "The property groups (for example hotels) a group manager or front desk "
            "member works in; they see nothing outside them."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = BusinessQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "business"], name="membership_unique_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()} of {self.business})"


class PropertyGroup(models.Model):
    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="groups")
    name = models.CharField(max_length=120)

    objects = BusinessQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["business", "name"], name="group_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class Property(models.Model):
    class CancellationPolicy(models.TextChoices):
        FLEXIBLE = "flexible", _("Flexible: full refund up to 1 day before check-in")
        MODERATE = "moderate", _("Moderate: full refund up to 5 days before check-in")
        # xgettext:no-python-format
        STRICT = "strict", _("Strict: 50% refund up to 7 days before check-in")

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="properties")
    group = models.ForeignKey(
        PropertyGroup, on_delete=models.SET_NULL, null=True, blank=True, related_name="properties"
    )
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=80)
    description = models.TextField(blank=True)
    address = models.TextField(blank=True)
    max_guests = models.PositiveSmallIntegerField(
        default=2, validators=[MinValueValidator(1), MaxValueValidator(500)]
    )
    bedrooms = models.PositiveSmallIntegerField(default=1)
    bathrooms = models.PositiveSmallIntegerField(default=1)
    amenities = ArrayField(models.CharField(max_length=60), default=list, blank=True)
    check_in_time = models.TimeField(default=time(16, 0))
    check_out_time = models.TimeField(default=time(10, 0))
    timezone = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_timezone],
        help_text="Leave empty to use the business's time zone.",
    )
    base_price = money_field("nightly price")
    cleaning_fee = money_field(default=Decimal(0))
    min_nights = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1)])
    tax_percent = models.DecimalField(
        "tax (%)",
        max_digits=5,
        decimal_places=2,
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
    )
    max_nights = models.PositiveSmallIntegerField(default=90, validators=[MinValueValidator(1)])
    booking_horizon_days = models.PositiveSmallIntegerField(
        "booking horizon (days)", default=548, validators=[MinValueValidator(1)]
    )
    advance_notice_days = models.PositiveSmallIntegerField(
        "minimum advance notice (days)",
        default=0,
        help_text="0 allows same-day arrivals (in the property's time zone).",
    )
    weekly_discount_percent = models.DecimalField(
        "discount for 7+ nights (%)",
        max_digits=5,
        decimal_places=2,
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
    )
    monthly_discount_percent = models.DecimalField(
        "discount for 28+ nights (%)",
        max_digits=5,
        decimal_places=2,
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
    )
    cancellation_policy = models.CharField(
        max_length=10, choices=CancellationPolicy.choices, default=CancellationPolicy.MODERATE
    )
    published = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = BusinessQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "properties"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["business", "slug"], name="property_unique_slug"),
            models.CheckConstraint(condition=Q(base_price__gte=0), name="property_price_gte_0"),
            models.CheckConstraint(condition=Q(cleaning_fee__gte=0), name="property_fee_gte_0"),
            models.CheckConstraint(condition=Q(max_guests__gte=1), name="property_guests_gte_1"),
            models.CheckConstraint(
                condition=Q(min_nights__gte=1), name="property_min_nights_gte_1"
            ),
        ]
        indexes = [
            # A business's room types (hotel, bedrooms, capacity), one index descent
            # each (bookings.search.room_types): a chain's 32,000 rooms are not read to
            # list its 240 room types. Rooms in no hotel are hotel 0.
            models.Index(
                "business",
                Coalesce("group", Value(0), output_field=models.BigIntegerField()),
                "bedrooms",
                "max_guests",
                name="property_room_type_idx",
                condition=Q(published=True),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone or self.business.timezone)

    def local_today(self) -> Any:
        """Today's date where the property is, which is what guests and rules mean."""
        return timezone.now().astimezone(self.tz).date()


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """An owner's API key. Only a SHA-256 of the key is stored: a database leak
    yields no usable token. The key is shown once, at creation."""

    PREFIX = "hd_"

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="api_tokens")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80, default="API token")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    key_hint = models.CharField(max_length=12, editable=False, help_text="First characters.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = BusinessQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.name} ({self.key_hint}…)"

    @classmethod
    def new_key(cls) -> str:
        return cls.PREFIX + secrets.token_urlsafe(32)

    @staticmethod
    def hash_key(raw: str) -> str:
        return _hash_token(raw)


class SeasonalRate(models.Model):
    """A nightly price (and optionally a minimum stay) for the nights in [start, end).

    Where rules overlap, the one that starts latest wins, so a short special period
    can sit inside a long season.
    """

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    property = models.ForeignKey(Property, on_delete=models.CASCADE, related_name="rates")
    name = models.CharField(max_length=80, help_text="Shown to guests, e.g. “July”, “Christmas”.")
    start = models.DateField(help_text="First night.")
    end = models.DateField(help_text="Day after the last night.")
    nightly_price = money_field("nightly price")
    min_nights = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Minimum stay for arrivals in this period."
    )

    objects = BusinessQuerySet.as_manager()

    class Meta:
        ordering = ["property", "start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=models.F("start")), name="rate_end_after_start"
            ),
            models.CheckConstraint(condition=Q(nightly_price__gte=0), name="rate_price_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.start} to {self.end})"


class ReleasedSlug(models.Model):
    """A site address given up (business renamed or deleted). Nobody else may take it
    for `SLUG_QUARANTINE_DAYS`: links, bookmarks and emails out there still point at it,
    and a newcomer must not inherit its visitors."""

    slug = models.CharField(max_length=63, unique=True)
    # Who gave it up: that business may take its old address back at once.
    business = models.ForeignKey(
        Business, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    released_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.slug


class Invitation(models.Model):
    """An invitation to join a business with a role (and groups), sent by email with an
    expiring link. Only the link's hash is stored; resending mints a new link."""

    VALID_FOR = timedelta(days=7)

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=20, choices=Membership.Role.choices)
    groups: models.ManyToManyField[PropertyGroup, Any] = models.ManyToManyField(
        PropertyGroup, blank=True, related_name="invitations"
    )
    invited_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = BusinessQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["business", "email"],
                condition=Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_open_per_email",
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.get_role_display()}) to {self.business}"

    @staticmethod
    def new_token() -> str:
        return secrets.token_urlsafe(32)

    @staticmethod
    def hash_token(raw: str) -> str:
        return _hash_token(raw)

    def is_open(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > now


from properties.photo_models import PropertyImage, PropertyImageRendition  # noqa: E402, F401
