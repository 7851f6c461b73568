"""Integrations' contributions to the owner dashboard, registered from
`IntegrationsConfig.ready()`."""

from __future__ import annotations

from django.urls import reverse

from properties.dashboard.registry import (
    register_extension,
    register_nav,
    register_page,
    register_setup_step,
    register_today_panel,
)
from properties.permissions import MANAGE_CHANNELS, VIEW_CHANNELS, VIEW_CONFLICTS


def register() -> None:
    from bookings.dashboard.slots import BOOKING_LOCK, BOOKING_SECTIONS, CALENDAR_MARKS
    from integrations.dashboard import panels, views

    register_page("conflicts/", views.conflicts_page, name="conflicts", action=VIEW_CONFLICTS)
    register_page(
        "conflicts/<str:public_id>/", views.conflict_page, name="conflict", action=VIEW_CONFLICTS
    )
    register_page("channels/", views.channels_page, name="channels", action=VIEW_CHANNELS)
    register_page(
        "channels/redrive/", views.channels_redrive, name="channels-redrive", action=MANAGE_CHANNELS
    )
    register_nav("Conflicts", "dashboard:conflicts", order=40, action=VIEW_CONFLICTS)
    register_nav("Channels", "dashboard:channels", order=50, action=VIEW_CHANNELS)
    register_today_panel(
        "conflicts",
        "Double bookings to resolve",
        panels.conflicts_panel,
        order=10,
        kind="attention",
        action=VIEW_CONFLICTS,
    )
    register_today_panel(
        "channels",
        "Channel problems",
        panels.channels_panel,
        order=40,
        kind="attention",
        action=VIEW_CHANNELS,
    )
    register_extension(CALENDAR_MARKS, panels.calendar_marks)
    register_extension(BOOKING_SECTIONS, panels.booking_sections)
    register_extension(BOOKING_LOCK, panels.lock_reason)
    register_setup_step(
        "channel",
        "Connect a channel",
        text=(
            "Link Airbnb, Booking.com or Vrbo (or add a partner's iCal feed) so their "
            "bookings land on your calendar and your free dates reach them."
        ),
        url=lambda: reverse("admin:integrations_channel_add"),
        done=panels.channel_connected,
        order=20,
        action=MANAGE_CHANNELS,
    )
