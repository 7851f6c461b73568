"""Direct booking on a business site with the fake gateway: calendar, quote, checkout,
confirmation, My trips, cancellation and extension."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from bookings.errors import StayUnavailable
from bookings.models import Booking
from bookings.payments.models import Payment, Refund
from bookings.services.stays import booking_create
from properties.models import Property, SeasonalRate, User
from tests.bookings.conftest import days_from_today
from tests.conftest import Tenant, site_host
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def fake_gateway(settings: Any) -> None:
    settings.PAYMENTS_BACKEND = "fake"


def visitor_client(tenant: Tenant, user: User | None = None) -> tuple[Client, User]:
    user = user or UserFactory()
    client = Client(HTTP_HOST=site_host(tenant.business))
    client.force_login(user)
    return client, user


def book_and_pay(client: Client, prop: Property, check_in: date, nights: int = 3) -> Booking:
    check_out = check_in + timedelta(days=nights)
    response = client.post(
        f"/book/{prop.slug}/",
        {
            "check_in": check_in.isoformat(),
            "check_out": check_out.isoformat(),
            "guests": 2,
            "guest_name": "Ada Lovelace",
            "guest_phone": "+44 1234",
            "note": "Arriving late",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    fake_page = response["Location"]
    assert "/checkout/fake/" in fake_page
    assert client.get(fake_page).status_code == 200
    paid = client.post(fake_page, {"action": "pay"})
    assert paid.status_code == 302
    return Booking.objects.get(reference=paid["Location"].split("/")[2])


# --- Property page -----------------------------------------------------------------------


def test_calendar_marks_unavailable_nights_and_pages_through_months(tenant: Tenant) -> None:
    prop = tenant.prop
    start = days_from_today(prop, 40).replace(day=10)
    booking_create(
        property=prop, check_in=start, check_out=start + timedelta(days=3), source="airbnb"
    )
    month = start.strftime("%Y-%m")
    response = tenant.site_client().get(f"/p/{prop.slug}/?month={month}")
    body = response.content.decode()
    assert response.status_code == 200
    assert body.count(", unavailable</span>") == 3
    cal = response.context["calendar"]
    taken = [c.day for week in cal["weeks"] for c in week if c and not c.available]
    assert taken == [start, start + timedelta(days=1), start + timedelta(days=2)]
    assert 'rel="next"' in body
    assert 'rel="prev"' in body
    # Months before this one are not offered.
    first = tenant.site_client().get(f"/p/{prop.slug}/?month=2000-01")
    assert first.context["calendar"]["month"] == prop.local_today().replace(day=1)
    assert 'rel="prev"' not in first.content.decode()


def test_calendar_links_pick_check_in_then_check_out(tenant: Tenant) -> None:
    prop = tenant.prop
    check_in = days_from_today(prop, 20)
    response = tenant.site_client().get(f"/p/{prop.slug}/?check_in={check_in}")
    cells = [c for week in response.context["calendar"]["weeks"] for c in week if c]
    later = next(c for c in cells if c.day > check_in)
    assert f"check_in={check_in}" in later.href
    assert f"check_out={later.day}" in later.href


def test_quote_shows_the_breakdown(tenant: Tenant) -> None:
    prop = tenant.prop
    prop.tax_percent = Decimal("10")
    prop.save()
    check_in = days_from_today(prop, 20)
    response = tenant.site_client().get(
        f"/p/{prop.slug}/?check_in={check_in}&check_out={check_in + timedelta(days=3)}&guests=2"
    )
    body = response.content.decode()
    assert "3 nights × 100.00 (Standard)" in body  # noqa: RUF001
    assert "Cleaning fee" in body
    assert "Taxes (10%)" in body
    assert "€385.00" in body  # (300 + 50) * 1.10
    assert f"/book/{prop.slug}/?check_in={check_in}" in body


def test_rule_that_blocks_a_stay_is_explained_in_words(tenant: Tenant) -> None:
    prop = tenant.prop
    start = days_from_today(prop, 60)
    SeasonalRate.objects.create(
        business=tenant.business,
        property=prop,
        name="July",
        start=start,
        end=start + timedelta(days=31),
        nightly_price=Decimal("180.00"),
        min_nights=3,
    )
    response = tenant.site_client().get(
        f"/p/{prop.slug}/?check_in={start}&check_out={start + timedelta(days=2)}"
    )
    assert "Minimum 3 nights for arrivals in July." in response.content.decode()
    assert response.context["quote"] is None


def test_taken_dates_are_explained_and_not_offered(tenant: Tenant) -> None:
    prop = tenant.prop
    check_in = days_from_today(prop, 20)
    booking_create(
        property=prop, check_in=check_in, check_out=check_in + timedelta(days=2), source="vrbo"
    )
    response = tenant.site_client().get(
        f"/p/{prop.slug}/?check_in={check_in}&check_out={check_in + timedelta(days=4)}"
    )
    assert "already booked" in response.context["quote_error"]
    assert "Book these dates" not in response.content.decode()


def test_bad_dates_in_the_query_are_a_message_not_an_error(tenant: Tenant) -> None:
    response = tenant.site_client().get(f"/p/{tenant.prop.slug}/?check_in=2026-13-45&month=x")
    assert response.status_code == 200
    assert "YYYY-MM-DD" in response.content.decode()


# --- Checkout ----------------------------------------------------------------------------


def test_checkout_asks_the_visitor_to_sign_in(tenant: Tenant) -> None:
    check_in = days_from_today(tenant.prop, 20)
    url = f"/book/{tenant.prop.slug}/?check_in={check_in}&check_out={check_in + timedelta(days=2)}"
    response = tenant.site_client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/book/")


def test_fake_gateway_flow_confirms_and_shows_the_trip(tenant: Tenant) -> None:
    client, user = visitor_client(tenant)
    check_in = days_from_today(tenant.prop, 20)
    booking = book_and_pay(client, tenant.prop, check_in)
    assert booking.status == Booking.Status.CONFIRMED
    assert booking.guest_user == user
    assert (booking.guest_name, booking.guest_phone, booking.note) == (
        "Ada Lovelace",
        "+44 1234",
        "Arriving late",
    )
    assert booking.amount_paid == booking.total == Decimal("350.00")
    confirmation = client.get(f"/trips/{booking.reference}/confirmation/").content.decode()
    assert "You're booked" in confirmation
    assert booking.reference in confirmation
    trips = client.get("/trips/").content.decode()
    assert booking.reference in trips
    assert tenant.prop.name in trips


def test_declining_releases_the_dates(tenant: Tenant) -> None:
    client, _ = visitor_client(tenant)
    check_in = days_from_today(tenant.prop, 20)
    response = client.post(
        f"/book/{tenant.prop.slug}/",
        {
            "check_in": check_in,
            "check_out": check_in + timedelta(days=2),
            "guests": 2,
            "guest_name": "Ada",
            "guest_phone": "1",
        },
    )
    declined = client.post(response["Location"], {"action": "decline"}, follow=True)
    assert "declined" in declined.content.decode()
    assert Booking.objects.get().status == Booking.Status.CANCELLED
    assert Payment.objects.get().status == Payment.Status.FAILED


def test_submitting_twice_resumes_the_same_checkout(tenant: Tenant) -> None:
    client, _ = visitor_client(tenant)
    check_in = days_from_today(tenant.prop, 20)
    data = {
        "check_in": check_in,
        "check_out": check_in + timedelta(days=2),
        "guests": 2,
        "guest_name": "Ada",
        "guest_phone": "1",
    }
    first = client.post(f"/book/{tenant.prop.slug}/", data)
    second = client.post(f"/book/{tenant.prop.slug}/", data)
    assert first["Location"] == second["Location"]
    assert Booking.objects.count() == 1


@pytest.mark.parametrize(
    "change", [{"guests": 3}, {"nights": 3}, {"shift": 1}], ids=["guests", "longer", "shifted"]
)
def test_a_new_checkout_for_other_dates_or_guests_replaces_the_old_hold(
    tenant: Tenant, change: dict[str, int]
) -> None:
    client, _ = visitor_client(tenant)
    check_in = days_from_today(tenant.prop, 20)
    data = {
        "check_in": check_in,
        "check_out": check_in + timedelta(days=2),
        "guests": 2,
        "guest_name": "Ada",
        "guest_phone": "1",
    }
    first = client.post(f"/book/{tenant.prop.slug}/", data)
    assert first.status_code == 302
    new_in = check_in + timedelta(days=change.get("shift", 0))
    data.update(
        check_in=new_in,
        check_out=new_in + timedelta(days=change.get("nights", 2)),
        guests=change.get("guests", 2),
    )
    second = client.post(f"/book/{tenant.prop.slug}/", data)
    assert second.status_code == 302, second.content.decode()[:2000]
    assert first["Location"] != second["Location"]
    old, new = Booking.objects.order_by("pk")
    assert old.status == Booking.Status.CANCELLED
    assert (new.status, new.check_in, new.check_out, new.guests) == (
        Booking.Status.HELD,
        data["check_in"],
        data["check_out"],
        data["guests"],
    )
    old_payment = Payment.objects.get(booking=old)
    assert old_payment.status == Payment.Status.FAILED
    assert "Replaced" in old_payment.outcome
    assert Payment.objects.get(booking=new).status == Payment.Status.PENDING


def test_checkout_that_breaks_a_rule_is_400_not_409(tenant: Tenant) -> None:
    client, _ = visitor_client(tenant)
    start = days_from_today(tenant.prop, 60)
    SeasonalRate.objects.create(
        business=tenant.business,
        property=tenant.prop,
        name="July",
        start=start,
        end=start + timedelta(days=31),
        nightly_price=Decimal("180.00"),
        min_nights=3,
    )
    response = client.get(
        f"/book/{tenant.prop.slug}/",
        {"check_in": start, "check_out": start + timedelta(days=2), "guests": 2},
    )
    assert response.status_code == 400
    assert "Minimum 3 nights" in response.content.decode()


def test_dates_taken_meanwhile_are_told_on_the_checkout_page(tenant: Tenant) -> None:
    first, _ = visitor_client(tenant)
    second, _ = visitor_client(tenant)
    check_in = days_from_today(tenant.prop, 20)
    book_and_pay(first, tenant.prop, check_in)
    response = second.post(
        f"/book/{tenant.prop.slug}/",
        {
            "check_in": check_in,
            "check_out": check_in + timedelta(days=3),
            "guests": 2,
            "guest_name": "Bob",
            "guest_phone": "2",
        },
    )
    assert response.status_code == 409
    assert "already booked" in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_two_visitors_racing_for_the_same_dates_one_hold_wins(tenant: Tenant) -> None:
    check_in = days_from_today(tenant.prop, 20)
    clients = [visitor_client(tenant)[0] for _ in range(2)]
    barrier = threading.Barrier(2)
    results: list[Any] = []

    def attempt(client: Client) -> None:
        try:
            barrier.wait()
            results.append(
                client.post(
                    f"/book/{tenant.prop.slug}/",
                    {
                        "check_in": check_in,
                        "check_out": check_in + timedelta(days=3),
                        "guests": 2,
                        "guest_name": "Racer",
                        "guest_phone": "3",
                    },
                )
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    codes = sorted(r.status_code for r in results)
    assert codes == [302, 409]
    loser = next(r for r in results if r.status_code == 409).content.decode()
    assert "just taken" in loser or "already booked" in loser
    assert Booking.objects.filter(status=Booking.Status.HELD).count() == 1
    assert Payment.objects.count() == 1


# --- My trips ----------------------------------------------------------------------------


def test_trips_are_private_to_the_visitor_and_the_business(
    tenant: Tenant, outsider: Tenant
) -> None:
    client, user = visitor_client(tenant)
    booking = book_and_pay(client, tenant.prop, days_from_today(tenant.prop, 20))
    stranger, _ = visitor_client(tenant)
    assert stranger.get(f"/trips/{booking.reference}/").status_code == 404
    assert booking.reference not in stranger.get("/trips/").content.decode()
    # The same visitor on another business's site sees nothing of this trip.
    elsewhere = Client(HTTP_HOST=site_host(outsider.business))
    elsewhere.force_login(user)
    assert elsewhere.get(f"/trips/{booking.reference}/").status_code == 404
    assert booking.reference not in elsewhere.get("/trips/").content.decode()
    for action in ("cancel", "extend"):
        assert elsewhere.post(f"/trips/{booking.reference}/{action}/").status_code == 404
    assert Booking.objects.get().status == Booking.Status.CONFIRMED


def test_cancelling_refunds_what_the_policy_gives_through_the_gateway(tenant: Tenant) -> None:
    client, _ = visitor_client(tenant)
    booking = book_and_pay(client, tenant.prop, days_from_today(tenant.prop, 20))
    detail = client.get(f"/trips/{booking.reference}/").content.decode()
    assert "you get back <strong>€350.00</strong>" in detail  # moderate, 20 days ahead
    # One click shows what cancelling pays back; nothing is cancelled yet.
    confirm = client.get(f"/trips/{booking.reference}/cancel/").content.decode()
    assert "<strong>€350.00</strong>" in confirm
    assert "Yes, cancel and refund €350.00" in confirm
    client.post(f"/trips/{booking.reference}/cancel/")
    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.CONFIRMED
    response = client.post(f"/trips/{booking.reference}/cancel/", {"confirm": "yes"}, follow=True)
    assert "€350.00 is on its way back" in response.content.decode()
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert booking.amount_refunded == Decimal("350.00")
    refund = Refund.objects.get()
    assert (refund.status, refund.reason) == (Refund.Status.SUCCEEDED, Refund.Reason.CANCELLATION)
    assert refund.gateway_refund_id.startswith("fake_re_")


def test_extending_into_taken_nights_is_refused_and_changes_nothing(tenant: Tenant) -> None:
    client, _ = visitor_client(tenant)
    booking = book_and_pay(client, tenant.prop, days_from_today(tenant.prop, 20))
    booking_create(
        property=tenant.prop,
        check_in=booking.check_out + timedelta(days=1),
        check_out=booking.check_out + timedelta(days=4),
        source="airbnb",
    )
    new_out = booking.check_out + timedelta(days=2)
    for method in (client.get, client.post):
        response = method(
            f"/trips/{booking.reference}/extend/",
            {"check_in": booking.check_in, "check_out": new_out},
        )
        assert response.status_code == 409
        assert "Those extra nights are not free" in response.content.decode()
    booking.refresh_from_db()
    assert (booking.check_out, booking.total) == (new_out - timedelta(days=2), Decimal("350.00"))
    assert Payment.objects.count() == 1


def test_extending_into_free_nights_charges_exactly_the_difference(tenant: Tenant) -> None:
    client, _ = visitor_client(tenant)
    booking = book_and_pay(client, tenant.prop, days_from_today(tenant.prop, 20))
    new_in = booking.check_in - timedelta(days=1)
    new_out = booking.check_out + timedelta(days=1)
    page = client.get(
        f"/trips/{booking.reference}/extend/", {"check_in": new_in, "check_out": new_out}
    )
    assert "€200.00</strong> more" in page.content.decode()
    response = client.post(
        f"/trips/{booking.reference}/extend/", {"check_in": new_in, "check_out": new_out}
    )
    extension = Payment.objects.get(kind=Payment.Kind.EXTENSION)
    assert extension.amount == Decimal("200.00")  # 5 nights + fee (550) - 3 nights + fee (350)
    assert extension.amount_minor == 20000
    booking.refresh_from_db()
    assert booking.check_out == new_out - timedelta(days=1)  # unchanged until paid
    client.post(response["Location"], {"action": "pay"})
    booking.refresh_from_db()
    assert (booking.check_in, booking.check_out) == (new_in, new_out)
    assert booking.total == Decimal("550.00")
    assert booking.amount_paid == Decimal("550.00")


def _stay_in_progress(tenant: Tenant, user: User) -> Booking:
    today = tenant.prop.local_today()
    booking = booking_create(
        property=tenant.prop,
        check_in=today - timedelta(days=2),
        check_out=today + timedelta(days=2),
        guests=2,
        source="direct",
        guest_name="Ada",
    )
    Booking.objects.filter(pk=booking.pk).update(guest_user=user)
    return booking


@pytest.mark.parametrize("check_out", ["9999-12-31", "far"])
def test_extending_a_stay_in_progress_far_away_is_a_field_error(
    tenant: Tenant, check_out: str
) -> None:
    client, user = visitor_client(tenant)
    booking = _stay_in_progress(tenant, user)
    if check_out == "far":  # beyond the horizon, within the engine's span
        horizon = tenant.prop.local_today() + timedelta(days=tenant.prop.booking_horizon_days)
        check_out = (horizon + timedelta(days=1)).isoformat()
    for method in (client.get, client.post):
        response = method(
            f"/trips/{booking.reference}/extend/",
            {"check_in": booking.check_in, "check_out": check_out},
        )
        assert response.status_code == 400
        assert response.context["extension_error"].startswith("New check-out: ")
        assert response.context["extension_error_field"] == "check_out"
        assert "extension" not in response.context
    booking.refresh_from_db()
    assert booking.check_out == tenant.prop.local_today() + timedelta(days=2)
    assert not Payment.objects.exists()


def test_extend_page_without_dates_is_200_and_bad_dates_name_the_field(tenant: Tenant) -> None:
    client, user = visitor_client(tenant)
    booking = _stay_in_progress(tenant, user)
    url = f"/trips/{booking.reference}/extend/"
    plain = client.get(url)
    assert plain.status_code == 200
    assert not plain.context.get("extension_error")
    assert 'role="alert"' not in plain.content.decode()
    garbled = client.get(url, {"check_in": booking.check_in, "check_out": "2026-02-31"})
    assert garbled.status_code == 400
    assert garbled.context["extension_error"].startswith("New check-out: ")
    # A stay in progress may still add a night at the end (its other rules do not apply).
    nearer = client.get(
        url, {"check_in": booking.check_in, "check_out": booking.check_out + timedelta(days=1)}
    )
    assert nearer.status_code == 200
    assert nearer.context["extension"].difference > 0


def test_extension_holds_its_nights_until_paid_or_declined(tenant: Tenant) -> None:
    client, _ = visitor_client(tenant)
    booking = book_and_pay(client, tenant.prop, days_from_today(tenant.prop, 20))
    new_in = booking.check_in - timedelta(days=1)
    new_out = booking.check_out + timedelta(days=2)
    response = client.post(
        f"/trips/{booking.reference}/extend/", {"check_in": new_in, "check_out": new_out}
    )
    holds = Booking.objects.filter(status=Booking.Status.HELD).order_by("stay")
    assert [(h.check_in, h.check_out) for h in holds] == [
        (new_in, booking.check_in),
        (booking.check_out, new_out),
    ]
    # A newer extension replaces the older one and its holds.
    response = client.post(
        f"/trips/{booking.reference}/extend/",
        {"check_in": booking.check_in, "check_out": new_out},
    )
    holds = Booking.objects.filter(status=Booking.Status.HELD)
    assert [(h.check_in, h.check_out) for h in holds] == [(booking.check_out, new_out)]
    # Declining releases them; paying a fresh extension turns them into the stay.
    client.post(response["Location"], {"action": "decline"})
    assert not Booking.objects.filter(status=Booking.Status.HELD).exists()
    response = client.post(
        f"/trips/{booking.reference}/extend/",
        {"check_in": booking.check_in, "check_out": new_out},
    )
    client.post(response["Location"], {"action": "pay"})
    booking.refresh_from_db()
    assert (booking.check_in, booking.check_out) == (booking.check_in, new_out)
    assert not Booking.objects.filter(status=Booking.Status.HELD).exists()
    assert Booking.objects.filter(property=tenant.prop).active().count() == 1


def test_extension_paid_after_the_nights_were_taken_is_refunded(tenant: Tenant) -> None:
    client, _ = visitor_client(tenant)
    booking = book_and_pay(client, tenant.prop, days_from_today(tenant.prop, 20))
    new_out = booking.check_out + timedelta(days=2)
    response = client.post(
        f"/trips/{booking.reference}/extend/", {"check_in": booking.check_in, "check_out": new_out}
    )
    # While the guest pays, the extra nights are held.
    with pytest.raises(StayUnavailable):
        booking_create(
            property=tenant.prop, check_in=booking.check_out, check_out=new_out, source="airbnb"
        )
    # The hold runs out and a partner takes the nights before the payment arrives.
    Booking.objects.filter(status=Booking.Status.HELD).update(
        hold_expires_at=timezone.now() - timedelta(minutes=1)
    )
    booking_create(
        property=tenant.prop,
        check_in=booking.check_out,
        check_out=new_out,
        source="airbnb",
    )
    client.post(response["Location"], {"action": "pay"})
    booking.refresh_from_db()
    assert booking.check_out == new_out - timedelta(days=2)
    assert booking.amount_paid == Decimal("350.00")
    refund = Refund.objects.get()
    assert (refund.reason, refund.amount) == (Refund.Reason.DATES_TAKEN, Decimal("200.00"))


# --- Accounts and admin ------------------------------------------------------------------


def test_sign_in_is_rate_limited(tenant: Tenant) -> None:
    UserFactory(email="guest@example.com")
    client = tenant.site_client()
    pages = [
        client.post(
            "/accounts/login/", {"login": "guest@example.com", "password": "wrong"}
        ).content.decode()
        for _ in range(6)
    ]
    assert "Too many failed login attempts" not in pages[0]
    assert "Too many failed login attempts" in pages[-1]
    # Even the right password is refused until the window passes.
    right = client.post(
        "/accounts/login/", {"login": "guest@example.com", "password": "correct-horse-battery"}
    )
    assert "Too many failed login attempts" in right.content.decode()


def test_owner_sees_payments_read_only_in_the_admin(tenant: Tenant) -> None:
    client, _ = visitor_client(tenant)
    book_and_pay(client, tenant.prop, days_from_today(tenant.prop, 20))
    admin = tenant.admin_client()
    payment = Payment.objects.get()
    listing = admin.get("/admin/payments/payment/")
    assert listing.status_code == 200
    assert [row.pk for row in listing.context["cl"].result_list] == [payment.pk]
    assert admin.get(f"/admin/payments/payment/{payment.pk}/change/").status_code == 200
    before = Payment.objects.values().get()
    assert admin.post(f"/admin/payments/payment/{payment.pk}/change/", {}).status_code == 403
    assert admin.get("/admin/payments/payment/add/").status_code == 403
    assert Payment.objects.values().get() == before


def test_a_held_trip_offers_to_finish_paying_or_release(tenant: Tenant) -> None:
    client, _ = visitor_client(tenant)
    check_in = days_from_today(tenant.prop, 20)
    response = client.post(
        f"/book/{tenant.prop.slug}/",
        {
            "check_in": check_in,
            "check_out": check_in + timedelta(days=2),
            "guests": 2,
            "guest_name": "Ada",
            "guest_phone": "1",
        },
    )
    booking = Booking.objects.get()
    detail = client.get(f"/trips/{booking.reference}/").content.decode()
    assert response["Location"] in detail  # "Complete payment"
    assert "Release these dates" in detail
    client.post(f"/trips/{booking.reference}/cancel/", {"confirm": "yes"})
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert not Refund.objects.exists()
    assert Payment.objects.get().status == Payment.Status.FAILED
    # The old checkout page no longer takes a payment.
    assert client.get(response["Location"]).status_code == 302
