"""Stripe calls made on the platform's own behalf: Connect onboarding of a business
(accounts and account links) and Holidesk's subscription of it (customers, Checkout in
subscription mode, the billing portal).

The real `stripe` library, with the same client settings as the checkout gateway
(`STRIPE_API_BASE` points it at the local fake in tests). Every create carries an
idempotency key derived from our row, so a retried call never makes two accounts or two
customers. A failure is a `PaymentUnavailable`, shown to the owner; nothing is half
written on our side (the services call Stripe before or outside their writes).
"""

from __future__ import annotations

import logging
from typing import Any

import stripe
from django.conf import settings

from bookings.payments.gateway import PaymentUnavailable
from bookings.payments.stripe_gateway import stripe_client

logger = logging.getLogger(__name__)

UNAVAILABLE = "Stripe is not answering just now; please try again in a minute."


class StripePlatform:
    def __init__(self, client: stripe.StripeClient | None = None) -> None:
        self.client = client or stripe_client()

    def _call(self, what: str, call: Any) -> Any:
        try:
            return call()
        except stripe.StripeError as exc:
            logger.warning("Stripe %s failed: %s", what, exc)
            raise PaymentUnavailable(UNAVAILABLE) from exc

    # --- Connect -------------------------------------------------------------------------

    def account_create(
        self, *, business_id: int, name: str, email: str, account_type: str, country: str = ""
    ) -> dict[str, Any]:
        params: dict[str, Any] = {
            "type": account_type,
            "email": email,
            "business_profile": {"name": name},
            "metadata": {"business_id": str(business_id)},
        }
        if account_type == "express":
            params["capabilities"] = {
                "card_payments": {"requested": True},
                "transfers": {"requested": True},
            }
        if country:
            params["country"] = country
        account = self._call(
            "account create",
            lambda: self.client.v1.accounts.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": f"holidesk-account-{business_id}"},
            ),
        )
        result: dict[str, Any] = account.to_dict()
        return result

    def account_retrieve(self, account_id: str) -> dict[str, Any]:
        account = self._call("account read", lambda: self.client.v1.accounts.retrieve(account_id))
        result: dict[str, Any] = account.to_dict()
        return result

    def account_link(self, *, account_id: str, refresh_url: str, return_url: str) -> str:
        link = self._call(
            "account link",
            lambda: self.client.v1.account_links.create(
                params={
                    "account": account_id,
                    "type": "account_onboarding",
                    "refresh_url": refresh_url,
                    "return_url": return_url,
                }
            ),
        )
        return str(link.url)

    # --- Billing -------------------------------------------------------------------------

    def customer_create(self, *, business_id: int, name: str, email: str) -> str:
        customer = self._call(
            "customer create",
            lambda: self.client.v1.customers.create(
                params={
                    "name": name,
                    "email": email,
                    "metadata": {"business_id": str(business_id)},
                },
                options={"idempotency_key": f"holidesk-customer-{business_id}"},
            ),
        )
        return str(customer.id)

    def subscription_checkout(
        self,
        *,
        business_id: int,
        customer_id: str,
        price_id: str,
        quantity: int,
        trial_days: int,
        success_url: str,
        cancel_url: str,
    ) -> str:
        metadata = {"business_id": str(business_id)}
        subscription_data: dict[str, Any] = {"metadata": metadata}
        if trial_days:
            subscription_data["trial_period_days"] = trial_days
        session = self._call(
            "subscription checkout",
            lambda: self.client.v1.checkout.sessions.create(
                params={  # type: ignore[arg-type]
                    "mode": "subscription",
                    "customer": customer_id,
                    "client_reference_id": str(business_id),
                    "line_items": [{"price": price_id, "quantity": quantity}],
                    "subscription_data": subscription_data,
                    "metadata": metadata,
                    "success_url": success_url,
                    "cancel_url": cancel_url,
                }
            ),
        )
        return str(session.url or "")

    def subscription_quantity(self, *, item_id: str, quantity: int, idempotency_key: str) -> None:
        self._call(
            "subscription quantity",
            lambda: self.client.v1.subscription_items.update(
                item_id,
                params={"quantity": quantity, "proration_behavior": "create_prorations"},
                options={"idempotency_key": idempotency_key},
            ),
        )

    def portal_session(self, *, customer_id: str, return_url: str) -> str:
        session = self._call(
            "billing portal",
            lambda: self.client.v1.billing_portal.sessions.create(
                params={"customer": customer_id, "return_url": return_url}
            ),
        )
        return str(session.url)


def stripe_platform() -> StripePlatform:
    return StripePlatform()


def platform_ready() -> bool:
    """Whether the platform can talk to Stripe at all (not with the fake gateway)."""
    return settings.PAYMENTS_BACKEND == "stripe" and bool(settings.STRIPE_SECRET_KEY)
