"""What one visitor may hold at a business at once (HOLIDESK_HOLDS_PER_VISITOR stays,
HOLIDESK_HELD_NIGHTS_PER_VISITOR nights together): enforced by the hold service, for
every checkout, even eight started in the same second."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from bookings.errors import HoldLimitReached
from bookings.models import Booking
from bookings.services.stays import booking_hold
from properties.models import Property, User
from tests.bookings.conftest import days_from_today
from tests.conftest import Tenant, make_tenant, site_host
from tests.factories import PropertyFactory, UserFactory


@pytest.fixture(autouse=True)
def fake_gateway(settings: Any) -> None:
    settings.PAYMENTS_BACKEND = "fake"


def _hold(prop: Property, user: User | None, offset: int, nights: int, **kw: Any) -> Booking:
    start = days_from_today(prop, offset)
    return booking_hold(
        property=prop,
        check_in=start,
        check_out=start + timedelta(days=nights),
        guests=2,
        guest_user=user,
        **kw,
    )


def test_a_visitor_holds_at_most_three_stays_at_once(tenant: Tenant) -> None:
    visitor = UserFactory()
    for n in range(3):
        _hold(tenant.prop, visitor, 10 + n * 5, 2)
    with pytest.raises(HoldLimitReached, match="at most 3 at once") as caught:
        _hold(tenant.prop, visitor, 40, 2)
    assert caught.value.http_status == 429
    assert Booking.objects.filter(status=Booking.Status.HELD).count() == 3
    # Someone else is not held back by this visitor's holds, nor are partner holds.
    _hold(tenant.prop, UserFactory(), 40, 2)
    _hold(tenant.prop, None, 50, 2)


def test_held_nights_together_are_capped_but_one_long_stay_may_be_held(
    tenant: Tenant,
) -> None:
    tenant.prop.max_nights = 90
    tenant.prop.save()
    visitor = UserFactory()
    _hold(tenant.prop, visitor, 10, 35)
    with pytest.raises(HoldLimitReached, match="65 nights"):
        _hold(tenant.prop, visitor, 50, 30)
    _hold(tenant.prop, visitor, 50, 25)  # 60 nights together: allowed
    alone = UserFactory()
    assert _hold(tenant.prop, alone, 100, 70).nights == 70


def test_the_limits_are_settings(tenant: Tenant, settings: Any) -> None:
    settings.HOLIDESK_HOLDS_PER_VISITOR = 1
    visitor = UserFactory()
    _hold(tenant.prop, visitor, 10, 2)
    with pytest.raises(HoldLimitReached, match="at most 1 at once"):
        _hold(tenant.prop, visitor, 20, 2)


def test_run_out_holds_and_other_businesses_do_not_count(tenant: Tenant) -> None:
    visitor = UserFactory()
    other = make_tenant("elsewhere")
    for n in range(3):
        _hold(other.prop, visitor, 10 + n * 5, 2)
    past = timezone.now() - timedelta(hours=2)
    for n in range(3):
        _hold(tenant.prop, visitor, 10 + n * 5, 2, now=past)  # long run out
    for n in range(3):
        _hold(tenant.prop, visitor, 40 + n * 5, 2)
    assert Booking.objects.filter(business=tenant.business, guest_user=visitor).count() == 6


def _checkout(client: Client, prop: Property, offset: int, nights: int = 3) -> Any:
    start = days_from_today(prop, offset)
    return client.post(
        f"/book/{prop.slug}/",
        {
            "check_in": start.isoformat(),
            "check_out": (start + timedelta(days=nights)).isoformat(),
            "guests": 2,
            "guest_name": "Squatter",
            "guest_phone": "+44 1234",
        },
    )


def test_the_site_checkout_says_so_when_the_visitor_holds_too_much(tenant: Tenant) -> None:
    client = Client(HTTP_HOST=site_host(tenant.business))
    client.force_login(UserFactory())
    second = PropertyFactory(business=tenant.business)
    for prop, offset in [(tenant.prop, 10), (second, 10), (tenant.prop, 20)]:
        assert _checkout(client, prop, offset).status_code == 302
    refused = _checkout(client, second, 20)
    assert refused.status_code == 400
    assert "at most 3 at once" in refused.context["problem"]
    assert Booking.objects.filter(status=Booking.Status.HELD).count() == 3


@pytest.mark.django_db(transaction=True)
@pytest.mark.xdist_group("many_connections")
def test_eight_checkouts_of_one_visitor_in_the_same_second_hold_three() -> None:
    tenant = make_tenant("squatters")
    visitor = UserFactory()
    barrier = threading.Barrier(8)

    def checkout(i: int) -> int:
        client = Client(HTTP_HOST=site_host(tenant.business))
        client.force_login(visitor)
        barrier.wait()
        try:
            return int(_checkout(client, tenant.prop, 10 + i * 10, nights=10).status_code)
        finally:
            connection.close()

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(checkout, range(8)))
    assert sorted(codes) == [302] * 3 + [400] * 5, codes
    held = Booking.objects.filter(guest_user=visitor, status=Booking.Status.HELD)
    assert held.count() == 3
