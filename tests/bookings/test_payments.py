"""Stripe: the real `stripe` library against a local fake of Stripe's HTTP API, and
webhook events signed exactly as Stripe signs them (HMAC-SHA256 over "t.body")."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import stripe
from django.test import Client
from django.utils import timezone

from bookings.models import Booking
from bookings.payments import tasks
from bookings.payments.fake import FakeGateway
from bookings.payments.gateway import PaymentRefused, PaymentUnavailable, RefundResult
from bookings.payments.models import Payment, Refund, StripeAccount, StripeEvent
from bookings.payments.services import refunds
from bookings.payments.services.checkout import checkout_start, payment_succeeded
from bookings.payments.services.extensions import extension_start
from bookings.payments.services.refunds import (
    REFUND_MAX_ATTEMPTS,
    booking_cancel_and_refund,
    refunds_retry,
)
from bookings.services.stays import booking_create
from messaging.models import Kind, ScheduledMessage
from properties.models import Property, User
from tests.bookings.conftest import days_from_today
from tests.conftest import Tenant
from tests.factories import PropertyFactory, UserFactory
from tests.support.stripe_fake import FakeStripe

# Copies of the real Stripe payloads (see samples/PROVENANCE.md), kept unedited.
SAMPLES = Path(__file__).resolve().parent / "samples"
WEBHOOK_SECRET = "whsec_test_holidesk"
ORIGIN = "http://seaside.localhost"


def sample(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / name).read_text())


@pytest.fixture
def stripe_on(settings: Any, fake_stripe: FakeStripe, tenant: Tenant) -> FakeStripe:
    settings.PAYMENTS_BACKEND = "stripe"
    settings.STRIPE_SECRET_KEY = "sk_test_holidesk"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = fake_stripe.url  # type: ignore[attr-defined]
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.STRIPE_TIMEOUT_SECONDS = 5
    StripeAccount.objects.create(business=tenant.business, account_id="acct_seaside")
    return fake_stripe


@pytest.fixture
def visitor(db: None) -> User:
    return UserFactory(email="ada@example.com", name="Ada Lovelace")


def start(prop: Property, user: User, *, offset: int = 30, nights: int = 3, **kw: Any) -> Any:
    check_in = days_from_today(prop, offset)
    return checkout_start(
        property=prop,
        check_in=check_in,
        check_out=check_in + timedelta(days=nights),
        guests=2,
        user=user,
        guest_name=user.name,
        guest_phone="+44 1234",
        site_origin=ORIGIN,
        **kw,
    )


# --- Events, signed like Stripe signs them ----------------------------------------------


def session_event(
    payment: Payment,
    *,
    event_type: str = "checkout.session.completed",
    event_id: str = "evt_test_1",
    **overrides: Any,
) -> dict[str, Any]:
    session = sample("object_checkout.session__stripe-mock_fixtures3.json")
    session.update(
        id=payment.checkout_id,
        status="complete" if event_type.endswith("completed") else "expired",
        payment_status="paid" if event_type.endswith("completed") else "unpaid",
        amount_total=payment.amount_minor,
        amount_subtotal=payment.amount_minor,
        currency=payment.currency.lower(),
        payment_intent="pi_test_" + payment.checkout_id[-6:],
        metadata={
            "booking_reference": payment.booking.reference,
            "business_id": str(payment.business_id),
            "payment_id": str(payment.pk),
        },
    )
    session.update(overrides)
    event = sample("object_event__stripe-mock_fixtures3.json")
    event.update(id=event_id, type=event_type, account="acct_seaside", created=int(time.time()))
    event["data"] = {"object": session}
    return event


def sign(payload: str, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The Stripe-Signature header, computed as Stripe documents it."""
    timestamp = timestamp or int(time.time())
    digest = hmac.new(
        secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256
    ).hexdigest()
    return f"t={timestamp},v1={digest}"


def deliver(event: dict[str, Any], *, signature: str | None = None) -> Any:
    payload = json.dumps(event)
    headers = {} if signature == "" else {"HTTP_STRIPE_SIGNATURE": signature or sign(payload)}
    return Client(HTTP_HOST="localhost").post(
        "/webhooks/stripe/", data=payload, content_type="application/json", **headers
    )


def test_our_signature_matches_the_stripe_library() -> None:
    payload = json.dumps({"id": "evt_1"})
    ours = sign(payload, timestamp=1_700_000_000)
    theirs = stripe.WebhookSignature.generate_signature_header(
        payload, WEBHOOK_SECRET, timestamp=1_700_000_000
    )
    assert ours == theirs


# --- Checkout ----------------------------------------------------------------------------


def test_checkout_session_is_created_on_the_connected_account_in_minor_units(
    tenant: Tenant, stripe_on: FakeStripe, visitor: User
) -> None:
    started = start(tenant.prop, visitor)
    booking, payment = started.booking, started.payment
    assert booking.status == Booking.Status.HELD
    assert started.redirect_url == f"https://checkout.stripe.com/c/pay/{payment.checkout_id}"
    [request] = stripe_on.requests
    form, headers = request["form"], request["headers"]
    assert request["path"] == "/v1/checkout/sessions"
    assert headers["Stripe-Account"] == "acct_seaside"
    assert headers["Idempotency-Key"] == f"holidesk-checkout-{payment.pk}"
    # 3 nights x 100.00 + 50.00 cleaning = 350.00 EUR = 35000 cents.
    assert booking.total == Decimal("350.00")
    assert form["line_items[0][price_data][unit_amount]"] == "35000"
    assert form["line_items[0][price_data][currency]"] == "eur"
    assert form["payment_method_types[0]"] == "card"
    assert "payment_method_types[1]" not in form
    assert form["metadata[booking_reference]"] == booking.reference
    assert form["metadata[business_id]"] == str(tenant.business.pk)
    assert form["payment_intent_data[metadata][booking_reference]"] == booking.reference
    assert form["success_url"] == f"{ORIGIN}/trips/{booking.reference}/confirmation/"
    assert form["cancel_url"] == f"{ORIGIN}/trips/{booking.reference}/"
    assert int(form["expires_at"]) >= int(timezone.now().timestamp()) + 30 * 60
    assert payment.connected_account == "acct_seaside"


def test_business_without_a_connected_account_holds_nothing(
    tenant: Tenant, stripe_on: FakeStripe, visitor: User
) -> None:
    StripeAccount.objects.all().delete()
    with pytest.raises(PaymentUnavailable):
        start(tenant.prop, visitor)
    assert not Booking.objects.exists()
    assert stripe_on.requests == []


def test_stripe_down_releases_the_hold(
    tenant: Tenant, stripe_on: FakeStripe, visitor: User
) -> None:
    stripe_on.fail = True
    with pytest.raises(PaymentUnavailable):
        start(tenant.prop, visitor)
    booking = Booking.objects.get()
    assert booking.status == Booking.Status.CANCELLED
    assert Payment.objects.get().status == Payment.Status.FAILED


# --- Webhook -----------------------------------------------------------------------------


def test_valid_completed_event_confirms_the_booking(
    tenant: Tenant, stripe_on: FakeStripe, visitor: User
) -> None:
    payment = start(tenant.prop, visitor).payment
    response = deliver(session_event(payment))
    assert response.status_code == 200
    assert response.json()["status"] == "processed"
    booking = Booking.objects.get()
    assert booking.status == Booking.Status.CONFIRMED
    assert booking.amount_paid == Decimal("350.00")
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED
    assert payment.payment_intent_id.startswith("pi_test_")
    event = StripeEvent.objects.get()
    assert (event.event_id, event.business) == ("evt_test_1", tenant.business)


@pytest.mark.parametrize("case", ["wrong_secret", "missing", "tampered", "stale", "garbage"])
def test_bad_signature_is_400_and_changes_nothing(
    tenant: Tenant, stripe_on: FakeStripe, visitor: User, case: str
) -> None:
    payment = start(tenant.prop, visitor).payment
    event = session_event(payment)
    payload = json.dumps(event)
    signature = {
        "wrong_secret": sign(payload, secret="whsec_other"),
        "missing": "",
        "tampered": sign(json.dumps({**event, "id": "evt_other"})),
        "stale": sign(payload, timestamp=int(time.time()) - 3600),
        "garbage": "t=abc,v1=zzz",
    }[case]
    response = deliver(event, signature=signature)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_signature"
    assert Booking.objects.get().status == Booking.Status.HELD
    assert not StripeEvent.objects.exists()


def test_signed_body_that_is_not_json_is_400(stripe_on: FakeStripe) -> None:
    payload = "not json"
    response = Client(HTTP_HOST="localhost").post(
        "/webhooks/stripe/",
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload),
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_payload"


@pytest.mark.parametrize("length", ["abc", "-1", "1e3", " 12"])
def test_malformed_content_length_is_400_json(stripe_on: FakeStripe, length: str) -> None:
    payload = json.dumps({"id": "evt_1", "type": "checkout.session.completed"})
    response = Client(HTTP_HOST="localhost").post(
        "/webhooks/stripe/",
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload),
        CONTENT_LENGTH=length,
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert not StripeEvent.objects.exists()


def test_webhook_is_not_served_on_business_sites(tenant: Tenant, stripe_on: FakeStripe) -> None:
    response = tenant.site_client().post(
        "/webhooks/stripe/", data="{}", content_type="application/json"
    )
    assert response.status_code == 404


def test_replayed_event_is_200_and_changes_nothing(
    tenant: Tenant, stripe_on: FakeStripe, visitor: User
) -> None:
    payment = start(tenant.prop, visitor).payment
    event = session_event(payment)
    assert deliver(event).json()["status"] == "processed"
    booking = Booking.objects.get()
    booking_cancel_and_refund(booking=booking)  # the visitor cancels; the policy refunds in full
    cancelled = Booking.objects.get()
    assert cancelled.status == Booking.Status.CANCELLED
    requests_before = len(stripe_on.requests)
    replay = deliver(event)
    assert replay.status_code == 200
    assert replay.json() == {"status": "duplicate", "outcome": "Event already received."}
    assert Booking.objects.get().status == Booking.Status.CANCELLED
    assert StripeEvent.objects.count() == 1
    assert Refund.objects.count() == 1
    assert len(stripe_on.requests) == requests_before


def test_event_for_another_business_booking_changes_nothing(
    tenant: Tenant, outsider: Tenant, stripe_on: FakeStripe, visitor: User
) -> None:
    StripeAccount.objects.create(business=outsider.business, account_id="acct_alpine")
    payment = start(tenant.prop, visitor).payment
    # Metadata naming the other business, an event from the other business's account,
    # and a session id we never issued: none of them confirms anything.
    forged = session_event(payment, event_id="evt_forged_1")
    forged["data"]["object"]["metadata"]["business_id"] = str(outsider.business.pk)
    other_account = session_event(payment, event_id="evt_forged_2")
    other_account["account"] = "acct_alpine"
    unknown = session_event(payment, event_id="evt_forged_3", id="cs_test_not_ours")
    for event in (forged, other_account, unknown):
        response = deliver(event)
        assert response.status_code == 200
        assert response.json()["status"] == "ignored"
    assert Booking.objects.get().status == Booking.Status.HELD
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING
    assert not Refund.objects.exists()


def test_amount_or_currency_not_ours_changes_nothing(
    tenant: Tenant, stripe_on: FakeStripe, visitor: User
) -> None:
    payment = start(tenant.prop, visitor).payment
    assert (
        deliver(session_event(payment, event_id="evt_a", amount_total=100)).json()["status"]
        == "ignored"
    )
    assert (
        deliver(session_event(payment, event_id="evt_b", currency="usd")).json()["status"]
        == "ignored"
    )
    assert Booking.objects.get().status == Booking.Status.HELD
    assert "amount 100" in StripeEvent.objects.get(event_id="evt_a").outcome


def test_unpaid_completion_sample_from_dj_stripe_is_ignored(
    tenant: Tenant, stripe_on: FakeStripe, visitor: User
) -> None:
    payment = start(tenant.prop, visitor).payment
    event = sample("checkout.session.completed__dj-stripe.json")
    event["data"]["object"]["id"] = payment.checkout_id  # status open, payment unpaid
    response = deliver(event)
    assert response.json()["status"] == "ignored"
    assert Booking.objects.get().status == Booking.Status.HELD


def test_payment_after_the_hold_expired_confirms_when_the_nights_are_free(
    tenant: Tenant, stripe_on: FakeStripe, visitor: User
) -> None:
    payment = start(tenant.prop, visitor, now=timezone.now() - timedelta(hours=2)).payment
    assert deliver(session_event(payment)).json()["status"] == "processed"
    assert Booking.objects.get().status == Booking.Status.CONFIRMED


def test_payment_after_the_hold_expired_and_the_dates_were_taken_is_refunded(
    tenant: Tenant, stripe_on: FakeStripe, visitor: User
) -> None:
    started = start(tenant.prop, visitor, now=timezone.now() - timedelta(hours=2))
    payment, late = started.payment, started.booking
    taken = booking_create(
        property=tenant.prop,
        check_in=late.check_in + timedelta(days=1),
        check_out=late.check_out + timedelta(days=2),
        source="airbnb",
    )
    response = deliver(session_event(payment))
    assert response.status_code == 200
    late.refresh_from_db()
    assert late.status == Booking.Status.EXPIRED  # never confirmed over the other stay
    assert Booking.objects.filter(status=Booking.Status.CONFIRMED).get() == taken
    refund = Refund.objects.get()
    assert (refund.reason, refund.status, refund.amount) == (
        Refund.Reason.DATES_TAKEN,
        Refund.Status.SUCCEEDED,
        Decimal("350.00"),
    )
    refund_call = stripe_on.requests[-1]
    assert refund_call["path"] == "/v1/refunds"
    assert refund_call["form"]["amount"] == "35000"
    assert refund_call["form"]["payment_intent"].startswith("pi_test_")
    assert refund_call["headers"]["Stripe-Account"] == "acct_seaside"
    assert refund.gateway_refund_id.startswith("re_test_")
    notice = ScheduledMessage.objects.get(kind=Kind.REFUND_NOTICE)
    assert notice.recipient == visitor.email
    assert "refunded in full" in notice.context["summary"]
    assert "€350.00" in notice.context["summary"]
    page = Client(HTTP_HOST="seaside.localhost")
    page.force_login(visitor)
    body = page.get(f"/trips/{late.reference}/").content.decode()
    assert "has been refunded in full" in body


def test_zero_decimal_currency_amounts(
    tenant: Tenant, stripe_on: FakeStripe, visitor: User
) -> None:
    tenant.business.currency = "JPY"
    tenant.business.save()
    prop = PropertyFactory(
        business=tenant.business, base_price=Decimal("12000"), cleaning_fee=Decimal("3000")
    )
    payment = start(prop, visitor, nights=2).payment
    assert payment.amount == Decimal("27000.00")
    assert payment.amount_minor == 27000  # yen have no minor unit
    form = stripe_on.requests[-1]["form"]
    assert form["line_items[0][price_data][unit_amount]"] == "27000"
    assert form["line_items[0][price_data][currency]"] == "jpy"
    assert deliver(session_event(payment)).json()["status"] == "processed"
    booking = Booking.objects.get()
    assert booking.status == Booking.Status.CONFIRMED
    assert booking.amount_paid == Decimal("27000.00")
    booking_cancel_and_refund(booking=booking)
    assert stripe_on.requests[-1]["form"]["amount"] == "27000"


def test_expired_checkout_releases_the_hold(
    tenant: Tenant, stripe_on: FakeStripe, visitor: User
) -> None:
    payment = start(tenant.prop, visitor).payment
    response = deliver(session_event(payment, event_type="checkout.session.expired"))
    assert response.json()["status"] == "processed"
    assert Booking.objects.get().status == Booking.Status.CANCELLED
    payment.refresh_from_db()
    assert payment.status == Payment.Status.EXPIRED
    # The nights are free for the next visitor.
    assert start(tenant.prop, UserFactory()).booking.status == Booking.Status.HELD


def test_charge_refunded_records_a_refund_made_in_stripe(
    tenant: Tenant, stripe_on: FakeStripe, visitor: User
) -> None:
    payment = start(tenant.prop, visitor).payment
    deliver(session_event(payment))
    payment.refresh_from_db()
    charge = sample("object_charge__stripe-mock_fixtures3.json")
    charge.update(
        payment_intent=payment.payment_intent_id,
        amount=35000,
        amount_refunded=10000,
        currency="eur",
        refunded=False,
    )
    event = sample("object_event__stripe-mock_fixtures3.json")
    event.update(id="evt_refund_1", type="charge.refunded", account="acct_seaside")
    event["data"] = {"object": charge}
    assert deliver(event).json()["status"] == "processed"
    refund = Refund.objects.get()
    assert (refund.amount, refund.reason) == (Decimal("100.00"), Refund.Reason.AT_GATEWAY)
    assert Booking.objects.get().amount_refunded == Decimal("100.00")
    # The same total again (a second event about the same refund) adds nothing.
    event2 = copy.deepcopy(event)
    event2["id"] = "evt_refund_2"
    deliver(event2)
    assert Refund.objects.count() == 1


def test_unhandled_event_types_are_recorded_and_ignored(
    tenant: Tenant, stripe_on: FakeStripe
) -> None:
    event = sample("payment_intent.succeeded__stripe-commercetools-connect-app.json")
    response = deliver(event)
    assert response.status_code == 200
    assert response.json()["status"] == "ignored"
    assert StripeEvent.objects.get().outcome == "Ignored: event type not handled."


def test_extension_paid_through_stripe_changes_the_dates(
    tenant: Tenant, stripe_on: FakeStripe, visitor: User
) -> None:
    payment = start(tenant.prop, visitor).payment
    deliver(session_event(payment))
    booking = Booking.objects.get()
    started = extension_start(
        booking=booking,
        check_in=booking.check_in,
        check_out=booking.check_out + timedelta(days=2),
        site_origin=ORIGIN,
    )
    extension = started.payment
    assert (extension.kind, extension.amount, extension.amount_minor) == (
        Payment.Kind.EXTENSION,
        Decimal("200.00"),
        20000,
    )
    assert stripe_on.requests[-1]["form"]["line_items[0][price_data][unit_amount]"] == "20000"
    assert deliver(session_event(extension, event_id="evt_ext")).json()["status"] == "processed"
    booking.refresh_from_db()
    assert booking.nights == 5
    assert booking.amount_paid == booking.total == Decimal("550.00")


def test_payment_for_a_released_hold_is_refunded(
    tenant: Tenant, stripe_on: FakeStripe, visitor: User
) -> None:
    started = start(tenant.prop, visitor)
    booking_cancel_and_refund(booking=started.booking)  # the visitor released the dates
    assert deliver(session_event(started.payment)).json()["status"] == "processed"
    assert Booking.objects.get().status == Booking.Status.CANCELLED
    refund = Refund.objects.get()
    assert (refund.reason, refund.status) == (
        Refund.Reason.BOOKING_CLOSED,
        Refund.Status.SUCCEEDED,
    )


@pytest.mark.django_db(transaction=True)
def test_the_same_event_delivered_twice_at_once_is_applied_once(
    tenant: Tenant, stripe_on: FakeStripe
) -> None:
    from django.db import connection

    payment = start(tenant.prop, UserFactory()).payment
    event = session_event(payment)
    barrier = threading.Barrier(2)
    answers: list[str] = []

    def post() -> None:
        try:
            barrier.wait()
            answers.append(deliver(event).json()["status"])
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == ["duplicate", "processed"]
    assert StripeEvent.objects.count() == 1
    assert Booking.objects.get().status == Booking.Status.CONFIRMED


# --- Lock order, stacked extensions, refund retries -----------------------------------------


def test_cancelling_locks_payments_before_the_property(
    tenant: Tenant, stripe_on: FakeStripe, visitor: User
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    payment = start(tenant.prop, visitor).payment
    deliver(session_event(payment))
    with CaptureQueriesContext(connection) as queries:
        booking_cancel_and_refund(booking=Booking.objects.get())
    locks = [
        q["sql"]
        for q in queries.captured_queries
        if "FOR UPDATE" in q["sql"] or "FOR NO KEY UPDATE" in q["sql"]
    ]
    tables = [
        "payment" if '"bookings_payment"' in sql.split("WHERE")[0] else sql.split("FROM")[1][:40]
        for sql in locks
    ]
    assert tables[0] == "payment", locks
    assert any("properties_property" in t for t in tables[1:]), locks


@pytest.mark.parametrize("first", ["older", "newer"])
def test_two_extensions_paid_only_the_first_paid_applies(
    tenant: Tenant, stripe_on: FakeStripe, visitor: User, first: str
) -> None:
    payment = start(tenant.prop, visitor).payment
    deliver(session_event(payment))
    booking = Booking.objects.get()
    original = (booking.check_in, booking.check_out)
    older = extension_start(
        booking=booking,
        check_in=booking.check_in,
        check_out=booking.check_out + timedelta(days=1),
        site_origin=ORIGIN,
    ).payment
    newer = extension_start(
        booking=booking,
        check_in=booking.check_in,
        check_out=booking.check_out + timedelta(days=2),
        site_origin=ORIGIN,
    ).payment
    older.refresh_from_db()
    assert (older.status, older.outcome) == (
        Payment.Status.FAILED,
        "Replaced by a newer extension.",
    )
    assert (newer.from_check_in, newer.from_check_out) == original
    # Only the newest extension stands, whichever is paid first: the replaced one is
    # refunded (its nights are held for the newer one anyway).
    paid_first, paid_second = (older, newer) if first == "older" else (newer, older)
    outcomes = [
        deliver(session_event(paid, event_id=f"evt_ext_{n}")).json()["outcome"]
        for n, paid in enumerate((paid_first, paid_second))
    ]
    assert any("a newer extension replaced this one" in o for o in outcomes), outcomes
    booking.refresh_from_db()
    assert (booking.check_in, booking.check_out) == (newer.new_check_in, newer.new_check_out)
    assert booking.amount_paid == Decimal("350.00") + newer.amount
    refund = Refund.objects.get()
    assert (refund.payment, refund.reason, refund.status, refund.amount) == (
        older,
        Refund.Reason.DATES_CHANGED,
        Refund.Status.SUCCEEDED,
        older.amount,
    )
    assert stripe_on.requests[-1]["path"] == "/v1/refunds"
    notice = ScheduledMessage.objects.get(kind=Kind.REFUND_NOTICE)
    assert "dates had already changed" in notice.context["summary"]


class FlakyGateway(FakeGateway):
    """Times out `failures` times, then refunds."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.keys: list[str] = []

    def refund(self, **kwargs: Any) -> RefundResult:
        self.keys.append(kwargs["idempotency_key"])
        if self.failures > 0:
            self.failures -= 1
            raise PaymentUnavailable("The payment provider did not answer in time.")
        return RefundResult(id=f"re_flaky_{len(self.keys)}", status="succeeded")


class RefusingGateway(FakeGateway):
    def refund(self, **kwargs: Any) -> RefundResult:
        raise PaymentRefused("The payment provider refused the refund: charge disputed.")


def _paid_booking(tenant: Tenant, visitor: User) -> Booking:
    payment = start(tenant.prop, visitor).payment
    payment_succeeded(payment=payment)
    return Booking.objects.get()


def test_transient_refund_failure_stays_pending_and_the_retry_task_sends_it(
    tenant: Tenant, visitor: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    booking = _paid_booking(tenant, visitor)
    flaky = FlakyGateway(failures=2)
    monkeypatch.setattr(refunds, "get_gateway", lambda name=None: flaky)
    booking_cancel_and_refund(booking=booking)
    refund = Refund.objects.get()
    assert (refund.status, refund.attempts, refund.gateway_refund_id) == (
        Refund.Status.PENDING,
        1,
        "",
    )
    assert "did not answer" in refund.last_error
    assert Booking.objects.get().amount_refunded == Decimal("350.00")
    # Not due yet: a retry waits 5 minutes after the last attempt.
    assert tasks.refunds_retry() == 0
    later = timezone.now() + timedelta(minutes=6)
    Refund.objects.update(created_at=later - timedelta(minutes=6))
    assert refunds_retry(now=later) == 1  # still failing
    refund.refresh_from_db()
    assert (refund.status, refund.attempts) == (Refund.Status.PENDING, 2)
    past = timezone.now() - timedelta(minutes=6)
    Refund.objects.update(created_at=past, last_attempt_at=past)
    assert tasks.refunds_retry() == 1  # the task, now answered
    refund.refresh_from_db()
    assert (refund.status, refund.attempts, refund.gateway_refund_id) == (
        Refund.Status.SUCCEEDED,
        3,
        "re_flaky_3",
    )
    assert set(flaky.keys) == {f"holidesk-refund-{refund.pk}"}


def test_refund_gives_up_after_eight_attempts(
    tenant: Tenant, visitor: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    booking = _paid_booking(tenant, visitor)
    flaky = FlakyGateway(failures=100)
    monkeypatch.setattr(refunds, "get_gateway", lambda name=None: flaky)
    booking_cancel_and_refund(booking=booking)
    now = timezone.now()
    for _ in range(REFUND_MAX_ATTEMPTS - 1):
        now += timedelta(minutes=6)
        Refund.objects.update(created_at=now - timedelta(hours=1))
        assert refunds_retry(now=now) == 1
    refund = Refund.objects.get()
    assert (refund.status, refund.attempts) == (Refund.Status.FAILED, 8)
    assert "Gave up after 8 attempts" in refund.error
    assert Booking.objects.get().amount_refunded == Decimal("0.00")
    assert refunds_retry(now=now + timedelta(hours=1)) == 0
    assert len(flaky.keys) == 8


def test_definitive_refusal_fails_the_refund_at_once(
    tenant: Tenant, visitor: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    booking = _paid_booking(tenant, visitor)
    monkeypatch.setattr(refunds, "get_gateway", lambda name=None: RefusingGateway())
    booking_cancel_and_refund(booking=booking)
    refund = Refund.objects.get()
    assert (refund.status, refund.attempts) == (Refund.Status.FAILED, 1)
    assert "charge disputed" in refund.error


def test_stripe_errors_are_sorted_into_transient_and_refused(
    tenant: Tenant, stripe_on: FakeStripe, visitor: User
) -> None:
    from bookings.payments.stripe_gateway import StripeGateway

    stripe_on.fail = True  # a 500 from Stripe: transient
    with pytest.raises(PaymentUnavailable) as transient:
        StripeGateway().refund(
            business=tenant.business,
            payment_intent_id="pi_1",
            connected_account="acct_seaside",
            amount_minor=100,
            idempotency_key="k1",
        )
    assert not isinstance(transient.value, PaymentRefused)
    stripe_on.fail = False
    stripe_on.refuse_refunds = True
    with pytest.raises(PaymentRefused, match="already refunded"):
        StripeGateway().refund(
            business=tenant.business,
            payment_intent_id="pi_1",
            connected_account="acct_seaside",
            amount_minor=100,
            idempotency_key="k2",
        )


def test_a_visitor_back_from_stripe_sees_the_confirmation_before_the_webhook(
    tenant: Tenant, stripe_on: FakeStripe, visitor: User
) -> None:
    started = start(tenant.prop, visitor)
    payment, booking = started.payment, started.booking
    page = Client(HTTP_HOST="seaside.localhost")
    page.force_login(visitor)
    url = f"/trips/{booking.reference}/confirmation/"
    # Not paid yet (or Stripe unreachable): the hold stays a hold.
    assert page.get(url).status_code == 200
    booking.refresh_from_db()
    assert booking.status == Booking.Status.HELD
    completed = session_event(payment)["data"]["object"]
    stripe_on.sessions[payment.checkout_id] = {**completed, "status": "open"}
    page.get(url)
    booking.refresh_from_db()
    assert booking.status == Booking.Status.HELD
    # Paid: the page confirms it, with the webhook's checks (account, amount, tenant).
    stripe_on.sessions[payment.checkout_id] = completed
    assert page.get(url).status_code == 200
    booking.refresh_from_db()
    payment.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    assert payment.status == Payment.Status.SUCCEEDED
    lookup = [r for r in stripe_on.requests if r["path"].startswith("/v1/checkout/sessions/")]
    assert lookup[-1]["headers"]["Stripe-Account"] == "acct_seaside"
    # The webhook arrives later and changes nothing.
    assert deliver(session_event(payment)).status_code == 200
    booking.refresh_from_db()
    assert booking.amount_paid == payment.amount
    assert Payment.objects.filter(status=Payment.Status.SUCCEEDED).count() == 1


def test_a_tampered_session_read_back_confirms_nothing(
    tenant: Tenant, stripe_on: FakeStripe, visitor: User
) -> None:
    started = start(tenant.prop, visitor)
    payment, booking = started.payment, started.booking
    short = session_event(payment, amount_total=payment.amount_minor - 100)["data"]["object"]
    stripe_on.sessions[payment.checkout_id] = short
    page = Client(HTTP_HOST="seaside.localhost")
    page.force_login(visitor)
    page.get(f"/trips/{booking.reference}/confirmation/")
    booking.refresh_from_db()
    assert booking.status == Booking.Status.HELD


@pytest.mark.django_db(transaction=True)
def test_a_paid_session_read_back_is_applied_in_its_own_transaction(
    tenant: Tenant, stripe_on: FakeStripe, visitor: User
) -> None:
    """As in production, the page runs in autocommit (no test transaction around it):
    the read-back takes its row locks inside a transaction of its own."""
    started = start(tenant.prop, visitor)
    payment, booking = started.payment, started.booking
    stripe_on.sessions[payment.checkout_id] = session_event(payment)["data"]["object"]
    page = Client(HTTP_HOST="seaside.localhost")
    page.force_login(visitor)
    assert page.get(f"/trips/{booking.reference}/confirmation/").status_code == 200
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
