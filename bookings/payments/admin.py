"""Payments in the tenant-scoped admin: owners read payments and refunds of their own
business (they are written only by the payment services), the connected Stripe account
(made by the dashboard's onboarding, or set by a platform superuser) and the Holidesk
subscription (written only from Stripe's events)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from bookings.payments.models import Payment, Refund, StripeAccount, Subscription
from properties.admin_base import ReadOnlyTenantAdmin, TenantAdmin, site
from properties.permissions import MANAGE_PAYOUTS


@admin.register(Payment, site=site)
class PaymentAdmin(ReadOnlyTenantAdmin):
    list_display = ["booking", "kind", "amount", "currency", "status", "gateway", "created_at"]
    list_filter = ["status", "kind", "gateway"]
    search_fields = ["booking__reference", "checkout_id", "payment_intent_id"]
    list_select_related = ["booking"]
    date_hierarchy = "created_at"


@admin.register(Refund, site=site)
class RefundAdmin(ReadOnlyTenantAdmin):
    list_display = [
        "booking",
        "amount",
        "currency",
        "reason",
        "status",
        "attempts",
        "last_error",
        "created_at",
    ]
    list_filter = ["status", "reason"]
    search_fields = ["booking__reference", "gateway_refund_id"]
    list_select_related = ["booking"]


@admin.register(StripeAccount, site=site)
class StripeAccountAdmin(TenantAdmin):
    """Owners see which account receives their payments; only the platform sets it."""

    admin_action = MANAGE_PAYOUTS

    list_display = [
        "business",
        "account_id",
        "charges_enabled",
        "payouts_enabled",
        "details_submitted",
        "status_checked_at",
    ]
    readonly_fields = [
        "account_type",
        "details_submitted",
        "payouts_enabled",
        "requirements_due",
        "disabled_reason",
        "status_checked_at",
    ]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return bool(request.user.is_superuser)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)


@admin.register(Subscription, site=site)
class SubscriptionAdmin(ReadOnlyTenantAdmin):
    list_display = [
        "business",
        "plan",
        "status",
        "quantity",
        "trial_end",
        "current_period_end",
        "lapsed_at",
    ]
    list_filter = ["status", "plan"]
    search_fields = ["customer_id", "subscription_id"]
