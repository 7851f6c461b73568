"""Stripe Connect onboarding and the Holidesk subscription, through the dashboard pages,
the signed webhook and the services, against the local Stripe fake."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.utils import timezone

from bookings.payments.models import StripeAccount, StripeEvent, Subscription
from bookings.payments.services.billing import (
    BookingsPaused,
    billing_grace_sweep,
    billing_quantities_sync,
    billing_standing,
)
from bookings.payments.services.checkout import checkout_start
from bookings.payments.services.connect import stripe_onboarding_start
from config.env import billing_plans
from messaging.models import Kind, ScheduledMessage
from properties.models import Membership
from properties.permissions import NotAllowed
from tests.bookings.conftest import days_from_today
from tests.conftest import Tenant, site_host
from tests.factories import MembershipFactory, PropertyFactory, UserFactory
from tests.support.stripe_fake import FakeStripe

CONNECT_SECRET = "whsec_test_connect"
PLATFORM_SECRET = "whsec_test_platform"
PLANS = (
    {
        "key": "standard",
        "name": "Standard",
        "price": "price_test_standard",
        "amount": "9.00",
        "currency": "EUR",
        "interval": "month",
    },
)


@pytest.fixture
def stripe_on(settings: Any, fake_stripe: FakeStripe) -> FakeStripe:
    settings.PAYMENTS_BACKEND = "stripe"
    settings.STRIPE_SECRET_KEY = "sk_test_holidesk"
    settings.STRIPE_WEBHOOK_SECRET = CONNECT_SECRET
    settings.STRIPE_PLATFORM_WEBHOOK_SECRET = PLATFORM_SECRET
    settings.STRIPE_API_BASE = fake_stripe.url
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.STRIPE_TIMEOUT_SECONDS = 5
    settings.BILLING_PLANS = PLANS
    settings.BILLING_TRIAL_DAYS = 14
    settings.BILLING_GRACE_DAYS = 7
    return fake_stripe


def sign(payload: str, secret: str) -> str:
    stamp = int(time.time())
    digest = hmac.new(secret.encode(), f"{stamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


_events = iter(range(1, 10_000))


def deliver(
    event_type: str,
    obj: dict[str, Any],
    *,
    account: str = "",
    secret: str | None = None,
    created: int | None = None,
) -> Any:
    event: dict[str, Any] = {
        "id": f"evt_unit_{next(_events)}_{time.time_ns()}",
        "object": "event",
        "type": event_type,
        "created": created or int(time.time()),
        "data": {"object": obj},
    }
    if account:
        event["account"] = account
    payload = json.dumps(event)
    secret = secret or (CONNECT_SECRET if account else PLATFORM_SECRET)
    return Client(HTTP_HOST="localhost").post(
        "/webhooks/stripe/",
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload, secret),
    )


def subscription_obj(row: Subscription, status: str = "trialing", **extra: Any) -> dict[str, Any]:
    obj = {
        "id": "sub_unit_1",
        "object": "subscription",
        "customer": row.customer_id,
        "status": status,
        "trial_end": int(time.time()) + 14 * 86400 if status == "trialing" else None,
        "current_period_end": int(time.time()) + 30 * 86400,
        "cancel_at_period_end": False,
        "metadata": {"business_id": str(row.business_id)},
        "items": {
            "data": [{"id": "si_unit_1", "price": {"id": "price_test_standard"}, "quantity": 2}]
        },
    }
    obj.update(extra)
    return obj


def subscribed(tenant: Tenant, status: str = "active") -> Subscription:
    row = Subscription.objects.create(business=tenant.business, customer_id="cus_unit_1")
    assert (
        deliver("customer.subscription.created", subscription_obj(row, status)).status_code == 200
    )
    row.refresh_from_db()
    return row


# --- Connect onboarding ----------------------------------------------------------------------


def test_owner_is_sent_to_stripe_onboarding_and_one_account_is_made(
    tenant: Tenant, stripe_on: FakeStripe
) -> None:
    client = tenant.admin_client()
    first = client.post("/dashboard/stripe/connect/")
    assert first.status_code == 302
    assert first["Location"].startswith(f"{stripe_on.url}/onboard/acct_test_")
    again = client.post("/dashboard/stripe/connect/")
    assert again["Location"] == first["Location"]
    account = StripeAccount.objects.get(business=tenant.business)
    assert account.charges_enabled is False
    assert account.requirements_due
    creates = [r for r in stripe_on.requests if r["path"] == "/v1/accounts"]
    assert len(creates) == 1
    assert creates[0]["headers"]["Idempotency-Key"] == f"holidesk-account-{tenant.business.pk}"
    assert creates[0]["form"]["type"] == "standard"
    links = [r for r in stripe_on.requests if r["path"] == "/v1/account_links"]
    assert links[0]["form"]["return_url"] == "http://localhost/dashboard/stripe/return/"
    assert links[0]["form"]["refresh_url"] == "http://localhost/dashboard/stripe/refresh/"


def test_account_updated_webhook_turns_charges_on(tenant: Tenant, stripe_on: FakeStripe) -> None:
    tenant.admin_client().post("/dashboard/stripe/connect/")
    account = StripeAccount.objects.get(business=tenant.business)
    obj = dict(stripe_on.accounts[account.account_id])
    obj.update(charges_enabled=True, payouts_enabled=True, details_submitted=True)
    obj["requirements"] = {"currently_due": [], "past_due": [], "disabled_reason": None}
    answer = deliver("account.updated", obj, account=account.account_id)
    assert answer.status_code == 200, answer.content
    account.refresh_from_db()
    assert (account.charges_enabled, account.payouts_enabled, account.requirements_due) == (
        True,
        True,
        [],
    )
    page = tenant.admin_client().get("/dashboard/stripe/")
    assert "Taking card payments" in page.content.decode()


def test_account_event_for_another_account_changes_nothing(
    tenant: Tenant, stripe_on: FakeStripe
) -> None:
    tenant.admin_client().post("/dashboard/stripe/connect/")
    account = StripeAccount.objects.get(business=tenant.business)
    obj = dict(stripe_on.accounts[account.account_id], charges_enabled=True)
    # Signed, but sent by another connected account about ours.
    deliver("account.updated", obj, account="acct_someone_else")
    # Our account, but signed with the platform secret as a non-Connect event.
    deliver("account.updated", obj)
    account.refresh_from_db()
    assert account.charges_enabled is False


def test_bad_signature_is_refused_and_records_nothing(
    tenant: Tenant, stripe_on: FakeStripe
) -> None:
    answer = deliver("invoice.paid", {"customer": "cus_x"}, secret="whsec_wrong")
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_signature"
    assert not StripeEvent.objects.exists()


def test_return_from_onboarding_reads_the_account_back(
    tenant: Tenant, stripe_on: FakeStripe
) -> None:
    client = tenant.admin_client()
    client.post("/dashboard/stripe/connect/")
    account = StripeAccount.objects.get(business=tenant.business)
    stripe_on.account_complete(account.account_id)  # no webhook URL: the event is lost
    page = client.get("/dashboard/stripe/return/", follow=True)
    assert "guests can pay online" in page.content.decode()
    account.refresh_from_db()
    assert account.charges_enabled is True


def test_only_owners_connect_stripe_and_manage_the_plan(
    tenant: Tenant, stripe_on: FakeStripe
) -> None:
    manager = MembershipFactory(business=tenant.business, role=Membership.Role.MANAGER).user
    client = Client(HTTP_HOST="localhost")
    client.force_login(manager)
    assert client.get("/dashboard/stripe/").status_code == 403
    assert client.post("/dashboard/stripe/connect/").status_code == 403
    assert client.post("/dashboard/billing/subscribe/", {"plan": "standard"}).status_code == 403
    with pytest.raises(NotAllowed):
        stripe_onboarding_start(
            business=tenant.business, user=manager, return_url="x", refresh_url="y"
        )
    assert not StripeAccount.objects.exists()


def test_outsider_sees_only_their_own_account(
    tenant: Tenant, outsider: Tenant, stripe_on: FakeStripe
) -> None:
    tenant.admin_client().post("/dashboard/stripe/connect/")
    account = StripeAccount.objects.get(business=tenant.business)
    page = outsider.admin_client().get("/dashboard/stripe/").content.decode()
    assert account.account_id not in page
    assert "Connect with Stripe" in page


def test_stripe_down_shows_a_message_and_writes_nothing(
    tenant: Tenant, stripe_on: FakeStripe
) -> None:
    stripe_on.fail = True
    page = tenant.admin_client().post("/dashboard/stripe/connect/", follow=True)
    assert "not answering" in page.content.decode()
    assert not StripeAccount.objects.exists()


# --- Subscription ----------------------------------------------------------------------------


def test_owner_subscribes_per_property_with_a_trial(tenant: Tenant, stripe_on: FakeStripe) -> None:
    PropertyFactory(business=tenant.business)
    answer = tenant.admin_client().post("/dashboard/billing/subscribe/", {"plan": "standard"})
    assert answer.status_code == 302
    assert answer["Location"].startswith(f"{stripe_on.url}/pay/cs_test_sub_")
    session = next(r["form"] for r in stripe_on.requests if r["form"].get("mode") == "subscription")
    assert session["line_items[0][price]"] == "price_test_standard"
    assert session["line_items[0][quantity]"] == "2"
    assert session["subscription_data[trial_period_days]"] == "14"
    row = Subscription.objects.get(business=tenant.business)
    assert row.customer_id == session["customer"]
    assert row.status == Subscription.Status.NONE


def test_unknown_plan_is_refused_on_the_page(tenant: Tenant, stripe_on: FakeStripe) -> None:
    page = tenant.admin_client().post(
        "/dashboard/billing/subscribe/", {"plan": "platinum"}, follow=True
    )
    assert "choose one of the plans" in page.content.decode()
    assert not [r for r in stripe_on.requests if r["form"].get("mode") == "subscription"]


def test_subscription_events_drive_the_status(tenant: Tenant, stripe_on: FakeStripe) -> None:
    row = subscribed(tenant, "trialing")
    assert row.status == "trialing"
    assert row.plan == "standard"
    assert row.quantity == 2
    assert row.trial_used
    assert row.trial_end is not None
    page = tenant.admin_client().get("/dashboard/billing/").content.decode()
    assert "Free trial" in page
    assert "Open the billing portal" in page
    portal = tenant.admin_client().post("/dashboard/billing/portal/")
    assert portal["Location"] == f"{stripe_on.url}/portal/cus_unit_1"


def test_older_subscription_event_is_ignored(tenant: Tenant, stripe_on: FakeStripe) -> None:
    row = subscribed(tenant, "active")
    late = deliver(
        "customer.subscription.updated",
        subscription_obj(row, "incomplete"),
        created=int(time.time()) - 3600,
    )
    assert "Older" in late.json()["outcome"]
    row.refresh_from_db()
    assert row.status == "active"


def test_connected_accounts_own_billing_events_are_ignored(
    tenant: Tenant, stripe_on: FakeStripe
) -> None:
    row = subscribed(tenant, "active")
    answer = deliver("invoice.payment_failed", {"customer": row.customer_id}, account="acct_x")
    assert answer.json()["status"] == "ignored"
    row.refresh_from_db()
    assert row.lapsed_at is None


def test_failed_payment_starts_grace_then_bookings_pause_and_owner_is_told(
    tenant: Tenant, stripe_on: FakeStripe, django_capture_on_commit_callbacks: Any
) -> None:
    row = subscribed(tenant, "active")
    with django_capture_on_commit_callbacks(execute=True):
        deliver("invoice.payment_failed", {"customer": row.customer_id})
    row.refresh_from_db()
    assert row.status == "past_due"
    assert row.lapsed_at is not None
    standing = billing_standing(business=tenant.business)
    assert standing.state == "grace"
    assert standing.takes_bookings
    notice = ScheduledMessage.objects.get(kind=Kind.OWNER_BILLING)
    assert "did not go through" in notice.context["summary"]
    # Within grace the site still sells and shows nothing.
    site = tenant.site_client()
    assert "not taking online bookings" not in site.get("/").content.decode()

    later = timezone.now() + timedelta(days=8)
    assert billing_standing(business=tenant.business, now=later).state == "paused"
    visitor = UserFactory()
    check_in = days_from_today(tenant.prop, 30)
    with pytest.raises(BookingsPaused):
        checkout_start(
            property=tenant.prop,
            check_in=check_in,
            check_out=check_in + timedelta(days=2),
            guests=2,
            user=visitor,
            guest_name="Ada",
            site_origin=f"http://{site_host(tenant.business)}",
            now=later,
        )
    Subscription.objects.filter(pk=row.pk).update(lapsed_at=timezone.now() - timedelta(days=8))
    assert "not taking online bookings" in site.get("/").content.decode()
    with pytest.raises(BookingsPaused):
        checkout_start(
            property=tenant.prop,
            check_in=check_in,
            check_out=check_in + timedelta(days=2),
            guests=2,
            user=visitor,
            guest_name="Ada",
            site_origin=f"http://{site_host(tenant.business)}",
        )
    with django_capture_on_commit_callbacks(execute=True):
        assert billing_grace_sweep() == 1
    assert billing_grace_sweep() == 0
    assert ScheduledMessage.objects.filter(kind=Kind.OWNER_BILLING).count() == 2
    today = tenant.admin_client().get("/dashboard/").content.decode()
    assert "Your site is not taking bookings" in today

    deliver("invoice.paid", {"customer": row.customer_id})
    assert billing_standing(business=tenant.business).takes_bookings
    assert "not taking online bookings" not in site.get("/").content.decode()


def test_unknown_customer_changes_nothing(tenant: Tenant, stripe_on: FakeStripe) -> None:
    answer = deliver("invoice.payment_failed", {"customer": "cus_nobody"})
    assert answer.json()["status"] == "ignored"
    assert not Subscription.objects.exists()


def test_metadata_naming_another_business_is_not_applied(
    tenant: Tenant, outsider: Tenant, stripe_on: FakeStripe
) -> None:
    row = Subscription.objects.create(business=tenant.business, customer_id="cus_unit_1")
    obj = subscription_obj(row, "active", metadata={"business_id": str(outsider.business.pk)})
    assert deliver("customer.subscription.created", obj).json()["status"] == "ignored"


def test_plans_setting_fails_loudly_on_a_bad_value() -> None:
    assert billing_plans(json.dumps(list(PLANS)), name="BILLING_PLANS") == PLANS
    for bad in ("{", "{}", '[{"key": "x"}]', json.dumps([{**PLANS[0], "price": "9"}])):
        with pytest.raises(ImproperlyConfigured, match="BILLING_PLANS"):
            billing_plans(bad, name="BILLING_PLANS")


def test_billed_properties_follow_the_property_count(tenant: Tenant, stripe_on: FakeStripe) -> None:
    row = subscribed(tenant, "active")
    assert row.quantity == 2  # Stripe's word; the business has one property
    stripe_on.subscriptions[row.subscription_id] = subscription_obj(row, "active")
    assert billing_quantities_sync() == 1
    update = next(r for r in stripe_on.requests if r["path"] == "/v1/subscription_items/si_unit_1")
    assert update["form"]["quantity"] == "1"
    # Our row changes when Stripe says so.
    row.refresh_from_db()
    assert row.quantity == 2
    event = stripe_on.events[-1]
    assert deliver(event["type"], event["data"]["object"]).status_code == 200
    row.refresh_from_db()
    assert row.quantity == 1
    assert billing_quantities_sync() == 0


def test_paused_business_refuses_at_the_checkout_page_and_on_extensions(
    tenant: Tenant, settings: Any
) -> None:
    """The same rule through two more doors: the visitor's checkout page and an
    extension of a confirmed stay."""
    from bookings.payments.services.extensions import extension_start
    from bookings.services.stays import booking_create

    settings.PAYMENTS_BACKEND = "fake"
    settings.BILLING_GRACE_DAYS = 7
    check_in = days_from_today(tenant.prop, 20)
    stay = booking_create(
        property=tenant.prop,
        check_in=check_in,
        check_out=check_in + timedelta(days=2),
        guests=2,
        source="direct",
        guest_name="Ada",
    )
    Subscription.objects.create(
        business=tenant.business,
        customer_id="cus_unit_1",
        status=Subscription.Status.PAST_DUE,
        lapsed_at=timezone.now() - timedelta(days=8),
    )
    visitor = UserFactory()
    client = Client(HTTP_HOST=site_host(tenant.business))
    client.force_login(visitor)
    later = check_in + timedelta(days=10)
    response = client.post(
        f"/book/{tenant.prop.slug}/",
        {
            "check_in": later.isoformat(),
            "check_out": (later + timedelta(days=3)).isoformat(),
            "guests": 2,
            "guest_name": "Bob",
            "guest_phone": "2",
        },
    )
    assert response.status_code == 400
    assert "not taking online bookings at the moment" in response.content.decode()
    with pytest.raises(BookingsPaused):
        extension_start(
            booking=stay,
            check_in=check_in,
            check_out=check_in + timedelta(days=4),
            site_origin=f"http://{site_host(tenant.business)}",
        )
    assert stay.property.bookings.count() == 1
