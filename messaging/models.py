"""Guest and staff communication: the outbox, staff, turnovers, key codes, broadcasts.

The outbox (`ScheduledMessage`) is the only place a future email lives. Redis carries
just the ids of rows that are due now (see messaging.services.outbox and
docs/scheduling.md), so losing Redis or a worker loses nothing: an unsent row stays
`scheduled` in PostgreSQL and is claimed again once its lease runs out.
"""

from __future__ import annotations

from datetime import time

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from bookings.models import Booking
from properties.models import Business, BusinessQuerySet, Property


class Audience(models.TextChoices):
    GUEST = "guest", "Guest"
    STAFF = "staff", "Staff"
    OWNER = "owner", "Owner"


class Kind(models.TextChoices):
    CONFIRMATION = "confirmation", "Booking confirmation"
    REMINDER = "reminder", "Pre-arrival reminder"
    WELCOME = "welcome", "Welcome with key code"
    KEY_UPDATE = "key_update", "Corrected arrival details"
    CHECKOUT_REMINDER = "checkout_reminder", "Check-out reminder"
    THANK_YOU = "thank_you", "Thank you"
    CANCELLATION = "cancellation", "Cancellation notice"
    REFUND_NOTICE = "refund_notice", "Automatic refund notice"
    BROADCAST = "broadcast", "Free dates (broadcast)"
    CLEANER_JOB = "cleaner_job", "Cleaning job"
    CLEANER_UPDATE = "cleaner_update", "Cleaning job changed"
    OWNER_NEW_BOOKING = "owner_new_booking", "Owner: new booking"
    OWNER_CANCELLATION = "owner_cancellation", "Owner: cancellation"
    OWNER_CONFLICT = "owner_conflict", "Owner: calendar conflict"
    OWNER_PROBLEM = "owner_problem", "Owner: staff problem report"
    OWNER_UNACCEPTED = "owner_unaccepted", "Owner: cleaning job not accepted"
    OWNER_KEY_CODE = "owner_key_code", "Owner: key code not confirmed"
    GUEST_REPLY = "guest_reply", "Reply to a guest"
    OWNER_GUEST_MESSAGE = "owner_guest_message", "Owner: new guest message"
    OWNER_BILLING = "owner_billing", "Owner: Holidesk plan needs payment"
    STAY_CHANGED = "stay_changed", "Stay dates changed"
    OWNER_STAY_CHANGED = "owner_stay_changed", "Owner: stay dates changed"


AUDIENCE: dict[str, str] = {
    Kind.CONFIRMATION: Audience.GUEST,
    Kind.REMINDER: Audience.GUEST,
    Kind.WELCOME: Audience.GUEST,
    Kind.KEY_UPDATE: Audience.GUEST,
    Kind.CHECKOUT_REMINDER: Audience.GUEST,
    Kind.THANK_YOU: Audience.GUEST,
    Kind.CANCELLATION: Audience.GUEST,
    Kind.REFUND_NOTICE: Audience.GUEST,
    Kind.BROADCAST: Audience.GUEST,
    Kind.CLEANER_JOB: Audience.STAFF,
    Kind.CLEANER_UPDATE: Audience.STAFF,
    Kind.OWNER_NEW_BOOKING: Audience.OWNER,
    Kind.OWNER_CANCELLATION: Audience.OWNER,
    Kind.OWNER_CONFLICT: Audience.OWNER,
    Kind.OWNER_PROBLEM: Audience.OWNER,
    Kind.OWNER_UNACCEPTED: Audience.OWNER,
    Kind.OWNER_KEY_CODE: Audience.OWNER,
    Kind.GUEST_REPLY: Audience.GUEST,
    Kind.STAY_CHANGED: Audience.GUEST,
    Kind.OWNER_STAY_CHANGED: Audience.OWNER,
    Kind.OWNER_GUEST_MESSAGE: Audience.OWNER,
    Kind.OWNER_BILLING: Audience.OWNER,
}

# Lower goes first when more is due than the rate limit allows (a Saturday changeover):
# key codes, then same-day arrivals, then transactional mail, reminders, marketing.
PRIORITY_KEY_CODE = 0
PRIORITY_SAME_DAY = 1
PRIORITY_TRANSACTIONAL = 3
PRIORITY_REMINDER = 6
PRIORITY_MARKETING = 9

KIND_PRIORITY: dict[str, int] = {
    Kind.WELCOME: PRIORITY_KEY_CODE,
    Kind.KEY_UPDATE: PRIORITY_KEY_CODE,
    Kind.CLEANER_JOB: PRIORITY_KEY_CODE,
    Kind.CLEANER_UPDATE: PRIORITY_KEY_CODE,
    Kind.OWNER_KEY_CODE: PRIORITY_KEY_CODE,
    Kind.CONFIRMATION: PRIORITY_TRANSACTIONAL,
    Kind.CANCELLATION: PRIORITY_TRANSACTIONAL,
    Kind.REFUND_NOTICE: PRIORITY_TRANSACTIONAL,
    Kind.OWNER_NEW_BOOKING: PRIORITY_TRANSACTIONAL,
    Kind.OWNER_CANCELLATION: PRIORITY_TRANSACTIONAL,
    Kind.STAY_CHANGED: PRIORITY_TRANSACTIONAL,
    Kind.OWNER_STAY_CHANGED: PRIORITY_TRANSACTIONAL,
    Kind.OWNER_CONFLICT: PRIORITY_TRANSACTIONAL,
    Kind.OWNER_BILLING: PRIORITY_TRANSACTIONAL,
    Kind.OWNER_PROBLEM: PRIORITY_TRANSACTIONAL,
    Kind.OWNER_UNACCEPTED: PRIORITY_TRANSACTIONAL,
    Kind.GUEST_REPLY: PRIORITY_TRANSACTIONAL,
    Kind.OWNER_GUEST_MESSAGE: PRIORITY_TRANSACTIONAL,
    Kind.REMINDER: PRIORITY_REMINDER,
    Kind.CHECKOUT_REMINDER: PRIORITY_REMINDER,
    Kind.THANK_YOU: PRIORITY_REMINDER,
    Kind.BROADCAST: PRIORITY_MARKETING,
}


# --- Settings (created lazily, one per business / property) ------------------------------


class BusinessMessaging(models.Model):
    """Business-wide message timing. Times are local to each property."""

    business = models.OneToOneField(
        Business, on_delete=models.CASCADE, related_name="messaging_settings"
    )
    quiet_hours = models.BooleanField(
        default=True, help_text="Send nothing to guests between 21:00 and 08:00 property time."
    )
    reminder_days_before = models.PositiveSmallIntegerField(
        default=7, validators=[MinValueValidator(1), MaxValueValidator(60)]
    )
    reminder_time = models.TimeField(default=time(10, 0))
    welcome_hours_before = models.PositiveSmallIntegerField(
        default=24, validators=[MinValueValidator(1), MaxValueValidator(168)]
    )
    checkout_reminder_time = models.TimeField(
        default=time(18, 0), help_text="On the evening before check-out."
    )
    thank_you_time = models.TimeField(default=time(10, 0), help_text="On the day after check-out.")
    cleaner_notice_time = models.TimeField(
        default=time(9, 0), help_text="On the day before the cleaning job."
    )
    accept_deadline_hours = models.PositiveSmallIntegerField(
        default=18,
        validators=[MaxValueValidator(240)],
        help_text="Alert me if a cleaning job is not accepted this long before the next arrival.",
    )
    key_code_length = models.PositiveSmallIntegerField(
        default=4, validators=[MinValueValidator(4), MaxValueValidator(6)]
    )
    owner_email = models.EmailField(
        blank=True, help_text="Where owner notices go (default: the business contact email)."
    )

    objects = BusinessQuerySet.as_manager()

    class Meta:
        verbose_name = "message settings"
        verbose_name_plural = "message settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(key_code_length__gte=4) & Q(key_code_length__lte=6),
                name="business_messaging_code_length_4_6",
            )
        ]

    def __str__(self) -> str:
        return f"Message settings of {self.business}"


class Staff(models.Model):
    class StaffKind(models.TextChoices):
        CLEANER = "cleaner", "Cleaner"
        REPAIR = "repair", "Repairs"
        OTHER = "other", "Other"

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="staff")
    name = models.CharField(max_length=120)
    email = models.EmailField()
    phone = models.CharField(max_length=40, blank=True)
    kind = models.CharField(max_length=10, choices=StaffKind.choices, default=StaffKind.CLEANER)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = BusinessQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "staff"
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class PropertyMessaging(models.Model):
    """Per-property messaging settings; empty fields fall back to the business's."""

    property = models.OneToOneField(
        Property, on_delete=models.CASCADE, related_name="messaging_settings"
    )
    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    default_cleaner = models.ForeignKey(
        Staff, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    key_code_length = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(4), MaxValueValidator(6)]
    )
    quiet_hours = models.BooleanField(
        null=True, blank=True, help_text="Empty: as the business's setting."
    )
    reminder_days_before = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(60)]
    )
    welcome_hours_before = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(168)]
    )
    directions = models.TextField(blank=True, max_length=4000)
    key_box_location = models.CharField(max_length=200, blank=True)

    objects = BusinessQuerySet.as_manager()

    class Meta:
        verbose_name = "property message settings"
        verbose_name_plural = "property message settings"

    def __str__(self) -> str:
        return f"Message settings of {self.property}"


# --- Turnovers and key codes -------------------------------------------------------------


class Turnover(models.Model):
    """The cleaning job after a confirmed stay's check-out, until the next arrival."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting for the cleaner"
        ACCEPTED = "accepted", "Accepted"
        DONE = "done", "Done"
        PROBLEM = "problem", "Problem reported"
        CANCELLED = "cancelled", "Cancelled"

    class CodeOutcome(models.TextChoices):
        UNANSWERED = "", "Not answered"
        SET = "set", "Code set"
        NOT_SET = "not_set", "Could not change the code"

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="turnovers")
    property = models.ForeignKey(Property, on_delete=models.CASCADE, related_name="turnovers")
    booking = models.OneToOneField(Booking, on_delete=models.CASCADE, related_name="turnover")
    next_booking = models.ForeignKey(
        Booking, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    cleaner = models.ForeignKey(
        Staff, on_delete=models.SET_NULL, null=True, blank=True, related_name="turnovers"
    )
    starts_at = models.DateTimeField(help_text="Check-out of the departing stay.")
    ends_at = models.DateTimeField(
        null=True, blank=True, help_text="Check-in of the next arrival (empty: none yet)."
    )
    accept_by = models.DateTimeField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    # Bumped whenever the job changes, so links from an older email stop working.
    revision = models.PositiveIntegerField(default=1)
    accepted_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    problem = models.TextField(blank=True, max_length=4000)
    # The cleaner's answer on the done page: did they set the box to the job's code?
    code_outcome = models.CharField(
        max_length=8, choices=CodeOutcome.choices, blank=True, default=CodeOutcome.UNANSWERED
    )
    code_outcome_at = models.DateTimeField(null=True, blank=True)
    owner_alerted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = BusinessQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at"]
        indexes = [models.Index(fields=["state", "accept_by"], name="turnover_accept_idx")]

    def __str__(self) -> str:
        return f"Cleaning {self.property} {self.starts_at:%Y-%m-%d}"


class KeyCode(models.Model):
    """A key-box code of one property. A turnover's cleaner is told to set its code; it
    is on the box only once someone confirms it (`confirmed_at`, `KeyBox`). The first
    code of a property, and a code the owner reports having set, have no turnover. A
    code is retired (kept, no longer planned) when its job is cancelled, or when it is
    replaced because a cleaner taken off the job was told it; a replaced code has no
    turnover. Deleted only once four newer codes were confirmed on the box."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    property = models.ForeignKey(Property, on_delete=models.CASCADE, related_name="key_codes")
    code = models.CharField(max_length=6)
    turnover = models.OneToOneField(
        Turnover, on_delete=models.SET_NULL, null=True, blank=True, related_name="key_code"
    )
    valid_from = models.DateField()
    retired_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when its cleaning job was cancelled."
    )
    confirmed_at = models.DateTimeField(
        null=True, blank=True, help_text="When someone first confirmed it on the box."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = BusinessQuerySet.as_manager()

    class Meta:
        ordering = ["property", "-valid_from", "-id"]

    def __str__(self) -> str:
        # Never the code itself: this text ends up in the audit log and page titles.
        return f"Key code of {self.property} from {self.valid_from}"


class KeyCodeConfirmation(models.Model):
    """Someone said a code is on a property's box: a cleaner through their job link, or
    an owner in the admin. Append-only; goes with its code when the code is deleted."""

    class Source(models.TextChoices):
        CLEANER = "cleaner", "Cleaner"
        OWNER = "owner", "Owner"
        CARRIED_OVER = "carried_over", "On the box before confirmations were recorded"

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    property = models.ForeignKey(
        Property, on_delete=models.CASCADE, related_name="key_code_confirmations"
    )
    key_code = models.ForeignKey(KeyCode, on_delete=models.CASCADE, related_name="confirmations")
    turnover = models.ForeignKey(
        Turnover, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    source = models.CharField(max_length=12, choices=Source.choices)
    confirmed_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    confirmed_by_staff = models.ForeignKey(
        Staff, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    confirmed_at = models.DateTimeField()

    objects = BusinessQuerySet.as_manager()

    class Meta:
        ordering = ["-confirmed_at", "-id"]
        indexes = [models.Index(fields=["property", "-confirmed_at"], name="keycode_confirm_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(confirmed_by_user__isnull=True) | Q(confirmed_by_staff__isnull=True),
                name="keycode_confirm_one_confirmer",
            )
        ]

    def __str__(self) -> str:
        return f"{self.key_code.code} confirmed {self.confirmed_at:%Y-%m-%d %H:%M}"

    def confirmed_by(self) -> str:
        person = self.confirmed_by_staff or self.confirmed_by_user
        name = getattr(person, "name", "") or getattr(person, "email", "")
        return (
            f"{name} ({self.get_source_display().lower()})" if name else self.get_source_display()
        )


class KeyBox(models.Model):
    """The code confirmed on a property's key box now: what guests are sent. It changes
    only through a confirmation; the code on the box can never be deleted (PROTECT)."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    property = models.OneToOneField(Property, on_delete=models.CASCADE, related_name="key_box")
    key_code = models.ForeignKey(KeyCode, on_delete=models.PROTECT, related_name="+")
    since = models.DateTimeField(help_text="When this code was confirmed on the box.")
    updated_at = models.DateTimeField(auto_now=True)

    objects = BusinessQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "key boxes"

    def __str__(self) -> str:
        return f"{self.property}: {self.key_code.code}"


# --- Broadcasts and opt-outs -------------------------------------------------------------


class Broadcast(models.Model):
    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="broadcasts")
    property = models.ForeignKey(Property, on_delete=models.CASCADE, related_name="+")
    free_from = models.DateField(help_text="First free night.")
    free_until = models.DateField(help_text="Day after the last free night.")
    note = models.TextField(blank=True, max_length=2000, help_text="A personal line to add.")
    total = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = BusinessQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(free_until__gt=models.F("free_from")),
                name="broadcast_range_not_empty",
            )
        ]

    def __str__(self) -> str:
        return f"{self.property}: free {self.free_from} to {self.free_until}"


class GuestOptOut(models.Model):
    """A guest who unsubscribed from this business's marketing emails."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    email = models.EmailField()
    created_at = models.DateTimeField(auto_now_add=True)

    objects = BusinessQuerySet.as_manager()

    class Meta:
        verbose_name = "unsubscribed guest"
        constraints = [
            models.UniqueConstraint(fields=["business", "email"], name="optout_unique_email")
        ]

    def __str__(self) -> str:
        return self.email


# --- Templates ---------------------------------------------------------------------------


class EmailTemplate(models.Model):
    """A business's own subject and body for one kind of message (plain text with
    {{ variables }}); the built-in template is used where there is none."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="email_templates")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    subject = models.CharField(max_length=200)
    body = models.TextField(max_length=10000)
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = BusinessQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["business", "kind"], name="email_template_unique_kind")
        ]

    def __str__(self) -> str:
        return self.get_kind_display()


# --- The outbox --------------------------------------------------------------------------


class ScheduledMessage(models.Model):
    class State(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        SKIPPED = "skipped", "Skipped"

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    booking = models.ForeignKey(
        Booking, on_delete=models.CASCADE, null=True, blank=True, related_name="messages"
    )
    turnover = models.ForeignKey(
        Turnover, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages"
    )
    broadcast = models.ForeignKey(
        Broadcast, on_delete=models.CASCADE, null=True, blank=True, related_name="messages"
    )
    conversation = models.ForeignKey(
        "messaging.Conversation",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="emails",
    )
    kind = models.CharField(max_length=24, choices=Kind.choices)
    recipient = models.EmailField()
    recipient_name = models.CharField(max_length=150, blank=True)
    # Unique per booking (or turnover, broadcast) + kind + recipient (+ a revision for
    # correction emails): scheduling the same message twice is a no-op.
    key = models.CharField(max_length=255, unique=True)
    send_at = models.DateTimeField()
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="After this the message is useless and is skipped."
    )
    priority = models.PositiveSmallIntegerField(default=PRIORITY_TRANSACTIONAL)
    state = models.CharField(max_length=10, choices=State.choices, default=State.SCHEDULED)
    context = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    needs_review = models.BooleanField(
        default=False, help_text="Delivery unknown: the sender stopped mid-send."
    )
    claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    sending_at = models.DateTimeField(null=True, blank=True, editable=False)
    sent_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(max_length=255, blank=True, editable=False)
    provider_message_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = BusinessQuerySet.as_manager()

    class Meta:
        ordering = ["send_at"]
        indexes = [
            # The dispatcher's query: due, unclaimed, scheduled rows, most urgent first.
            models.Index(
                fields=["send_at"],
                name="outbox_due_idx",
                condition=Q(state="scheduled"),
            ),
            models.Index(
                fields=["sending_at"], name="outbox_sending_idx", condition=Q(state="sending")
            ),
            models.Index(fields=["business", "state", "send_at"], name="outbox_business_idx"),
            # Today's "emails in trouble" asks for failed, stuck or needs-review rows:
            # with this one every branch of that question has an index.
            models.Index(
                fields=["business", "send_at"],
                name="outbox_review_idx",
                condition=Q(needs_review=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.recipient}"

    @property
    def audience(self) -> str:
        return AUDIENCE[self.kind]


class SentEmail(models.Model):
    """Every email handed to the provider, with the ids to find it there."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    scheduled_message = models.OneToOneField(
        ScheduledMessage, on_delete=models.SET_NULL, null=True, related_name="sent_email"
    )
    kind = models.CharField(max_length=24, choices=Kind.choices)
    to = models.EmailField()
    subject = models.CharField(max_length=255)
    message_id = models.CharField(max_length=255)
    provider_message_id = models.CharField(max_length=255, blank=True)
    backend = models.CharField(max_length=120)
    sent_at = models.DateTimeField()

    objects = BusinessQuerySet.as_manager()

    class Meta:
        ordering = ["-sent_at"]

    def __str__(self) -> str:
        return f"{self.subject} to {self.to}"


# The inbox's models live in their own module (its size); importing them here registers
# them with the app.
from messaging.inbox_models import Conversation, ConversationMessage  # noqa: E402, F401
