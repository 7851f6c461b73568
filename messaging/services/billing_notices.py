"""The owner's email when their Holidesk plan needs them (payments' `billing_notice`)."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from messaging.models import Kind, ScheduledMessage
from messaging.services.stay_messages import owner_notice_announce
from properties.models import Business


def _summary(stage: str, grace_ends: datetime, business: Business) -> str:
    local = timezone.localtime(grace_ends, business.tz)
    until = f"{local:%a %-d %b %Y %H:%M}"
    if stage == "paused":
        return (
            f"Your Holidesk subscription is unpaid and the grace period ended on {until}: "
            f"{business.name}'s site no longer takes new bookings. Update your card and "
            "bookings resume as soon as the payment goes through."
        )
    what = (
        "Your Holidesk subscription has ended."
        if stage == "ended"
        else "The payment for your Holidesk plan did not go through."
    )
    return f"{what} Your site keeps taking bookings until {until}; update your card before then."


def billing_notice_schedule(
    *, business_id: int, stage: str, key: str, grace_ends: datetime, now: datetime | None = None
) -> ScheduledMessage | None:
    """One email per lapse and stage (the key says which lapse)."""
    business = Business.objects.filter(pk=business_id).first()
    if business is None:
        return None
    return owner_notice_announce(
        business_id=business_id,
        kind=Kind.OWNER_BILLING,
        key=f"{key}:{stage}",
        summary=_summary(stage, grace_ends, business),
        now=now,
    )
