"""The bookings app's pages on the owner dashboard: calendar, bookings list and one
booking, reports; its Today panels; the "Connect Stripe" setup step. Registered from
`BookingsConfig.ready()`."""

from __future__ import annotations

from django.urls import reverse

from properties.dashboard.registry import (
    register_nav,
    register_page,
    register_setup_step,
    register_today_panel,
)
from properties.permissions import (
    MANAGE_BOOKINGS,
    MANAGE_PAYOUTS,
    REFUND_BEYOND_POLICY,
    VIEW_BOOKINGS,
    VIEW_CALENDAR,
    VIEW_REPORTS,
)


def register() -> None:
    from bookings.dashboard import actions, calendar, panels, reports, views

    register_page("calendar/", calendar.calendar_page, name="calendar", action=VIEW_CALENDAR)
    register_page(
        "calendar/block/", calendar.calendar_block, name="calendar-block", action=MANAGE_BOOKINGS
    )
    register_page("bookings/", views.booking_list_page, name="bookings", action=VIEW_BOOKINGS)
    register_page(
        "bookings/export.csv", views.booking_csv, name="bookings-csv", action=VIEW_BOOKINGS
    )
    register_page(
        "bookings/<str:reference>/",
        views.booking_detail_page,
        name="booking-detail",
        action=VIEW_BOOKINGS,
    )
    register_page(
        "bookings/<str:reference>/cancel/",
        views.booking_cancel_page,
        name="booking-cancel",
        action=MANAGE_BOOKINGS,
    )
    register_page(
        "bookings/<str:reference>/change-dates/",
        actions.booking_dates_page,
        name="booking-change-dates",
        action=MANAGE_BOOKINGS,
    )
    register_page(
        "bookings/<str:reference>/refund/",
        actions.booking_refund_page,
        name="booking-refund",
        action=REFUND_BEYOND_POLICY,
    )
    register_page(
        "bookings/<str:reference>/offline-payment/",
        actions.booking_offline_payment_page,
        name="booking-offline-payment",
        action=MANAGE_BOOKINGS,
    )
    register_page(
        "bookings/<str:reference>/remove-block/",
        views.block_remove_page,
        name="block-remove",
        action=MANAGE_BOOKINGS,
    )
    register_page("reports/", reports.reports_page, name="reports", action=VIEW_REPORTS)
    register_page(
        "reports/<slug:table>.csv", reports.reports_csv, name="reports-csv", action=VIEW_REPORTS
    )
    register_nav("Calendar", "dashboard:calendar", order=10, action=VIEW_CALENDAR)
    register_nav("Bookings", "dashboard:bookings", order=20, action=VIEW_BOOKINGS)
    register_nav("Reports", "dashboard:reports", order=30, action=VIEW_REPORTS)

    register_today_panel(
        "arrivals", "Arriving today", panels.arrivals, order=10, action=VIEW_BOOKINGS
    )
    register_today_panel(
        "departures", "Leaving today", panels.departures, order=20, action=VIEW_BOOKINGS
    )
    register_today_panel(
        "in_house", "In the house", panels.in_house, order=30, action=VIEW_BOOKINGS
    )
    register_today_panel(
        "refunds",
        "Refunds the payment provider refused",
        panels.refunds,
        order=30,
        kind="attention",
        action=REFUND_BEYOND_POLICY,
    )
    register_setup_step(
        "stripe",
        "Connect Stripe",
        text=(
            "Guests pay by card through your own Stripe account: connect it with Stripe's "
            "onboarding, from here."
        ),
        url=lambda: reverse("dashboard:stripe"),
        done=panels.stripe_connected,
        order=30,
        action=MANAGE_PAYOUTS,
    )
