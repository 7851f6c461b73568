"""The owner's actions on one stay: change the dates (price difference first), refund
part of what was paid, record a payment taken offline. Each one: the happy path, bad
input that changes nothing, a partner's stay refused with the reason, and another
business's booking answering 404."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from bookings.errors import InvalidAmount, InvalidTransition, StayUnavailable
from bookings.models import Booking
from bookings.payments.models import Payment, Refund, StripeAccount
from bookings.payments.services.balance import payment_record_offline
from bookings.payments.services.checkout import payment_succeeded
from bookings.payments.services.date_changes import booking_dates_change
from bookings.payments.services.refunds import booking_refund_partial
from messaging.models import ScheduledMessage
from properties.models import Membership
from tests.bookings.test_site_booking import book_and_pay, visitor_client
from tests.conftest import APP_HOST, Tenant
from tests.dashboard.conftest import business_today, paid, stay
from tests.factories import MembershipFactory
from tests.support.stripe_fake import FakeStripe

# The test property: 100.00 a night and a 50.00 cleaning fee (3 nights: 350.00).


@pytest.fixture(autouse=True)
def fake_gateway(settings: Any) -> None:
    settings.PAYMENTS_BACKEND = "fake"


def start_of(tenant: Tenant, days: int = 30) -> date:
    return business_today(tenant.business) + timedelta(days=days)


def dates_url(booking: Booking) -> str:
    return f"/dashboard/bookings/{booking.reference}/change-dates/"


def refund_url(booking: Booking) -> str:
    return f"/dashboard/bookings/{booking.reference}/refund/"


def offline_url(booking: Booking) -> str:
    return f"/dashboard/bookings/{booking.reference}/offline-payment/"


def confirm(
    owner: Client, booking: Booking, check_in: date, check_out: date, total: str, **extra: str
) -> Any:
    return owner.post(
        dates_url(booking),
        {"check_in": check_in, "check_out": check_out, "expected_total": total, **extra},
    )


# --- Change dates ---------------------------------------------------------------------


def test_a_longer_stay_shows_what_is_to_pay_then_moves_on_confirmation(
    owner: Client, tenant: Tenant
) -> None:
    start = start_of(tenant)
    booking = stay(tenant.prop, start, 3)
    paid(booking)
    detail = owner.get(f"/dashboard/bookings/{booking.reference}/").content.decode()
    assert "Change dates…" in detail

    form = owner.get(dates_url(booking))
    assert form.status_code == 200
    assert 'name="check_in"' in form.content.decode()

    later = start + timedelta(days=4)
    preview = owner.get(dates_url(booking), {"check_in": str(start), "check_out": str(later)})
    assert preview.status_code == 200
    html = preview.content.decode()
    assert "€450.00" in html  # the new total
    assert "+€100.00" in html  # the difference
    assert "To pay: €100.00" in html
    assert "Change the dates" in html
    booking.refresh_from_db()
    assert booking.check_out == start + timedelta(days=3)  # looking changes nothing

    response = confirm(owner, booking, start, later, "450.00")
    assert response.status_code == 302
    assert response["Location"] == f"/dashboard/bookings/{booking.reference}/"
    booking.refresh_from_db()
    assert (booking.check_in, booking.check_out) == (start, later)
    assert booking.total == Decimal("450.00")
    assert booking.amount_paid == Decimal("350.00")
    assert not Refund.objects.exists()
    page = owner.get(response["Location"]).content.decode()
    assert "€100.00 is due from the guest" in page
    assert "Due from the guest" in page
    assert "Record a payment…" in page


def test_a_shorter_paid_stay_refunds_the_difference_through_the_gateway(
    owner: Client, tenant: Tenant
) -> None:
    start = start_of(tenant)
    booking = stay(tenant.prop, start, 4)
    paid(booking)  # 450.00
    html = owner.get(
        dates_url(booking), {"check_in": str(start), "check_out": str(start + timedelta(days=3))}
    ).content.decode()
    assert "To refund: €100.00" in html
    assert "&minus;€100.00" in html or "−€100.00" in html  # noqa: RUF001

    response = confirm(owner, booking, start, start + timedelta(days=3), "350.00", settle="refund")
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.nights == 3
    assert booking.total == Decimal("350.00")
    assert booking.amount_refunded == Decimal("100.00")
    refund = Refund.objects.get(booking=booking)
    assert (refund.amount, refund.reason, refund.status) == (
        Decimal("100.00"),
        Refund.Reason.NEW_DATES,
        Refund.Status.SUCCEEDED,
    )
    assert "on its way back" in owner.get(response["Location"]).content.decode()


def test_an_overpayment_kept_can_be_refunded_later(owner: Client, tenant: Tenant) -> None:
    start = start_of(tenant)
    booking = stay(tenant.prop, start, 4)
    paid(booking)
    confirm(owner, booking, start, start + timedelta(days=3), "350.00", settle="keep")
    booking.refresh_from_db()
    assert booking.total == Decimal("350.00")
    assert not Refund.objects.exists()
    assert (
        "Up to €450.00 can go back"
        in owner.get(f"/dashboard/bookings/{booking.reference}/").content.decode()
    )
    booking_refund_partial(booking=booking, amount=Decimal(100), note="The extra night")
    booking.refresh_from_db()
    assert booking.total == Decimal("350.00")  # it gave back the overpayment only
    assert booking.amount_paid - booking.amount_refunded == booking.total


def test_overlapping_dates_are_a_form_error_and_change_nothing(
    owner: Client, tenant: Tenant
) -> None:
    start = start_of(tenant)
    booking = stay(tenant.prop, start, 3)
    stay(tenant.prop, start + timedelta(days=5), 2, name="Next Guest")
    wanted = {"check_in": str(start), "check_out": str(start + timedelta(days=6))}
    preview = owner.get(dates_url(booking), wanted)
    assert preview.status_code == 409
    assert "overlap another stay" in preview.content.decode()
    assert "Change the dates</button>" not in preview.content.decode()

    response = confirm(owner, booking, start, start + timedelta(days=6), "650.00")
    assert response.status_code == 409
    assert "Nothing was changed" in response.content.decode()
    booking.refresh_from_db()
    assert booking.check_out == start + timedelta(days=3)


def test_the_exclusion_constraint_decides_even_without_the_pre_check(
    owner: Client, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = start_of(tenant)
    booking = stay(tenant.prop, start, 3)
    stay(tenant.prop, start + timedelta(days=3), 2, name="Next Guest")
    monkeypatch.setattr("bookings.services.stays.stay_free_claim", lambda *a, **k: None)
    response = confirm(owner, booking, start, start + timedelta(days=5), "550.00")
    assert response.status_code == 409
    booking.refresh_from_db()
    assert booking.check_out == start + timedelta(days=3)
    # The second door, the service, says the same.
    with pytest.raises(StayUnavailable):
        booking_dates_change(booking=booking, check_in=start, check_out=start + timedelta(days=5))


def test_a_price_that_moved_since_the_preview_asks_again(owner: Client, tenant: Tenant) -> None:
    start = start_of(tenant)
    booking = stay(tenant.prop, start, 3)
    response = confirm(owner, booking, start, start + timedelta(days=4), "999.00")
    assert response.status_code == 409
    html = response.content.decode()
    assert "nothing was changed" in html
    assert 'value="450.00"' in html  # the preview again, with today's price
    booking.refresh_from_db()
    assert booking.nights == 3


@pytest.mark.parametrize(
    "query",
    [
        {"check_in": "2030-02-31", "check_out": "2030-03-02"},
        {"check_in": "tomorrow", "check_out": ""},
        "reversed",
        "same",
        "too long",
    ],
)
def test_bad_dates_are_a_form_error(
    owner: Client, tenant: Tenant, query: dict[str, str] | str
) -> None:
    start = start_of(tenant)
    booking = stay(tenant.prop, start, 3)
    if query == "reversed":
        query = {"check_in": str(start + timedelta(days=3)), "check_out": str(start)}
    elif query == "same":
        query = {"check_in": str(start), "check_out": str(start + timedelta(days=3))}
    elif query == "too long":
        query = {"check_in": str(start), "check_out": str(start + timedelta(days=5000))}
    assert isinstance(query, dict)
    preview = owner.get(dates_url(booking), query)
    assert preview.status_code == 400
    assert 'class="error"' in preview.content.decode() or "form-errors" in (
        preview.content.decode()
    )
    response = owner.post(dates_url(booking), {**query, "expected_total": "350.00"})
    assert response.status_code == 400
    booking.refresh_from_db()
    assert (booking.check_in, booking.nights) == (start, 3)


def test_moved_stay_re_times_its_emails(owner: Client, tenant: Tenant) -> None:
    start = start_of(tenant)
    booking = stay(tenant.prop, start, 3)
    before = {
        m.kind: m.send_at
        for m in ScheduledMessage.objects.filter(
            booking=booking, state=ScheduledMessage.State.SCHEDULED
        )
    }
    new_start = start + timedelta(days=7)
    confirm(owner, booking, new_start, new_start + timedelta(days=3), "350.00")
    after = {
        m.kind: m.send_at
        for m in ScheduledMessage.objects.filter(
            booking=booking, state=ScheduledMessage.State.SCHEDULED
        )
    }
    moved = [kind for kind in before if kind in after and after[kind] != before[kind]]
    assert moved, (before, after)
    assert all(after[k] - before[k] == timedelta(days=7) for k in moved)


# --- Partner stays, other businesses, roles -------------------------------------------


def test_a_partner_stay_offers_none_of_the_actions_and_refuses_them(
    owner: Client, tenant: Tenant
) -> None:
    start = start_of(tenant)
    booking = stay(tenant.prop, start, 3, source="airbnb")
    paid(booking)
    html = owner.get(f"/dashboard/bookings/{booking.reference}/").content.decode()
    assert "change or cancel it on Airbnb" in html
    for label in ("Change dates…", "Refund part…", "Record a payment…"):
        assert label not in html
    for url, data in (
        (dates_url(booking), {"check_in": start, "check_out": start + timedelta(days=4)}),
        (refund_url(booking), {"amount": "10", "reason": "x", "expected_refundable": "350"}),
        (offline_url(booking), {"amount": "10", "method": "cash", "expected_due": "0"}),
    ):
        assert owner.get(url).status_code == 302
        response = owner.post(url, {**data, "expected_total": "450.00"})
        assert response.status_code == 302
        assert "Airbnb" in owner.get(response["Location"]).content.decode()
    booking.refresh_from_db()
    assert booking.nights == 3
    assert not Refund.objects.exists()
    assert Payment.objects.filter(booking=booking).count() == 1


def test_the_services_refuse_a_partner_stay_too(tenant: Tenant) -> None:
    booking = stay(tenant.prop, start_of(tenant), 3, source="booking")
    paid(booking)
    with pytest.raises(InvalidTransition, match=r"Booking\.com owns this reservation"):
        booking_refund_partial(booking=booking, amount=Decimal(10), note="")
    with pytest.raises(InvalidTransition, match=r"Booking\.com owns this reservation"):
        payment_record_offline(booking=booking, amount=Decimal(10), method="cash")


def test_another_business_booking_answers_404(outsider_client: Client, tenant: Tenant) -> None:
    booking = stay(tenant.prop, start_of(tenant), 3)
    paid(booking)
    Booking.objects.filter(pk=booking.pk).update(total=Decimal("500.00"))
    for url in (dates_url(booking), refund_url(booking), offline_url(booking)):
        assert outsider_client.get(url).status_code == 404
        assert outsider_client.post(url, {"amount": "10", "method": "cash"}).status_code == 404
    assert not Refund.objects.exists()
    assert Payment.objects.filter(booking=booking).count() == 1


def test_a_manager_may_and_a_staff_member_may_not(tenant: Tenant) -> None:
    booking = stay(tenant.prop, start_of(tenant), 3)
    paid(booking)
    for role, allowed in ((Membership.Role.MANAGER, True), (Membership.Role.STAFF, False)):
        membership: Membership = MembershipFactory(business=tenant.business, role=role)
        member = membership.user
        client = Client(HTTP_HOST=APP_HOST)
        client.force_login(member)
        status = client.get(refund_url(booking)).status_code
        assert (status == 200) is allowed, (role, status)


# --- Partial refund -------------------------------------------------------------------


def test_a_partial_refund_goes_back_through_the_gateway(owner: Client, tenant: Tenant) -> None:
    booking = stay(tenant.prop, start_of(tenant), 3)
    paid(booking)
    form = owner.get(refund_url(booking))
    assert form.status_code == 200
    assert "€350.00" in form.content.decode()
    response = owner.post(
        refund_url(booking),
        {"amount": "80.50", "reason": "Hot tub out of order", "expected_refundable": "350.00"},
    )
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    assert booking.amount_refunded == Decimal("80.50")
    refund = Refund.objects.get(booking=booking)
    assert (refund.reason, refund.status, refund.note) == (
        Refund.Reason.OWNER,
        Refund.Status.SUCCEEDED,
        "Hot tub out of order",
    )
    page = owner.get(response["Location"]).content.decode()
    assert "Refunded €80.50" in page
    assert "Hot tub out of order" in page
    # A goodwill refund lowers the price: the guest owes nothing back.
    assert booking.total == Decimal("269.50")
    assert "Refunded by the owner: Hot tub out of order" in page
    assert "Due from the guest" not in page
    assert "Record a payment…" not in page

    again = owner.post(  # the same form sent twice
        refund_url(booking),
        {"amount": "80.50", "reason": "Hot tub out of order", "expected_refundable": "350.00"},
    )
    assert again.status_code == 409
    assert 'value="269.50"' in again.content.decode()
    assert Refund.objects.count() == 1


@pytest.mark.parametrize("amount", ["0", "-5", "350.01", "abc", "10.001", "", "1e400"])
def test_an_invalid_refund_amount_is_a_form_error(
    owner: Client, tenant: Tenant, amount: str
) -> None:
    booking = stay(tenant.prop, start_of(tenant), 3)
    paid(booking)
    response = owner.post(
        refund_url(booking), {"amount": amount, "reason": "x", "expected_refundable": "350.00"}
    )
    assert response.status_code == 400
    assert 'class="error"' in response.content.decode()
    assert not Refund.objects.exists()
    booking.refresh_from_db()
    assert booking.amount_refunded == 0


def test_a_refund_needs_a_reason(owner: Client, tenant: Tenant) -> None:
    booking = stay(tenant.prop, start_of(tenant), 3)
    paid(booking)
    response = owner.post(
        refund_url(booking), {"amount": "10", "reason": "", "expected_refundable": "350.00"}
    )
    assert response.status_code == 400
    assert not Refund.objects.exists()


def test_a_zero_decimal_currency_refunds_whole_units_only(tenant: Tenant) -> None:
    booking = stay(tenant.prop, start_of(tenant), 3)
    Booking.objects.filter(pk=booking.pk).update(currency="JPY")
    booking.refresh_from_db()
    paid(booking)
    with pytest.raises(InvalidAmount):
        booking_refund_partial(booking=booking, amount=Decimal("10.50"), note="")
    assert not Refund.objects.exists()


def test_nothing_to_refund_sends_the_owner_back(owner: Client, tenant: Tenant) -> None:
    booking = stay(tenant.prop, start_of(tenant), 3)
    assert (
        "Refund part…"
        not in owner.get(f"/dashboard/bookings/{booking.reference}/").content.decode()
    )
    response = owner.get(refund_url(booking))
    assert response.status_code == 302
    assert "left to refund" in owner.get(response["Location"]).content.decode()


@pytest.fixture
def stripe_on(settings: Any, fake_stripe: FakeStripe, tenant: Tenant) -> FakeStripe:
    settings.PAYMENTS_BACKEND = "stripe"
    settings.STRIPE_SECRET_KEY = "sk_test_holidesk"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_test"
    settings.STRIPE_API_BASE = fake_stripe.url
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.STRIPE_TIMEOUT_SECONDS = 5
    StripeAccount.objects.create(business=tenant.business, account_id="acct_seaside")
    return fake_stripe


def test_a_refund_the_gateway_refuses_is_a_form_error_and_recorded(
    owner: Client, tenant: Tenant, stripe_on: FakeStripe
) -> None:
    booking = stay(tenant.prop, start_of(tenant), 3)
    payment = paid(booking)
    Payment.objects.filter(pk=payment.pk).update(
        gateway="stripe", payment_intent_id="pi_test_1", connected_account="acct_seaside"
    )
    stripe_on.refuse_refunds = True
    response = owner.post(
        refund_url(booking), {"amount": "50", "reason": "Late key", "expected_refundable": "350"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "refused the refund of €50.00" in html
    assert "Charge already refunded" in html
    assert [r["path"] for r in stripe_on.requests] == ["/v1/refunds"]
    refund = Refund.objects.get(booking=booking)
    assert refund.status == Refund.Status.FAILED
    booking.refresh_from_db()
    assert booking.amount_refunded == 0  # a refused refund is not counted
    today = owner.get("/dashboard/").content.decode()
    assert "Refunds the payment provider refused" in today
    assert booking.reference in today

    stripe_on.refuse_refunds = False  # the owner tries again from the re-shown form
    again = owner.post(
        refund_url(booking), {"amount": "50", "reason": "Late key", "expected_refundable": "350"}
    )
    assert again.status_code == 302
    booking.refresh_from_db()
    assert booking.amount_refunded == Decimal("50.00")
    assert booking.total == Decimal("300.00")  # lowered once, not once per attempt


# --- Offline payment ------------------------------------------------------------------


def test_an_offline_payment_is_recorded_and_shown(owner: Client, tenant: Tenant) -> None:
    booking = stay(tenant.prop, start_of(tenant), 3, source="owner")  # 350.00, unpaid
    detail = owner.get(f"/dashboard/bookings/{booking.reference}/").content.decode()
    assert "Record a payment…" in detail
    assert "€350.00 is due" in detail
    form = owner.get(offline_url(booking))
    assert form.status_code == 200
    assert 'value="350.00"' in form.content.decode()

    response = owner.post(
        offline_url(booking),
        {"amount": "200", "method": "bank_transfer", "note": "Ref 1234", "expected_due": "350.00"},
    )
    assert response.status_code == 302
    payment = Payment.objects.get(booking=booking)
    assert (payment.kind, payment.gateway, payment.status, payment.method) == (
        Payment.Kind.OFFLINE,
        "offline",
        Payment.Status.SUCCEEDED,
        Payment.Method.BANK_TRANSFER,
    )
    assert payment.recorded_by == tenant.owner
    booking.refresh_from_db()
    assert booking.amount_paid == Decimal("200.00")
    page = owner.get(response["Location"]).content.decode()
    assert "Paid offline" in page
    assert "bank transfer" in page
    assert "Ref 1234" in page
    assert "€150.00 is due" in page

    rows = list(
        csv.DictReader(
            io.StringIO(
                b"".join(owner.get("/dashboard/bookings/export.csv").streaming_content).decode()
            )
        )
    )
    assert [r["paid"] for r in rows if r["reference"] == booking.reference] == ["200.00"]

    again = owner.post(  # the same form sent twice
        offline_url(booking),
        {"amount": "200", "method": "bank_transfer", "note": "Ref 1234", "expected_due": "350.00"},
    )
    assert again.status_code == 409
    assert Payment.objects.filter(booking=booking).count() == 1


@pytest.mark.parametrize(
    "data",
    [
        {"amount": "0", "method": "cash"},
        {"amount": "-1", "method": "cash"},
        {"amount": "350.01", "method": "cash"},
        {"amount": "12.345", "method": "cash"},
        {"amount": "zzz", "method": "cash"},
        {"amount": "10", "method": "cheque"},
        {"amount": "10", "method": "cash", "note": "x" * 301},
    ],
)
def test_an_invalid_offline_payment_is_a_form_error(
    owner: Client, tenant: Tenant, data: dict[str, str]
) -> None:
    booking = stay(tenant.prop, start_of(tenant), 3, source="owner")
    response = owner.post(offline_url(booking), {**data, "expected_due": "350.00"})
    assert response.status_code == 400
    assert not Payment.objects.exists()
    booking.refresh_from_db()
    assert booking.amount_paid == 0


def test_a_refund_draws_on_card_payments_before_offline_ones(owner: Client, tenant: Tenant) -> None:
    start = start_of(tenant)
    booking = stay(tenant.prop, start, 3)
    card = paid(booking)  # 350.00 by card
    confirm(owner, booking, start, start + timedelta(days=4), "450.00")  # 100.00 due
    booking.refresh_from_db()
    cash = payment_record_offline(booking=booking, amount=Decimal(100), method="cash")
    booking.refresh_from_db()
    assert booking.amount_paid == Decimal("450.00")
    refunds = booking_refund_partial(booking=booking, amount=Decimal(400), note="Goodwill")
    assert [(r.payment_id, r.amount, r.status) for r in refunds] == [
        (card.pk, Decimal("350.00"), Refund.Status.SUCCEEDED),
        (cash.pk, Decimal("50.00"), Refund.Status.SUCCEEDED),
    ]
    assert refunds[0].gateway_refund_id.startswith("fake_re_")
    assert refunds[1].gateway_refund_id == ""  # given back by hand
    booking.refresh_from_db()
    assert booking.amount_refunded == Decimal("400.00")


def test_cancel_then_refund_what_the_policy_kept(owner: Client, tenant: Tenant) -> None:
    booking = stay(tenant.prop, start_of(tenant, 2), 3)  # moderate: half back
    paid(booking)
    owner.post(
        f"/dashboard/bookings/{booking.reference}/cancel/",
        {"refund": "policy", "expected_full": "350.00", "expected_policy": "175.00"},
    )
    html = owner.get(f"/dashboard/bookings/{booking.reference}/").content.decode()
    assert "Refund part…" in html
    assert "Change dates…" not in html
    assert "Record a payment…" not in html
    response = owner.post(
        refund_url(booking), {"amount": "175", "reason": "Goodwill", "expected_refundable": "175"}
    )
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.amount_refunded == Decimal("350.00")


# --- The guest pays what is due -------------------------------------------------------


def test_the_guest_pays_what_the_longer_stay_costs_from_their_trip(
    owner: Client, tenant: Tenant
) -> None:
    start = start_of(tenant)
    client, _ = visitor_client(tenant)
    booking = book_and_pay(client, tenant.prop, start)  # 350.00 paid through the site
    assert "still due" not in client.get(f"/trips/{booking.reference}/").content.decode()
    confirm(owner, booking, start, start + timedelta(days=4), "450.00")

    trip = client.get(f"/trips/{booking.reference}/").content.decode()
    assert "€100.00</strong> is still due" in trip
    response = client.post(f"/trips/{booking.reference}/pay/")
    assert response.status_code == 302
    assert "/checkout/fake/" in response["Location"]
    again = client.post(f"/trips/{booking.reference}/pay/")  # resumes the same checkout
    assert again["Location"] == response["Location"]
    payment = Payment.objects.get(booking=booking, kind=Payment.Kind.BALANCE)
    assert payment.amount == Decimal("100.00")

    paid_page = client.post(response["Location"], {"action": "pay"}, follow=True)
    assert "nothing more is due" in paid_page.content.decode()
    booking.refresh_from_db()
    assert booking.amount_paid == Decimal("450.00")
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED
    assert "still due" not in client.get(f"/trips/{booking.reference}/").content.decode()
    assert (
        "Due from the guest"
        not in owner.get(f"/dashboard/bookings/{booking.reference}/").content.decode()
    )
    # Another visitor cannot pay (or see) it.
    stranger, _ = visitor_client(tenant)
    assert stranger.post(f"/trips/{booking.reference}/pay/").status_code == 404


def test_an_amount_due_paid_after_a_cancellation_goes_back(owner: Client, tenant: Tenant) -> None:
    start = start_of(tenant)
    client, _ = visitor_client(tenant)
    booking = book_and_pay(client, tenant.prop, start)
    confirm(owner, booking, start, start + timedelta(days=4), "450.00")
    client.post(f"/trips/{booking.reference}/pay/")
    owner.post(
        f"/dashboard/bookings/{booking.reference}/cancel/",
        {"refund": "full", "expected_full": "350.00", "expected_policy": "350.00"},
    )
    balance = Payment.objects.get(booking=booking, kind=Payment.Kind.BALANCE)
    payment_succeeded(payment=balance)  # the provider completes the checkout anyway
    refund = Refund.objects.get(payment=balance)
    assert refund.amount == Decimal("100.00")
    assert refund.reason == Refund.Reason.BOOKING_CLOSED
    booking.refresh_from_db()
    assert booking.amount_paid == Decimal("350.00")


def test_a_refused_refund_of_new_dates_keeps_the_change_and_says_so(
    owner: Client, tenant: Tenant, stripe_on: FakeStripe
) -> None:
    start = start_of(tenant)
    booking = stay(tenant.prop, start, 4)
    payment = paid(booking)  # 450.00
    Payment.objects.filter(pk=payment.pk).update(
        gateway="stripe", payment_intent_id="pi_test_2", connected_account="acct_seaside"
    )
    stripe_on.refuse_refunds = True
    response = confirm(owner, booking, start, start + timedelta(days=3), "350.00", settle="refund")
    assert response.status_code == 302
    page = owner.get(response["Location"]).content.decode()
    assert "refused the refund of €100.00" in page
    booking.refresh_from_db()
    assert (booking.nights, booking.total, booking.amount_refunded) == (
        3,
        Decimal("350.00"),
        Decimal("0.00"),
    )
    assert Refund.objects.get(booking=booking).status == Refund.Status.FAILED
    assert "Up to €450.00 can go back" in page  # the owner can refund it again
