"""Payments' pages on the owner dashboard: connecting the business's Stripe account
and its Holidesk subscription, with a Today panel when either needs the owner.
Registered from `PaymentsConfig.ready()`."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from properties.dashboard.registry import (
    register_nav,
    register_page,
    register_setup_step,
    register_today_panel,
)
from properties.permissions import MANAGE_PAYOUTS


def register() -> None:
    from bookings.payments.dashboard import pages, panels

    register_page("stripe/", pages.stripe_page, name="stripe", action=MANAGE_PAYOUTS)
    register_page(
        "stripe/connect/", pages.stripe_connect, name="stripe-connect", action=MANAGE_PAYOUTS
    )
    register_page(
        "stripe/return/", pages.stripe_return, name="stripe-return", action=MANAGE_PAYOUTS
    )
    register_page(
        "stripe/refresh/", pages.stripe_refresh, name="stripe-refresh", action=MANAGE_PAYOUTS
    )
    register_page("billing/", pages.billing_page, name="billing", action=MANAGE_PAYOUTS)
    register_page(
        "billing/subscribe/",
        pages.billing_subscribe,
        name="billing-subscribe",
        action=MANAGE_PAYOUTS,
    )
    register_page(
        "billing/portal/", pages.billing_portal, name="billing-portal", action=MANAGE_PAYOUTS
    )
    register_page(
        "billing/return/", pages.billing_return, name="billing-return", action=MANAGE_PAYOUTS
    )
    register_nav("Payments & plan", "dashboard:stripe", order=90, action=MANAGE_PAYOUTS)
    register_today_panel(
        "billing",
        "Payments and your plan",
        panels.billing_attention,
        order=5,
        kind="attention",
        anything=panels.billing_anything,
    )
    if settings.BILLING_PLANS:
        register_setup_step(
            "plan",
            "Choose your Holidesk plan",
            text=(
                f"{settings.BILLING_TRIAL_DAYS} days free, then billed per property. Card and "
                "invoices are managed with Stripe."
            ),
            url=lambda: reverse("dashboard:billing"),
            done=panels.has_subscribed,
            order=40,
        )
