"""The owner's inbox: one conversation per direct stay or partner reservation, and its
messages (docs/dashboard.md, "Inbox").

Kept out of messaging/models.py only for its size; messaging.models imports these
classes, so they are registered with the app like every other model there.

A partner thread names its channel by the channel's public id and platform name (plain
text, no foreign key): integrations owns channels, and the two apps speak only through
the signals in bookings.signals.
"""

from __future__ import annotations

import builtins
import secrets

from django.db import models
from django.db.models import Q
from django.utils import timezone

from bookings.models import Booking
from properties.models import Business, BusinessQuerySet, Property, User

# What an owner or a guest may write in one message (a partner may send up to 10,000).
MAX_BODY = 5000
PREVIEW_CHARS = 140


def new_message_ref() -> str:
    """Our id of a message we send (the partner's `message_id` of a reply)."""
    return "hdm_" + secrets.token_urlsafe(12)


class Conversation(models.Model):
    class Kind(models.TextChoices):
        DIRECT = "direct", "Direct guest"
        PARTNER = "partner", "Partner platform"

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    booking = models.ForeignKey(
        Booking,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="conversations",
        help_text="Empty for a partner message about a reservation not known yet.",
    )
    property = models.ForeignKey(
        Property, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    partner_channel = models.CharField(
        max_length=40, blank=True, help_text="The channel's public id (partner threads)."
    )
    partner_name = models.CharField(max_length=80, blank=True, help_text="e.g. Airbnb")
    partner_reservation = models.CharField(max_length=100, blank=True)
    guest_name = models.CharField(max_length=150, blank=True)
    guest_email = models.EmailField(blank=True)
    last_message_at = models.DateTimeField(default=timezone.now)
    last_preview = models.CharField(max_length=PREVIEW_CHARS, blank=True)
    last_from_guest = models.BooleanField(default=True)
    unread = models.BooleanField(default=False, help_text="A guest wrote since the owner looked.")
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = BusinessQuerySet.as_manager()

    class Meta:
        ordering = ["-last_message_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["booking"], condition=Q(kind="direct"), name="conversation_one_per_stay"
            ),
            models.UniqueConstraint(
                fields=["partner_channel", "partner_reservation"],
                condition=Q(kind="partner"),
                name="conversation_one_per_reservation",
            ),
            models.CheckConstraint(
                condition=Q(kind="direct")
                | (Q(kind="partner") & ~Q(partner_channel="") & ~Q(partner_reservation="")),
                name="conversation_partner_named",
            ),
        ]
        indexes = [
            models.Index(fields=["business", "-last_message_at"], name="conversation_inbox"),
            models.Index(
                fields=["business", "-last_message_at"],
                condition=Q(unread=True),
                name="conversation_unread",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.source_label})"

    # `property` is a field of this model, so the decorator is spelled out.
    @builtins.property
    def display_name(self) -> str:
        if self.guest_name:
            return self.guest_name
        if self.kind == self.Kind.PARTNER:
            return f"Guest of {self.partner_reservation}"
        return "Guest"

    @builtins.property
    def source_label(self) -> str:
        if self.kind == self.Kind.PARTNER:
            return self.partner_name or "Partner"
        return "Direct"


class ConversationMessage(models.Model):
    class Direction(models.TextChoices):
        IN = "in", "From the guest"
        OUT = "out", "To the guest"

    class Delivery(models.TextChoices):
        NONE = "", "Received"
        PENDING = "pending", "Sending"
        SENT = "sent", "Delivered"
        FAILED = "failed", "Not delivered"

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    direction = models.CharField(max_length=3, choices=Direction.choices)
    author = models.CharField(max_length=150, blank=True)
    author_user = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    body = models.TextField(max_length=10000)
    created_at = models.DateTimeField(default=timezone.now)
    # The partner's message id (received), or ours (sent): unique per thread, so a
    # repeated delivery or a form submitted twice records one message.
    external_id = models.CharField(max_length=100, blank=True)
    # Partner replies: set from the push's outcome. Email replies: see `email`.
    delivery = models.CharField(
        max_length=8, choices=Delivery.choices, default=Delivery.NONE, blank=True
    )
    delivery_error = models.CharField(max_length=500, blank=True)
    email = models.OneToOneField(
        "messaging.ScheduledMessage",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="conversation_message",
        help_text="The outbox row that emails a reply to a direct guest.",
    )

    objects = BusinessQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "external_id"],
                condition=~Q(external_id=""),
                name="conversation_message_unique_ref",
            )
        ]
        indexes = [models.Index(fields=["conversation", "created_at"], name="conversation_thread")]

    def __str__(self) -> str:
        return f"{self.get_direction_display()}: {self.body[:40]}"

    @property
    def delivery_state(self) -> str:
        """One of Delivery's values, for an email reply read from its outbox row."""
        if self.direction == self.Direction.IN:
            return self.Delivery.NONE
        row = self.email
        if row is None:
            return self.delivery
        state = type(row).State
        if row.state == state.SENT:
            return self.Delivery.SENT
        if row.state in (state.FAILED, state.CANCELLED, state.SKIPPED):
            return self.Delivery.FAILED
        return self.Delivery.PENDING
