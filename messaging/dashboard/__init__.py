"""Messaging's contributions to the owner dashboard (Today panels, the booking page's
emails and cleaning, free-night broadcasts), registered from `MessagingConfig.ready()`."""

from __future__ import annotations

from properties.dashboard.registry import (
    register_extension,
    register_nav,
    register_page,
    register_today_panel,
)
from properties.permissions import MANAGE_MESSAGES


def register() -> None:
    from bookings.dashboard.slots import BOOKING_FACTS, BOOKING_SECTIONS
    from messaging.dashboard import broadcasts, panels, views

    register_today_panel("cleaning", "Cleaning today", panels.cleaning_today, order=40)
    register_today_panel(
        "emails",
        "Emails that failed or are stuck",
        panels.emails_in_trouble,
        order=20,
        kind="attention",
    )
    register_extension(BOOKING_FACTS, panels.stay_facts)
    register_extension(BOOKING_SECTIONS, panels.booking_sections)
    register_page(
        "messages/<int:message_id>/send-again/",
        views.message_send_again,
        name="message-send-again",
        action=MANAGE_MESSAGES,
    )
    register_page("broadcasts/", broadcasts.broadcasts_page, name="broadcasts")
    register_page(
        "broadcasts/new/",
        broadcasts.broadcast_new_page,
        name="broadcast-new",
        action=MANAGE_MESSAGES,
    )
    register_page(
        "broadcasts/<int:broadcast_id>/",
        broadcasts.broadcast_progress_page,
        name="broadcast-progress",
    )
    register_page(
        "broadcasts/<int:broadcast_id>/progress.json",
        broadcasts.broadcast_progress_json,
        name="broadcast-progress-json",
    )
    register_nav("Broadcasts", "dashboard:broadcasts", order=35)
