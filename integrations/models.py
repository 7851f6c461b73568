"""Partner channels: webhooks in, availability pushes out, iCal feeds both ways.

Every row carries its `business` (the tenant), like the rest of Holidesk. Identifiers a
partner sees (channel ids, push ids, conflict ids, iCal tokens) are random, never
database ids. Channel secrets, which we must read back to sign, are stored encrypted
(integrations.crypto); iCal export tokens, which we only compare, are stored hashed.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.db import models
from django.db.models import Q

from bookings.models import Booking
from properties.models import Business, BusinessQuerySet, Property


def _public_id(prefix: str, nbytes: int = 12) -> str:
    return prefix + secrets.token_urlsafe(nbytes).replace("-", "x").replace("_", "y")


def new_channel_id() -> str:
    return _public_id("ch_")


def new_push_id() -> str:
    return _public_id("out_")


def new_conflict_id() -> str:
    return _public_id("cf_", 9)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class Platform(models.TextChoices):
    AIRBNB = "airbnb", "Airbnb"
    BOOKING = "booking", "Booking.com"
    VRBO = "vrbo", "Vrbo"
    OTHER = "other", "Other"


# Where a stay came from, by platform (Booking.source).
PLATFORM_SOURCE: dict[str, str] = {
    Platform.AIRBNB: Booking.Source.AIRBNB,
    Platform.BOOKING: Booking.Source.BOOKING,
    Platform.VRBO: Booking.Source.VRBO,
    Platform.OTHER: Booking.Source.API,
}


class Channel(models.Model):
    """A business's connection to one partner platform."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="channels")
    public_id = models.CharField(
        "channel id", max_length=40, unique=True, default=new_channel_id, editable=False
    )
    platform = models.CharField(max_length=10, choices=Platform.choices)
    name = models.CharField(max_length=80, blank=True)
    active = models.BooleanField(default=True)
    endpoint_url = models.URLField(
        "endpoint URL",
        max_length=500,
        blank=True,
        help_text="Where availability and listing pushes are POSTed (empty: no pushes).",
    )
    # Fernet tokens (integrations.crypto), never plain text.
    inbound_secret_enc = models.TextField(editable=False)
    previous_inbound_secret_enc = models.TextField(blank=True, editable=False)
    previous_inbound_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    outbound_secret_enc = models.TextField(editable=False)
    previous_outbound_secret_enc = models.TextField(blank=True, editable=False)
    previous_outbound_secret_expires_at = models.DateTimeField(
        null=True, blank=True, editable=False
    )
    secrets_rotated_at = models.DateTimeField(null=True, blank=True, editable=False)

    # Sync health, kept up to date by the services.
    last_inbound_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_push_ok_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_push_error = models.TextField(blank=True, editable=False)
    last_push_error_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = BusinessQuerySet.as_manager()

    class Meta:
        ordering = ["platform", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["business", "platform"],
                condition=~Q(platform="other"),
                name="channel_one_per_platform",
            ),
        ]

    def __str__(self) -> str:
        return self.name or f"{self.get_platform_display()} ({self.public_id})"


class ListingLink(models.Model):
    """The partner's `listing_id` for one of the business's properties."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="listings")
    listing_id = models.CharField(max_length=100)
    property = models.ForeignKey(Property, on_delete=models.CASCADE, related_name="listing_links")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = BusinessQuerySet.as_manager()

    class Meta:
        ordering = ["channel", "listing_id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "listing_id"], name="listing_unique_id"),
            models.UniqueConstraint(fields=["channel", "property"], name="listing_unique_property"),
        ]

    def __str__(self) -> str:
        return f"{self.listing_id} → {self.property}"


class InboundEvent(models.Model):
    """Every accepted partner event, unique per channel: the idempotency record.

    The UNIQUE constraint is what makes concurrent duplicates safe: the second insert
    waits for the first transaction and then fails, and is answered "duplicate"."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="events")
    event_id = models.CharField(max_length=100)
    type = models.CharField(max_length=40)
    occurred_at = models.DateTimeField(null=True, blank=True)
    payload = models.JSONField(default=dict)
    outcome = models.CharField(max_length=20, blank=True)
    booking_reference = models.CharField(max_length=12, blank=True)
    conflict_id = models.CharField(max_length=20, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    objects = BusinessQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "event_id"], name="inbound_event_unique_id")
        ]

    def __str__(self) -> str:
        return f"{self.event_id} ({self.type})"


class PartnerReservation(models.Model):
    """What we know of one partner reservation: the last revision applied, the booking
    it became (if any), and whether it is cancelled. A cancellation that arrives before
    the creation leaves a tombstone here, so the late creation is ignored."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="reservations")
    reservation_id = models.CharField(max_length=100)
    listing = models.ForeignKey(ListingLink, on_delete=models.SET_NULL, null=True, blank=True)
    booking = models.ForeignKey(
        Booking, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_revision = models.BigIntegerField(default=0)
    cancelled = models.BooleanField(default=False, help_text="Tombstone: cancelled by partner.")
    updated_at = models.DateTimeField(auto_now=True)

    objects = BusinessQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "reservation_id"], name="partner_reservation_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.reservation_id} r{self.last_revision}"


class PartnerMessage(models.Model):
    """One message of the conversation about a partner booking."""

    class Sender(models.TextChoices):
        GUEST = "guest", "Guest"
        HOST = "host", "Host"

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="messages")
    reservation_id = models.CharField(max_length=100)
    booking = models.ForeignKey(
        Booking,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="partner_messages",
    )
    message_id = models.CharField(max_length=100)
    sender = models.CharField(max_length=5, choices=Sender.choices)
    body = models.TextField(max_length=10000)
    sent_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)

    objects = BusinessQuerySet.as_manager()

    class Meta:
        ordering = ["sent_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "message_id"], name="partner_message_unique")
        ]

    def __str__(self) -> str:
        return f"{self.get_sender_display()}: {self.body[:40]}"


class BookingConflict(models.Model):
    """A partner stay (webhook or iCal) that collided with a stay already on the
    calendar. Never dropped silently: the owner sees both sides and resolves it."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    public_id = models.CharField(
        max_length=20, unique=True, default=new_conflict_id, editable=False
    )
    property = models.ForeignKey(Property, on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey(
        Channel, on_delete=models.SET_NULL, null=True, blank=True, related_name="conflicts"
    )
    feed = models.ForeignKey(
        "IcalFeed", on_delete=models.SET_NULL, null=True, blank=True, related_name="conflicts"
    )
    external_id = models.CharField(
        max_length=255, help_text="The partner's reservation id or the iCal event UID."
    )
    check_in = models.DateField()
    check_out = models.DateField()
    partner_data = models.JSONField(default=dict, blank=True)
    existing_booking = models.ForeignKey(
        Booking,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The stay already on the calendar.",
    )
    partner_booking = models.ForeignKey(
        Booking,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The partner's stay, when it exists on other dates (a refused move).",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    resolution = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    objects = BusinessQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["business", "status"], name="conflict_business_status")]

    def __str__(self) -> str:
        return f"{self.public_id} {self.property} {self.check_in}→{self.check_out}"


class PushOutbox(models.Model):
    """One push of full state to a partner, for one listing. At most one row per
    (listing, kind) is pending at a time: changes in quick succession coalesce into it.
    A host's reply (`message`) is pushed once per message instead: it has no listing,
    is never coalesced or superseded, and is retried like every push.

        pending --claim--> sending --2xx--> delivered
                                   \\--error--> pending (retry later) | dead
        pending, older than a newer pending one --> superseded
    """

    class Kind(models.TextChoices):
        AVAILABILITY = "availability", "availability.updated"
        LISTING = "listing", "listing.updated"
        MESSAGE = "message", "message.created"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        DELIVERED = "delivered", "Delivered"
        DEAD = "dead", "Dead letter"
        SUPERSEDED = "superseded", "Superseded"

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    push_id = models.CharField(max_length=40, unique=True, default=new_push_id, editable=False)
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="pushes")
    listing = models.ForeignKey(
        ListingLink, on_delete=models.CASCADE, null=True, blank=True, related_name="pushes"
    )
    message = models.ForeignKey(
        PartnerMessage, on_delete=models.CASCADE, null=True, blank=True, related_name="pushes"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    sending_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = BusinessQuerySet.as_manager()

    class Meta:
        verbose_name = "push"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["listing", "kind"],
                condition=Q(status="pending"),
                name="push_one_pending_per_listing",
            ),
            models.UniqueConstraint(
                fields=["message"],
                condition=Q(status="pending"),
                name="push_one_pending_per_message",
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind="message", message__isnull=False, listing__isnull=True)
                    | (~Q(kind="message") & Q(listing__isnull=False, message__isnull=True))
                ),
                name="push_target_by_kind",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], name="push_due_idx", condition=Q(status="pending")
            ),
            models.Index(
                fields=["sending_at"], name="push_sending_idx", condition=Q(status="sending")
            ),
            models.Index(fields=["channel", "status"], name="push_channel_status"),
        ]

    def __str__(self) -> str:
        return f"{self.push_id} {self.get_kind_display()}"


class PushAttempt(models.Model):
    """Every HTTP attempt of a push: the status code, the latency, the error."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    push = models.ForeignKey(PushOutbox, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField()
    url = models.CharField(max_length=500)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    ok = models.BooleanField(default=False)
    attempted_at = models.DateTimeField()

    objects = BusinessQuerySet.as_manager()

    class Meta:
        ordering = ["-attempted_at"]

    def __str__(self) -> str:
        return f"#{self.number} {self.status_code or self.error[:30]}"


class IcalFeed(models.Model):
    """A partner's iCal export of one property, polled on a schedule."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    property = models.ForeignKey(Property, on_delete=models.CASCADE, related_name="ical_feeds")
    platform = models.CharField(max_length=10, choices=Platform.choices)
    url = models.URLField("feed URL", max_length=1000)
    active = models.BooleanField(default=True)
    etag = models.CharField(max_length=255, blank=True, editable=False)
    last_modified = models.CharField(max_length=64, blank=True, editable=False)
    last_fetch_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_success_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True, editable=False)
    last_error_at = models.DateTimeField(null=True, blank=True, editable=False)
    next_fetch_at = models.DateTimeField(null=True, blank=True, editable=False)
    claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = BusinessQuerySet.as_manager()

    class Meta:
        verbose_name = "iCal feed"
        ordering = ["property", "platform"]
        constraints = [
            models.UniqueConstraint(fields=["property", "url"], name="ical_feed_unique_url")
        ]

    def __str__(self) -> str:
        return f"{self.get_platform_display()} feed of {self.property}"


class IcalEvent(models.Model):
    """One event of an imported feed, by UID, and the partner block it became.
    `missing_count` counts successful fetches in a row that lacked it; `pending` is
    calendar work a fetch found and a sync run has not applied yet."""

    class Classification(models.TextChoices):
        RESERVATION = "reservation", "Reservation"
        TENTATIVE = "tentative", "Tentative reservation"
        BLOCK = "block", "Blocked"

    class Pending(models.TextChoices):
        NONE = "", "Nothing"
        APPLY = "apply", "New or changed: block or move (a collision is a conflict)"
        RETRY = "retry", "Unchanged without its block: block if the nights are free"
        RELEASE = "release", "Gone from the feed: release the block"

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    feed = models.ForeignKey(IcalFeed, on_delete=models.CASCADE, related_name="events")
    uid = models.CharField(max_length=255)
    classification = models.CharField(max_length=12, choices=Classification.choices)
    summary = models.CharField(max_length=255, blank=True)
    start = models.DateField()
    end = models.DateField()
    booking = models.ForeignKey(
        Booking, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    missing_count = models.PositiveSmallIntegerField(default=0)
    pending = models.CharField(max_length=8, choices=Pending.choices, default="", blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = BusinessQuerySet.as_manager()

    class Meta:
        verbose_name = "iCal event"
        ordering = ["feed", "start"]
        constraints = [
            models.UniqueConstraint(fields=["feed", "uid"], name="ical_event_unique_uid")
        ]
        indexes = [
            models.Index(fields=["feed"], condition=~Q(pending=""), name="ical_event_pending")
        ]

    def __str__(self) -> str:
        return f"{self.uid} {self.start}→{self.end}"


class IcalExportToken(models.Model):
    """The unguessable token of a property's iCal export URL. Only its SHA-256 is
    stored; the URL is shown when the token is created or rotated."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    property = models.OneToOneField(
        Property, on_delete=models.CASCADE, related_name="ical_export_token"
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    token_hint = models.CharField(max_length=12, editable=False)
    created_at = models.DateTimeField(auto_now=True)
    last_fetched_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = BusinessQuerySet.as_manager()

    class Meta:
        verbose_name = "iCal export"

    def __str__(self) -> str:
        return f"iCal export of {self.property} ({self.token_hint}…)"

    @staticmethod
    def hash(raw: str) -> str:
        return hash_token(raw)


def json_safe(value: Any) -> Any:
    """Dates and decimals as strings, for JSON columns."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
