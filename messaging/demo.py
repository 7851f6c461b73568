"""Demo data of this app for `manage.py seed_demo` (see config/management/commands).

Idempotent: the demo cleaner is looked up by email, settings rows are created only
when missing, and messages are scheduled through the outbox's unique keys."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils import timezone

from messaging.models import KeyBox, KeyCode, KeyCodeConfirmation, Kind, ScheduledMessage, Staff
from messaging.services.calendar_sync import property_messages_refresh
from messaging.services.key_box import key_code_confirm
from messaging.services.outbox import messages_cancel_pending
from messaging.services.settings_rows import (
    business_messaging_get_or_create,
    property_messaging_get_or_create,
    staff_create,
)
from properties.demo import DemoBusiness


def seed(seeded: list[DemoBusiness], *, channel_endpoint: str | None = None) -> None:
    """A cleaner per business, the default cleaner of every property, the messages,
    cleaning jobs and key codes of the demo bookings, and a confirmed code on each box."""
    for demo in seeded:
        business = demo.business
        email = f"cleaner@{business.slug}.example.com"
        cleaner = Staff.objects.filter(business=business, email=email).first()
        if cleaner is None:
            cleaner = staff_create(
                business=business,
                name=f"{business.name} cleaning team",
                email=email,
                phone="+441234500000",
            )
        business_messaging_get_or_create(business=business)
        for prop in demo.properties:
            settings_row = property_messaging_get_or_create(prop=prop)
            if settings_row.default_cleaner_id is None:
                settings_row.default_cleaner = cleaner
                settings_row.key_box_location = "to the left of the front door"
                settings_row.directions = "Park by the gate; the entrance is at the back."
                settings_row.save()
            property_messages_refresh(prop=prop)
            first = KeyCode.objects.filter(property=prop).order_by("valid_from", "id").first()
            if first is not None and not KeyBox.objects.filter(property=prop).exists():
                # The demo owner has set the box to the property's first code.
                key_code_confirm(
                    property=prop,
                    code=first.code,
                    by=None,
                    source=KeyCodeConfirmation.Source.OWNER,
                )
        _quiet_seeded_history(demo)


def _quiet_seeded_history(demo: DemoBusiness) -> None:
    """Seeded bookings are records, not news: nobody booked them just now. Their
    confirmations and new-booking notices are not sent, nor anything about stays and
    cleaning jobs already over; what lies ahead (reminders, welcomes, upcoming jobs)
    stays scheduled at its own time."""
    now = timezone.now()
    pending = ScheduledMessage.objects.filter(business=demo.business)
    messages_cancel_pending(
        pending.filter(kind__in=[Kind.CONFIRMATION, Kind.OWNER_NEW_BOOKING]),
        reason="Demo data: seeded, not booked just now.",
    )
    messages_cancel_pending(
        pending.filter(
            Q(turnover__starts_at__lt=now)
            | Q(booking__isnull=False, booking__stay__endswith__lte=now.date())
        ),
        reason="Demo data: already in the past.",
    )


def describe(entry: dict[str, Any], demo: DemoBusiness) -> None:
    """Messaging adds nothing to the printed JSON."""
