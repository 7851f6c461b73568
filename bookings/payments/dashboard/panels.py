"""The Today panel of payments: what about the business's Stripe account or its
Holidesk subscription needs the owner now (one query)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db.models.expressions import RawSQL
from django.urls import reverse
from django.utils import timezone

from bookings.payments.services.billing import standing_of
from properties.dashboard.access import Acting
from properties.dashboard.registry import Badge, Item, Panel, exists_sql
from properties.models import Business


def has_subscribed(business: Business) -> RawSQL:
    return exists_sql(
        "SELECT FROM payments_subscription WHERE business_id = %s AND subscription_id <> ''",
        [business.pk],
    )


def _one(business: Business, name: str) -> Any:
    try:
        return getattr(business, name)
    except ObjectDoesNotExist:
        return None


def billing_anything(acting: Acting) -> RawSQL:
    """Whether `billing_attention` may have something, asked with the other panels'
    questions: a subscription that lapsed (grace or paused), a Stripe account with
    charges off or details due. It may say yes for nothing (an empty `{}` of details
    due); never no for something."""
    return exists_sql(
        "SELECT FROM payments_subscription WHERE business_id = %s AND lapsed_at IS NOT NULL"
        " UNION ALL SELECT FROM bookings_stripeaccount WHERE business_id = %s"
        " AND NOT (charges_enabled AND requirements_due = '[]'::jsonb)",
        [acting.business.pk, acting.business.pk],
    )


def billing_attention(acting: Acting) -> Panel:
    items: list[Item] = []
    # The subscription and the Stripe account in one query: both hang off the business.
    row = (
        Business.objects.filter(pk=acting.business.pk)
        .select_related("holidesk_subscription", "stripe_account")
        .get()
    )
    subscription = _one(row, "holidesk_subscription")
    standing = standing_of(subscription, timezone.now())
    billing_url = reverse("dashboard:billing")
    if standing.state == "paused":
        items.append(
            Item(
                title="Your site is not taking bookings",
                url=billing_url,
                detail=(
                    "Your Holidesk subscription is unpaid and the grace period is over. "
                    "Update your card to take bookings again."
                ),
                badges=(Badge("Bookings paused", "bad"),),
            )
        )
    elif standing.state == "grace" and standing.grace_ends is not None:
        local = timezone.localtime(standing.grace_ends)
        items.append(
            Item(
                title="Your Holidesk payment did not go through",
                url=billing_url,
                detail=(
                    f"Bookings continue until {local:%-d %b %Y %H:%M}. Update your card to "
                    "keep your site open."
                ),
                badges=(Badge("Payment failed", "warn"),),
            )
        )
    account = _one(row, "stripe_account")
    if account is not None and (not account.charges_enabled or account.requirements_due):
        items.append(
            Item(
                title="Stripe needs more information",
                url=reverse("dashboard:stripe"),
                detail=(
                    "Guests cannot pay online until Stripe has what it asks for."
                    if not account.charges_enabled
                    else "Stripe asks for more details; payments may stop if they are not given."
                ),
                badges=(
                    Badge(
                        "Charges off" if not account.charges_enabled else "Details due",
                        "bad" if not account.charges_enabled else "warn",
                    ),
                ),
            )
        )
    return Panel(items=items, empty="Payments and your plan are in order.")
