"""Payments in the tenant-scoped admin: owners read payments and refunds of their own
business (they are written only by the payment services); the platform sets each
business's connected Stripe account once its Connect onboarding is done."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from bookings.payments.models import Payment, Refund, StripeAccount
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

    list_display = ["business", "account_id", "charges_enabled", "created_at"]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return bool(request.user.is_superuser)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)
