"""The payment gateway interface, and the choice of implementation (PAYMENTS_BACKEND).

A gateway does two things: open a hosted checkout for an amount, and give money back.
It never decides anything about bookings: the outcome of a checkout reaches
`bookings.payments.services.checkout.payment_apply` (through Stripe's webhook, or the
fake checkout page), which checks it against our own rows.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings

from bookings.errors import BookingError
from properties.models import Business


class PaymentUnavailable(BookingError):
    """The gateway could not be reached or refused the request; nothing was charged."""

    code = "payment_unavailable"
    http_status = 502


class PaymentRefused(PaymentUnavailable):
    """The gateway answered and definitively refused the request (invalid, not
    permitted): sending it again would not help. Any other PaymentUnavailable is
    transient (timeout, network, provider error) and may be retried."""

    code = "payment_refused"


@dataclass(frozen=True)
class CheckoutRequest:
    business: Business
    payment_id: int
    booking_reference: str
    description: str
    amount_minor: int
    currency: str
    customer_email: str
    # Absolute URLs on the business's own host.
    site_origin: str
    success_url: str
    cancel_url: str
    expires_at: datetime | None


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str
    connected_account: str = ""


@dataclass(frozen=True)
class RefundRequest:
    business: Business
    payment_intent_id: str
    # The business's connected account the payment was taken on ("" for the current one).
    connected_account: str
    amount_minor: int
    # The same for every attempt at one refund, so a retry never pays out twice.
    idempotency_key: str


@dataclass(frozen=True)
class RefundResult:
    id: str
    status: str  # "succeeded" | "pending" | "failed"


class PaymentGateway(abc.ABC):
    name: str

    def ensure_ready(self, business: Business) -> None:
        """Raise PaymentUnavailable when this business cannot take payments now (checked
        before dates are held, so a visitor never holds nights that cannot be paid)."""
        return None

    @abc.abstractmethod
    def create_checkout(self, request: CheckoutRequest) -> CheckoutSession: ...

    def checkout_session(
        self, *, business: Business, checkout_id: str, connected_account: str
    ) -> dict[str, Any] | None:
        """The provider's current view of a checkout (the same object its webhook
        sends), or None when it cannot say now. Lets a visitor who returns from paying
        see the confirmation even before the webhook arrives."""
        return None

    @abc.abstractmethod
    def refund(self, request: RefundRequest) -> RefundResult: ...


def get_gateway(name: str | None = None) -> PaymentGateway:
    name = name or settings.PAYMENTS_BACKEND
    if name == "stripe":
        from bookings.payments.stripe_gateway import StripeGateway

        return StripeGateway()
    from bookings.payments.fake import FakeGateway

    return FakeGateway()
