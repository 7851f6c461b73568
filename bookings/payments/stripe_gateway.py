"""Stripe Checkout on each business's connected account (Stripe Connect, direct charges).

The platform's secret key acts on behalf of the business's account (`Stripe-Account`
header), so the charge, its refunds and its disputes belong to the business. Amounts
go to Stripe in minor units (`properties.money.to_minor_units` knows zero-decimal
currencies such as JPY). Every request carries an idempotency key derived from our row,
so a retried request never charges or refunds twice.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import stripe
from django.conf import settings
from django.utils import timezone

from bookings.payments.gateway import (
    CheckoutRequest,
    CheckoutSession,
    PaymentGateway,
    PaymentRefused,
    PaymentUnavailable,
    RefundRequest,
    RefundResult,
)
from bookings.payments.models import StripeAccount
from properties.models import Business

logger = logging.getLogger(__name__)

# Errors worth sending the same request again for (same idempotency key): no answer,
# rate limited, or Stripe's own failure. Anything else is a definitive refusal.
TRANSIENT_ERRORS = (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError)

# Stripe accepts a session expiry between 30 minutes and 24 hours from now.
MIN_SESSION_LIFETIME = timedelta(minutes=31)


def stripe_client() -> stripe.StripeClient:
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses={"api": settings.STRIPE_API_BASE},
        http_client=stripe.RequestsClient(timeout=settings.STRIPE_TIMEOUT_SECONDS),
        max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES,
    )


def connected_account_for(business: Business) -> str:
    account = StripeAccount.objects.filter(business=business, charges_enabled=True).first()
    if account is None:
        raise PaymentUnavailable(f"{business.name} does not take online payments yet.")
    return account.account_id


class StripeGateway(PaymentGateway):
    name = "stripe"

    def __init__(self, client: stripe.StripeClient | None = None) -> None:
        self.client = client or stripe_client()

    def ensure_ready(self, business: Business) -> None:
        connected_account_for(business)

    def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        account = connected_account_for(request.business)
        metadata = {
            "booking_reference": request.booking_reference,
            "business_id": str(request.business.pk),
            "payment_id": str(request.payment_id),
        }
        params: dict[str, object] = {
            "mode": "payment",
            # Immediate methods only: a delayed-settlement method (bank debit, voucher)
            # would settle after the hold ran out.
            "payment_method_types": ["card"],
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": request.currency.lower(),
                        "unit_amount": request.amount_minor,
                        "product_data": {"name": request.description},
                    },
                }
            ],
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata},
            "client_reference_id": request.booking_reference,
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
        }
        if request.customer_email:
            params["customer_email"] = request.customer_email
        if request.expires_at is not None:
            expires = max(request.expires_at, timezone.now() + MIN_SESSION_LIFETIME)
            params["expires_at"] = int(expires.timestamp())
        try:
            session = self.client.v1.checkout.sessions.create(
                params=params,  # type: ignore[arg-type]
                options={
                    "stripe_account": account,
                    "idempotency_key": f"holidesk-checkout-{request.payment_id}",
                },
            )
        except stripe.StripeError as exc:
            logger.warning("Stripe checkout for payment %s failed: %s", request.payment_id, exc)
            raise PaymentUnavailable(
                "The payment provider is not answering; please try again in a minute."
            ) from exc
        return CheckoutSession(id=session.id, url=session.url or "", connected_account=account)

    def checkout_session(
        self, *, business: Business, checkout_id: str, connected_account: str
    ) -> dict[str, Any] | None:
        try:
            session = self.client.v1.checkout.sessions.retrieve(
                checkout_id,
                options={"stripe_account": connected_account or connected_account_for(business)},
            )
        except (stripe.StripeError, PaymentUnavailable) as exc:
            logger.info("Stripe session %s not readable now: %s", checkout_id, exc)
            return None
        return session.to_dict()

    def refund(self, request: RefundRequest) -> RefundResult:
        intent = request.payment_intent_id
        try:
            account = request.connected_account or connected_account_for(request.business)
            refund = self.client.v1.refunds.create(
                params={"payment_intent": intent, "amount": request.amount_minor},
                options={"stripe_account": account, "idempotency_key": request.idempotency_key},
            )
        except TRANSIENT_ERRORS as exc:
            logger.warning("Stripe refund on %s not sent yet: %s", intent, exc)
            raise PaymentUnavailable("The refund could not be issued yet.") from exc
        except stripe.StripeError as exc:
            logger.warning("Stripe refused the refund on %s: %s", intent, exc)
            raise PaymentRefused(
                f"The payment provider refused the refund: {exc.user_message or exc}"[:300]
            ) from exc
        status = refund.status or "pending"
        return RefundResult(id=refund.id, status="failed" if status == "failed" else status)
