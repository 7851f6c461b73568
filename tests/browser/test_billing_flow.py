"""An owner connects Stripe and subscribes to Holidesk in headless Chromium, against the
local Stripe fake (its hosted pages and its signed webhooks); then a payment fails and,
after the grace period, the business's site says it takes no bookings. Each page is
scanned with axe at 1280 px and 390 px and photographed for docs/payments.md."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("playwright.sync_api")

from django.utils import timezone

from bookings.payments.models import StripeAccount, Subscription
from tests.bookings.test_billing import CONNECT_SECRET, PLATFORM_SECRET
from tests.conftest import make_tenant
from tests.dashboard.test_browser import assert_no_page_scroll, sign_in
from tests.support.browser import CHROMIUM, assert_accessible
from tests.support.stripe_fake import FakeStripe

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)"
    ),
]


def check(page: Any, name: str, width: int, shots: Path, shot: str = "") -> None:
    assert_accessible(page, name)
    assert_no_page_scroll(page, name, width)
    if shot:
        page.screenshot(path=str(shots / shot), full_page=True)


def test_owner_connects_stripe_and_subscribes(
    live_server: Any,
    browser: Any,
    settings: Any,
    fake_stripe: FakeStripe,
    tmp_path: Path,
) -> None:
    origin = live_server.url.replace("127.0.0.1", "localhost")
    settings.ACCOUNT_EMAIL_VERIFICATION = "optional"
    settings.PAYMENTS_BACKEND = "stripe"
    settings.STRIPE_SECRET_KEY = "sk_test_holidesk"
    settings.STRIPE_WEBHOOK_SECRET = CONNECT_SECRET
    settings.STRIPE_PLATFORM_WEBHOOK_SECRET = PLATFORM_SECRET
    settings.STRIPE_API_BASE = fake_stripe.url
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.BILLING_PLANS = (
        {
            "key": "standard",
            "name": "Standard",
            "price": "price_test_standard",
            "amount": "9.00",
            "currency": "EUR",
            "interval": "month",
        },
        {
            "key": "plus",
            "name": "Plus",
            "price": "price_test_plus",
            "amount": "15.00",
            "currency": "EUR",
            "interval": "month",
        },
    )
    fake_stripe.webhook_url = f"{origin}/webhooks/stripe/"
    fake_stripe.webhook_secret = CONNECT_SECRET
    fake_stripe.platform_webhook_secret = PLATFORM_SECRET
    shots = ROOT / "docs" / "img" if os.environ.get("HOLIDESK_SCREENSHOTS") else tmp_path
    shots.mkdir(parents=True, exist_ok=True)

    for label, width, height in (("desktop", 1280, 900), ("mobile", 390, 844)):
        tenant = make_tenant(f"seaside-{label}")
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        sign_in(page, origin, tenant.owner.email)
        page.wait_for_url(f"{origin}/dashboard/")

        # Onboarding: from the setup step to Stripe's hosted page and back.
        page.get_by_role("link", name="Connect Stripe").first.click()
        page.wait_for_url(f"{origin}/dashboard/stripe/")
        check(page, f"stripe ({label})", width, shots, f"dashboard-stripe-start-{label}.png")
        page.get_by_role("button", name="Connect with Stripe").click()
        page.wait_for_url(f"{fake_stripe.url}/onboard/**")
        page.get_by_role("button", name="Finish onboarding").click()
        page.wait_for_url(f"{origin}/dashboard/stripe/")
        assert page.get_by_text("Your Stripe account is connected").is_visible()
        assert page.get_by_text("Taking card payments").is_visible()
        check(page, f"stripe done ({label})", width, shots, f"dashboard-stripe-done-{label}.png")
        account = StripeAccount.objects.get(business=tenant.business)
        assert account.charges_enabled
        assert account.payouts_enabled
        # The webhook said so before the owner was back (the read-back agrees).
        assert any(
            e["type"] == "account.updated" and e.get("account") == account.account_id
            for e in fake_stripe.events
        )

        # Subscribing: plan, Stripe Checkout, back to a trial.
        page.get_by_role("link", name="Your Holidesk plan").click()
        page.wait_for_url(f"{origin}/dashboard/billing/")
        check(page, f"billing ({label})", width, shots, f"dashboard-billing-plans-{label}.png")
        page.get_by_label("Plus").check()
        page.get_by_role("button", name="Continue to payment").click()
        page.wait_for_url(f"{fake_stripe.url}/pay/**")
        page.get_by_role("button", name="Start subscription").click()
        page.wait_for_url(f"{origin}/dashboard/billing/")
        assert page.get_by_text("your Holidesk plan is active").is_visible()
        assert page.get_by_text("Free trial").is_visible()
        check(page, f"billing on ({label})", width, shots, f"dashboard-billing-trial-{label}.png")
        row = Subscription.objects.get(business=tenant.business)
        assert row.plan == "plus"
        assert row.status == "trialing"

        # The card portal and back.
        page.get_by_role("button", name="Open the billing portal").click()
        page.wait_for_url(f"{fake_stripe.url}/portal/**")
        page.get_by_role("link", name="Return to Holidesk").click()
        page.wait_for_url(f"{origin}/dashboard/billing/")

        # A payment fails: Today tells the owner, bookings go on during the grace period.
        fake_stripe.subscription_payment_fails(row.subscription_id)
        page.goto(f"{origin}/dashboard/")
        assert page.get_by_text("Your Holidesk payment did not go through").is_visible()
        check(page, f"today grace ({label})", width, shots, f"dashboard-billing-grace-{label}.png")

        # After the grace period the site says so.
        Subscription.objects.filter(pk=row.pk).update(
            lapsed_at=timezone.now() - timedelta(days=settings.BILLING_GRACE_DAYS + 1)
        )
        site = context.new_page()
        site_origin = origin.replace("localhost", f"{tenant.business.slug}.localhost")
        site.goto(f"{site_origin}/")
        assert site.get_by_text("is not taking online bookings at the moment").is_visible()
        check(site, f"site paused ({label})", width, shots, f"site-bookings-paused-{label}.png")
        context.close()
