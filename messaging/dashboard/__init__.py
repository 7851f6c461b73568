"""Messaging's contributions to the owner dashboard (Today panels, the booking page's
emails and cleaning, free-night broadcasts, the inbox, staff and key codes),
registered from `MessagingConfig.ready()`."""

from __future__ import annotations

from properties.dashboard.registry import (
    register_extension,
    register_nav,
    register_page,
    register_today_panel,
)
from properties.permissions import (
    MANAGE_MESSAGES,
    MANAGE_STAFF,
    SEND_BROADCASTS,
    VIEW_BROADCASTS,
    VIEW_MESSAGES,
)


def register() -> None:
    from bookings.dashboard.slots import BOOKING_FACTS, BOOKING_SECTIONS
    from messaging.dashboard import (
        broadcasts,
        inbox,
        inbox_panels,
        panels,
        staff_edit,
        staff_keys,
        views,
    )

    register_today_panel(
        "cleaning", "Cleaning today", panels.cleaning_today, order=40, action=MANAGE_STAFF
    )
    register_today_panel(
        "emails",
        "Emails that failed or are stuck",
        panels.emails_in_trouble,
        order=20,
        kind="attention",
        action=MANAGE_MESSAGES,
    )
    register_extension(BOOKING_FACTS, panels.stay_facts)
    register_extension(BOOKING_SECTIONS, panels.booking_sections)
    register_page(
        "messages/<int:message_id>/send-again/",
        views.message_send_again,
        name="message-send-again",
        action=MANAGE_MESSAGES,
    )
    register_page(
        "broadcasts/", broadcasts.broadcasts_page, name="broadcasts", action=VIEW_BROADCASTS
    )
    register_page(
        "broadcasts/new/",
        broadcasts.broadcast_new_page,
        name="broadcast-new",
        action=SEND_BROADCASTS,
    )
    register_page(
        "broadcasts/<int:broadcast_id>/",
        broadcasts.broadcast_progress_page,
        name="broadcast-progress",
        action=VIEW_BROADCASTS,
    )
    register_page(
        "broadcasts/<int:broadcast_id>/progress.json",
        broadcasts.broadcast_progress_json,
        name="broadcast-progress-json",
        action=VIEW_BROADCASTS,
    )
    register_nav("Broadcasts", "dashboard:broadcasts", order=35, action=VIEW_BROADCASTS)

    register_page("inbox/", inbox.inbox_page, name="inbox", action=VIEW_MESSAGES)
    register_page(
        "inbox/<int:conversation_id>/",
        inbox.thread_page,
        name="inbox-thread",
        action=VIEW_MESSAGES,
    )
    register_page(
        "inbox/stay/<str:reference>/",
        inbox.stay_thread_page,
        name="inbox-stay",
        action=VIEW_MESSAGES,
    )
    register_nav("Inbox", "dashboard:inbox", order=30, action=VIEW_MESSAGES)
    register_today_panel(
        "inbox",
        "Unread guest messages",
        inbox_panels.unread_panel,
        order=5,
        kind="attention",
        action=VIEW_MESSAGES,
    )
    register_extension(BOOKING_SECTIONS, inbox_panels.booking_conversation)

    register_page("staff/", staff_keys.staff_keys_page, name="staff-keys", action=MANAGE_STAFF)
    register_page(
        "staff/key-box/<int:property_id>/",
        staff_keys.key_box_confirm_page,
        name="key-box-confirm",
        action=MANAGE_STAFF,
    )
    register_page("staff/new/", staff_edit.staff_new_page, name="staff-new", action=MANAGE_STAFF)
    register_page(
        "staff/<int:staff_id>/", staff_edit.staff_edit_page, name="staff-edit", action=MANAGE_STAFF
    )
    register_nav("Staff and keys", "dashboard:staff-keys", order=37, action=MANAGE_STAFF)
    register_today_panel(
        "key_codes",
        "Key codes to check before arrivals",
        staff_keys.key_codes_panel,
        order=15,
        kind="attention",
        action=MANAGE_STAFF,
    )
