"""A gateway for development, demos and tests: a local checkout page with "Pay" and
"Decline" buttons (bookings.payments.views.fake_checkout). Paying calls the same confirmation
service as Stripe's webhook, so the fake exercises the real booking path."""

from __future__ import annotations

import secrets

from bookings.payments.gateway import (
    CheckoutRequest,
    CheckoutSession,
    PaymentGateway,
    RefundRequest,
    RefundResult,
)


class FakeGateway(PaymentGateway):
    name = "fake"

    def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        session_id = "fake_cs_" + secrets.token_urlsafe(18)
        return CheckoutSession(
            id=session_id, url=f"{request.site_origin}/checkout/fake/{session_id}/"
        )

    def refund(self, request: RefundRequest) -> RefundResult:
        return RefundResult(id="fake_re_" + secrets.token_urlsafe(12), status="succeeded")
