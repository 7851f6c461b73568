"""Messaging's contributions to the owner dashboard, registered from
`MessagingConfig.ready()`."""

from __future__ import annotations

from properties.dashboard.registry import register_extension, register_page, register_today_panel
from properties.permissions import MANAGE_MESSAGES


def register() -> None:
    from bookings.dashboard.slots import BOOKING_FACTS, BOOKING_SECTIONS
    from messaging.dashboard import panels, views

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
