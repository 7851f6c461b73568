"""Payments of direct bookings: what a gateway was asked to collect or give back.

- `StripeAccount`: the business's connected Stripe account (Stripe Connect). Checkout
  sessions and refunds are created *on* that account, so the money lands with the
  business, not with the platform.
- `Payment`: one checkout (a new stay, or the extra nights of an extension), with the
  gateway's session and payment ids, the amount in the business currency and in the
  gateway's minor units, and its state; or money the owner took outside Holidesk (cash,
  a bank transfer), recorded by them (kind `offline`, gateway `offline`); or what a
  guest still owed after the owner changed the stay, paid online (kind `balance`).
- `Refund`: money given back for one payment (a cancellation under the policy, a payment
  that arrived for nights someone else had taken, or a refund made at the gateway).
- `StripeEvent`: every verified webhook event id, under a UNIQUE constraint, inserted
  before the event is acted on: a redelivery is recognised and answered without effect.

The tables keep the names they had when these models belonged to the `bookings` app
(`bookings_payment`, ...): the move to this app changed Django's state, not the database.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from bookings.models import Booking
from properties.models import Business, BusinessQuerySet, money_field


class StripeAccount(models.Model):
    """The connected Stripe account of a business (`acct_...`), set by the platform
    once the business has finished Stripe's Connect onboarding."""

    business = models.OneToOneField(
        Business, on_delete=models.CASCADE, related_name="stripe_account"
    )
    account_id = models.CharField(
        "connected account id",
        max_length=64,
        unique=True,
        help_text="The business's Stripe account id, e.g. acct_1Abc... (Stripe Connect).",
    )
    charges_enabled = models.BooleanField(
        default=True, help_text="Off stops new checkouts (refunds still go through)."
    )
    # What Stripe last said about the account (`account.updated`, or read back when the
    # owner returns from onboarding). Accounts linked by hand in the admin keep the
    # defaults until Stripe's first word.
    account_type = models.CharField(max_length=10, blank=True)
    details_submitted = models.BooleanField(default=False)
    payouts_enabled = models.BooleanField(default=False)
    requirements_due = models.JSONField(
        default=list, blank=True, help_text="Information Stripe still needs (currently due)."
    )
    disabled_reason = models.CharField(max_length=100, blank=True)
    status_checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = BusinessQuerySet.as_manager()

    class Meta:
        db_table = "bookings_stripeaccount"
        constraints = [
            models.CheckConstraint(
                condition=Q(account_id__startswith="acct_"), name="stripe_account_id_format"
            )
        ]

    def __str__(self) -> str:
        return self.account_id


class Payment(models.Model):
    class Kind(models.TextChoices):
        STAY = "stay", _("New stay")
        EXTENSION = "extension", _("Extra nights")
        OFFLINE = "offline", _("Paid offline")
        BALANCE = "balance", _("Amount due")

    class Method(models.TextChoices):
        """How an offline payment was made (empty for gateway payments)."""

        CASH = "cash", "Cash"
        BANK_TRANSFER = "bank_transfer", "Bank transfer"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting payment")
        SUCCEEDED = "succeeded", _("Paid")
        FAILED = "failed", _("Declined")
        EXPIRED = "expired", _("Checkout expired")
        REVIEW = "review", _("Needs review")

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="payments")
    booking = models.ForeignKey(Booking, on_delete=models.PROTECT, related_name="payments")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.STAY)
    gateway = models.CharField(max_length=10)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    amount = money_field()
    currency = models.CharField(max_length=3)
    amount_minor = models.BigIntegerField(help_text="The amount in the currency's minor units.")
    # The checkout session at the gateway (Stripe `cs_...`); the payment id once paid
    # (Stripe `pi_...`, which refunds and charge events refer to).
    checkout_id = models.CharField(max_length=255, blank=True)
    checkout_url = models.CharField(max_length=2000, blank=True)
    payment_intent_id = models.CharField(max_length=255, blank=True)
    connected_account = models.CharField(max_length=64, blank=True)
    # Extension: the stay's dates once this payment succeeds.
    new_check_in = models.DateField(null=True, blank=True)
    new_check_out = models.DateField(null=True, blank=True)
    # Extension: the stay's dates it was quoted from. When the stay no longer has them
    # by the time the payment succeeds (another extension was paid first), the payment
    # is refunded instead of applied.
    from_check_in = models.DateField(null=True, blank=True)
    from_check_out = models.DateField(null=True, blank=True)
    # Extension: the held rows keeping the added nights while the guest pays.
    holds = models.ManyToManyField(
        "bookings.Booking", blank=True, related_name="extension_payments"
    )
    outcome = models.CharField(max_length=200, blank=True)
    # Offline: how it was paid, the owner's note, and who recorded it.
    method = models.CharField(max_length=16, choices=Method.choices, blank=True)
    note = models.CharField(max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    objects = BusinessQuerySet.as_manager()

    class Meta:
        db_table = "bookings_payment"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["gateway", "checkout_id"],
                condition=~Q(checkout_id=""),
                name="payment_unique_checkout",
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=0) & Q(amount_minor__gte=0), name="payment_amount_gte_0"
            ),
            models.CheckConstraint(
                condition=~Q(kind="offline") | (~Q(method="") & Q(gateway="offline")),
                name="payment_offline_has_method",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["stay", "offline", "balance"])
                | (Q(new_check_in__isnull=False) & Q(new_check_out__gt=models.F("new_check_in"))),
                name="payment_extension_has_dates",
            ),
        ]
        indexes = [models.Index(fields=["payment_intent_id"], name="payment_intent_idx")]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} for {self.booking.reference} ({self.status})"

    @property
    def is_offline(self) -> bool:
        return self.kind == self.Kind.OFFLINE

    @property
    def refunded(self) -> Decimal:
        return sum(
            (r.amount for r in self.refunds.all() if r.status != Refund.Status.FAILED),
            Decimal(0),
        )


class Refund(models.Model):
    class Reason(models.TextChoices):
        CANCELLATION = "cancellation", _("Cancelled under the policy")
        DATES_TAKEN = "dates_taken", _("Dates were taken before the payment arrived")
        BOOKING_CLOSED = "booking_closed", _("Booking was no longer open for payment")
        AT_GATEWAY = "at_gateway", _("Refunded at the payment provider")
        DATES_CHANGED = "dates_changed", _("Stay's dates changed before the extension was paid")
        OWNER = "owner", _("Refunded by the owner")
        NEW_DATES = "new_dates", _("The stay's new dates cost less")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Refunded")
        FAILED = "failed", _("Failed: retry from the payment provider")

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="refunds")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    booking = models.ForeignKey(Booking, on_delete=models.PROTECT, related_name="refunds")
    amount = money_field()
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    gateway_refund_id = models.CharField(max_length=255, blank=True)
    error = models.CharField(max_length=300, blank=True)
    # The owner's words for a refund they made (a partial refund's reason).
    note = models.CharField(max_length=300, blank=True)
    # Sends to the gateway so far; a transient failure (timeout, network, provider
    # down) leaves the refund pending for bookings.refunds_retry, with the error here.
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = BusinessQuerySet.as_manager()

    class Meta:
        db_table = "bookings_refund"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["gateway_refund_id"],
                condition=~Q(gateway_refund_id=""),
                name="refund_unique_gateway_id",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} back on {self.booking.reference} ({self.status})"


class StripeEvent(models.Model):
    """A verified Stripe webhook event. The UNIQUE id is inserted first, in the same
    transaction as the handler's writes: a redelivery (or a concurrent duplicate, which
    waits on the unique index) finds it and changes nothing."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    account = models.CharField(max_length=64, blank=True)
    business = models.ForeignKey(
        Business, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    outcome = models.CharField(max_length=300, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "bookings_stripeevent"
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.event_id} {self.type}"


class Subscription(models.Model):
    """The business's Holidesk subscription: Stripe Billing on the *platform* account
    (Holidesk is paid; nothing here touches the business's connected account).

    Written only by `bookings.payments.services.billing`, from Stripe's events. The
    business's standing (taking bookings, in grace, paused) is computed from `status`
    and `lapsed_at` by `billing_standing`.
    """

    class Status(models.TextChoices):
        NONE = "none", "Not subscribed"
        INCOMPLETE = "incomplete", "Awaiting first payment"
        INCOMPLETE_EXPIRED = "incomplete_expired", "First payment never made"
        TRIALING = "trialing", "Trial"
        ACTIVE = "active", "Active"
        PAST_DUE = "past_due", "Payment failed"
        UNPAID = "unpaid", "Unpaid"
        CANCELED = "canceled", "Cancelled"
        PAUSED = "paused", "Paused"

    business = models.OneToOneField(
        Business, on_delete=models.CASCADE, related_name="holidesk_subscription"
    )
    # Holidesk's own Stripe customer for this business (platform account).
    customer_id = models.CharField(max_length=64, blank=True)
    subscription_id = models.CharField(max_length=64, blank=True)
    # The subscription's one item (the plan's price x properties): its quantity follows
    # the business's property count (`billing_quantities_sync`).
    item_id = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NONE)
    plan = models.CharField(max_length=40, blank=True)
    price_id = models.CharField(max_length=64, blank=True)
    quantity = models.PositiveIntegerField(default=0, help_text="Properties billed.")
    trial_used = models.BooleanField(default=False)
    trial_end = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    # When payment trouble began (a failed invoice, or the subscription ended); cleared
    # once it is paid. Bookings stop BILLING_GRACE_DAYS after it.
    lapsed_at = models.DateTimeField(null=True, blank=True)
    # The owner was told bookings stopped (once per lapse).
    paused_notice_at = models.DateTimeField(null=True, blank=True)
    # `created` of the last subscription event applied: an older one arriving late
    # (Stripe does not order deliveries) is ignored.
    event_created_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = BusinessQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer_id"], condition=~Q(customer_id=""), name="subscription_customer"
            ),
            models.UniqueConstraint(
                fields=["subscription_id"],
                condition=~Q(subscription_id=""),
                name="subscription_unique_id",
            ),
        ]
        indexes = [
            models.Index(
                fields=["lapsed_at"],
                name="subscription_lapsed",
                condition=Q(lapsed_at__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"{self.business} {self.plan or '-'} ({self.status})"
