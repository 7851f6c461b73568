"""Payment rules that live in the services, each tried through two doors: an ended stay
is not cancelled under the policy, an open checkout is resumed or replaced, and dates
that are not a stay are a 400 with nothing written."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from psycopg.types.range import Range

from bookings.errors import InvalidDates, InvalidTransition, StayUnavailable
from bookings.models import Booking
from bookings.payments.models import Payment, Refund
from bookings.payments.services.checkout import checkout_start, payment_succeeded
from bookings.payments.services.refunds import booking_cancel_and_refund
from bookings.services.stays import booking_create
from properties.models import Property, User
from tests.bookings.conftest import days_from_today, token_client
from tests.conftest import Tenant, site_host
from tests.factories import UserFactory

ORIGIN = "http://seaside.localhost"


@pytest.fixture(autouse=True)
def fake_gateway(settings: Any) -> None:
    settings.PAYMENTS_BACKEND = "fake"


@pytest.fixture
def visitor(db: None) -> User:
    return UserFactory(email="ada@example.com", name="Ada Lovelace")


def visitor_client(tenant: Tenant, user: User) -> Client:
    client = Client(HTTP_HOST=site_host(tenant.business))
    client.force_login(user)
    return client


def paid_stay(prop: Property, user: User, check_in: date, nights: int = 3) -> Booking:
    started = checkout_start(
        property=prop,
        check_in=check_in,
        check_out=check_in + timedelta(days=nights),
        guests=2,
        user=user,
        guest_name=user.name,
        site_origin=ORIGIN,
    )
    assert started.payment is not None
    payment_succeeded(payment=started.payment)
    return Booking.objects.get(pk=started.booking.pk)


def move_stay(booking: Booking, check_in: date, check_out: date) -> Booking:
    """Time passes: the stay is now in the past (its dates set directly, as the engine
    refuses to book the past)."""
    Booking.objects.filter(pk=booking.pk).update(stay=Range(check_in, check_out, "[)"))
    return Booking.objects.get(pk=booking.pk)


# --- An ended stay is not cancelled under the policy -------------------------------------------


@pytest.mark.parametrize("ended_days_ago", [0, 3], ids=["check-out-today", "last-week"])
def test_a_visitor_cannot_cancel_an_ended_stay(
    tenant: Tenant, visitor: User, ended_days_ago: int
) -> None:
    booking = paid_stay(tenant.prop, visitor, days_from_today(tenant.prop, 20))
    check_out = days_from_today(tenant.prop, -ended_days_ago)
    booking = move_stay(booking, check_out - timedelta(days=3), check_out)
    response = visitor_client(tenant, visitor).post(
        f"/trips/{booking.reference}/cancel/", {"confirm": "yes"}, follow=True
    )
    assert "A stay that has ended cannot be cancelled." in response.content.decode()
    booking.refresh_from_db()
    assert (booking.status, booking.amount_refunded) == (Booking.Status.CONFIRMED, Decimal(0))
    assert not Refund.objects.exists()


def test_the_owner_api_cannot_cancel_an_ended_stay(tenant: Tenant) -> None:
    today = days_from_today(tenant.prop, 0)
    stay = booking_create(
        property=tenant.prop,
        check_in=today - timedelta(days=4),
        check_out=today - timedelta(days=1),
        source="api",
    )
    response = token_client(tenant).post(f"/api/v1/bookings/{stay.reference}/cancel")
    assert response.status_code == 409, response.content
    error = response.json()["error"]
    assert (error["code"], error["message"]) == (
        "invalid_state",
        "A stay that has ended cannot be cancelled.",
    )
    stay.refresh_from_db()
    assert stay.status == Booking.Status.CONFIRMED


def test_a_stay_in_progress_can_still_be_cancelled(tenant: Tenant) -> None:
    today = days_from_today(tenant.prop, 0)
    stay = booking_create(
        property=tenant.prop,
        check_in=today - timedelta(days=1),
        check_out=today + timedelta(days=1),
        source="api",
    )
    response = token_client(tenant).post(f"/api/v1/bookings/{stay.reference}/cancel")
    assert response.status_code == 200, response.content
    assert response.json()["booking"]["status"] == "cancelled"


def test_the_owner_can_still_cancel_an_ended_stay_with_a_full_refund(
    tenant: Tenant, visitor: User
) -> None:
    booking = paid_stay(tenant.prop, visitor, days_from_today(tenant.prop, 20))
    today = days_from_today(tenant.prop, 0)
    booking = move_stay(booking, today - timedelta(days=5), today - timedelta(days=2))
    with pytest.raises(InvalidTransition, match="has ended"):
        booking_cancel_and_refund(booking=booking)
    cancelled, refund = booking_cancel_and_refund(
        booking=booking, by_owner=True, reason="guest never came"
    )
    assert cancelled.status == Booking.Status.CANCELLED
    assert refund == cancelled.amount_refunded == Decimal("350.00")


# --- An open checkout is resumed or replaced ---------------------------------------------------


def _start(prop: Property, user: User, check_in: date, *, nights: int = 2, guests: int = 2) -> Any:
    return checkout_start(
        property=prop,
        check_in=check_in,
        check_out=check_in + timedelta(days=nights),
        guests=guests,
        user=user,
        guest_name=user.name,
        site_origin=ORIGIN,
    )


def test_the_checkout_service_resumes_the_visitors_open_checkout(
    tenant: Tenant, visitor: User
) -> None:
    check_in = days_from_today(tenant.prop, 20)
    first = _start(tenant.prop, visitor, check_in)
    again = _start(tenant.prop, visitor, check_in)
    assert again.payment == first.payment
    assert again.redirect_url == first.redirect_url
    assert (Booking.objects.count(), Payment.objects.count()) == (1, 1)


def test_the_checkout_service_replaces_the_visitors_colliding_checkout(
    tenant: Tenant, visitor: User
) -> None:
    check_in = days_from_today(tenant.prop, 20)
    first = _start(tenant.prop, visitor, check_in)
    second = _start(tenant.prop, visitor, check_in + timedelta(days=1), guests=3)
    first.payment.refresh_from_db()
    assert first.payment.status == Payment.Status.FAILED
    assert "Replaced" in first.payment.outcome
    assert Booking.objects.get(pk=first.booking.pk).status == Booking.Status.CANCELLED
    assert Booking.objects.get(pk=second.booking.pk).status == Booking.Status.HELD


def test_another_visitors_open_checkout_is_never_resumed(tenant: Tenant, visitor: User) -> None:
    check_in = days_from_today(tenant.prop, 20)
    first = _start(tenant.prop, visitor, check_in)
    with pytest.raises(StayUnavailable):
        _start(tenant.prop, UserFactory(), check_in)
    first.payment.refresh_from_db()
    assert first.payment.status == Payment.Status.PENDING


# --- Dates that are not a stay -----------------------------------------------------------------


def _post_checkout(client: Client, prop: Property, check_in: Any, check_out: Any) -> Any:
    return client.post(
        f"/book/{prop.slug}/",
        {
            "check_in": check_in,
            "check_out": check_out,
            "guests": 2,
            "guest_name": "Ada",
            "guest_phone": "1",
        },
    )


@pytest.mark.parametrize(
    ("check_in", "check_out", "message"),
    [
        (25, 20, "Check-out must be after check-in."),
        (20, 20, "Check-out must be after check-in."),
        ("2031-02-30", 20, "Please enter the check-in date as YYYY-MM-DD."),
        (20, "not-a-date", "Please enter the check-out date as YYYY-MM-DD."),
        (20, "", "Please choose your dates first."),
    ],
    ids=["reversed", "no-nights", "impossible-check-in", "bad-check-out", "missing"],
)
def test_checkout_with_dates_that_are_not_a_stay_is_400_and_writes_nothing(
    tenant: Tenant, visitor: User, check_in: Any, check_out: Any, message: str
) -> None:
    def day(value: Any) -> Any:
        return days_from_today(tenant.prop, value).isoformat() if isinstance(value, int) else value

    client = visitor_client(tenant, visitor)
    # An open checkout of the visitor's own is there too: it must survive bad input.
    _start(tenant.prop, visitor, days_from_today(tenant.prop, 20))
    response = _post_checkout(client, tenant.prop, day(check_in), day(check_out))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert (Booking.objects.count(), Payment.objects.count()) == (1, 1)
    assert Payment.objects.get().status == Payment.Status.PENDING


def test_the_checkout_service_refuses_reversed_dates(tenant: Tenant, visitor: User) -> None:
    check_in = days_from_today(tenant.prop, 20)
    with pytest.raises(InvalidDates, match="Check-out must be after check-in"):
        checkout_start(
            property=tenant.prop,
            check_in=check_in,
            check_out=check_in - timedelta(days=2),
            guests=2,
            user=visitor,
            guest_name="Ada",
            site_origin=ORIGIN,
        )
    assert not Booking.objects.exists()


def test_checkout_without_guest_details_is_400_and_holds_nothing(
    tenant: Tenant, visitor: User
) -> None:
    check_in = days_from_today(tenant.prop, 20)
    response = visitor_client(tenant, visitor).post(
        f"/book/{tenant.prop.slug}/",
        {
            "check_in": check_in.isoformat(),
            "check_out": (check_in + timedelta(days=2)).isoformat(),
            "guests": 2,
        },
    )
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not Booking.objects.exists()
