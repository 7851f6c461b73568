"""Bookings: guest stays and blocks on one property's calendar.

The calendar's one rule, "active stays of a property never overlap", is enforced by
PostgreSQL, not by Python: `booking_no_overlap` is an exclusion constraint over
(property =, stay &&) for held and confirmed rows. `stay` is a half-open daterange
[check_in, check_out), so one guest's check-out day can be the next guest's check-in.
Services may pre-check for a friendlier message; the constraint is the authority.
"""

from __future__ import annotations

import builtins
import secrets
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateRangeField, RangeOperators
from django.contrib.postgres.fields.ranges import RangeEndsWith
from django.contrib.postgres.indexes import GistIndex
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from properties.models import Business, BusinessQuerySet, Property, money_field

# No 0/O or 1/I/L: references are read out over the phone.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
ACTIVE_STATUSES = ("held", "confirmed")


def new_reference() -> str:
    return "HD-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))


class BookingQuerySet(BusinessQuerySet):
    def active(self, *, now: Any = None) -> BookingQuerySet:
        """Rows that make nights unavailable right now: confirmed ones and holds that
        have not run out (a run-out hold still in the table frees its nights)."""
        now = now or timezone.now()
        return self.filter(
            Q(status=Booking.Status.CONFIRMED)
            | Q(status=Booking.Status.HELD, hold_expires_at__gt=now)
        )

    def overlapping(self, start: date, end: date) -> BookingQuerySet:
        from psycopg.types.range import Range

        return self.filter(stay__overlap=Range(start, end, "[)"))


class Booking(models.Model):
    class Status(models.TextChoices):
        HELD = "held", _("Held (awaiting payment)")
        CONFIRMED = "confirmed", _("Confirmed")
        CANCELLED = "cancelled", _("Cancelled")
        EXPIRED = "expired", _("Expired hold")

    class Kind(models.TextChoices):
        STAY = "stay", "Guest stay"
        OWNER_BLOCK = "owner_block", "Owner block"
        PARTNER_BLOCK = "partner_block", "Partner block"
        MAINTENANCE = "maintenance", "Maintenance"

    class Source(models.TextChoices):
        DIRECT = "direct", "Direct (our site)"
        OWNER = "owner", "Owner"
        AIRBNB = "airbnb", "Airbnb"
        BOOKING = "booking", "Booking.com"
        VRBO = "vrbo", "Vrbo"
        ICAL = "ical", "iCal feed"
        API = "api", "API"

    BLOCK_KINDS = (Kind.OWNER_BLOCK, Kind.PARTNER_BLOCK, Kind.MAINTENANCE)

    reference = models.CharField(max_length=12, unique=True, default=new_reference, editable=False)
    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="bookings")
    property = models.ForeignKey(Property, on_delete=models.PROTECT, related_name="bookings")
    stay = DateRangeField(help_text="[check-in, check-out): the nights of the stay.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CONFIRMED)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.STAY)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.DIRECT)

    guest_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="trips",
    )
    # A snapshot: the booking keeps the details it was made with.
    guest_name = models.CharField(max_length=150, blank=True)
    guest_email = models.EmailField(blank=True)
    guest_phone = models.CharField(max_length=40, blank=True)
    # The guest's language (a code of settings.LANGUAGES): the site's language when they
    # booked, else the business's default. Every guest email is written in it.
    # (db_default too: bulk loaders insert rows with SQL of their own.)
    language = models.CharField(max_length=8, default="en", db_default="en")
    guests = models.PositiveSmallIntegerField(default=1)
    note = models.TextField(blank=True, max_length=2000)

    price_breakdown = models.JSONField(default=dict, blank=True)
    total = money_field(default=Decimal(0))
    amount_paid = money_field(default=Decimal(0))
    amount_refunded = money_field(default=Decimal(0))
    currency = models.CharField(max_length=3)

    hold_expires_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = BookingQuerySet.as_manager()

    class Meta:
        ordering = ["stay"]
        constraints = [
            ExclusionConstraint(
                name="booking_no_overlap",
                expressions=[("property", RangeOperators.EQUAL), ("stay", RangeOperators.OVERLAPS)],
                condition=Q(status__in=ACTIVE_STATUSES),
            ),
            models.CheckConstraint(
                condition=Q(stay__isempty=False)
                & Q(stay__lower_inf=False)
                & Q(stay__upper_inf=False),
                name="booking_stay_not_empty",
            ),
            models.CheckConstraint(condition=Q(guests__gte=1), name="booking_guests_gte_1"),
            models.CheckConstraint(
                condition=Q(total__gte=0) & Q(amount_paid__gte=0) & Q(amount_refunded__gte=0),
                name="booking_amounts_gte_0",
            ),
            models.CheckConstraint(
                condition=~Q(status="held") | Q(hold_expires_at__isnull=False),
                name="booking_hold_has_expiry",
            ),
        ]
        indexes = [
            # Carrying id, property and status, it ranks the bookings list's stays under
            # way (a chain's 22,000) without reading the table (an index-only scan).
            GistIndex(
                fields=["business", "stay"],
                include=["id", "property", "status"],
                name="booking_business_stay_gist",
            ),
            # The bookings list in the order of stays, a page at a time (a chain's
            # million upcoming stays are not sorted to show 50), counted on the index
            # alone (status and property ride along).
            models.Index(
                fields=["business", "stay", "id"],
                include=["status", "property"],
                name="booking_business_stay_idx",
            ),
            models.Index(fields=["status", "hold_expires_at"], name="booking_hold_expiry_idx"),
            # Is this place taken for these dates: the active stays of a place from the
            # first one ending after check-in, read from the index alone (search asks it
            # of every room of a page of hotels; the exclusion constraint's GiST index
            # answers it too, at some three times the cost).
            models.Index(
                "property",
                RangeEndsWith("stay"),
                name="booking_property_stay_end_idx",
                include=["stay", "status", "hold_expires_at"],
                condition=Q(status__in=ACTIVE_STATUSES),
            ),
        ]

    def __str__(self) -> str:
        # Also before the row is read back: a stay assigned as a (start, end) pair is
        # only a range once stored, and the audit log names a row as it is saved.
        start, end = (
            (self.stay.lower, self.stay.upper) if hasattr(self.stay, "lower") else self.stay
        )
        return f"{self.reference} {self.property} {start}→{end}"

    # `property` is a field of this model, so the decorator is spelled out.
    @builtins.property
    def check_in(self) -> date:
        return self.stay.lower

    @builtins.property
    def check_out(self) -> date:
        return self.stay.upper

    @builtins.property
    def nights(self) -> int:
        return (self.check_out - self.check_in).days

    @builtins.property
    def is_block(self) -> bool:
        return self.kind in self.BLOCK_KINDS

    @builtins.property
    def is_active(self) -> bool:
        if self.status == self.Status.CONFIRMED:
            return True
        return bool(
            self.status == self.Status.HELD
            and self.hold_expires_at
            and self.hold_expires_at > timezone.now()
        )
