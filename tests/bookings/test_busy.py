"""A write that loses a lock race (deadlock, serialization failure) is run again; one
that keeps losing answers 503 "busy, try again" at every door, never a 500 and never
"those dates are taken". The race is injected at the property lock, the one place every
calendar write passes; real races are in test_concurrency.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from django.db import OperationalError
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from bookings.errors import StayUnavailable
from bookings.models import Booking
from bookings.services import stays, writes
from bookings.services.blocks import block_create
from properties.errors import Busy
from properties.models import Property
from tests.bookings.conftest import days_from_today
from tests.conftest import Tenant, site_host
from tests.factories import UserFactory

# Retries happen only around the outermost transaction: no test-case transaction here.
pytestmark = pytest.mark.django_db(transaction=True)


def _deadlock() -> OperationalError:
    exc = OperationalError("deadlock detected")
    exc.__cause__ = psycopg.errors.DeadlockDetected("deadlock detected")
    return exc


@pytest.fixture
def lose_races(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], list[int]]:
    """Make the next `n` property locks of a stay write lose a deadlock; returns the list
    of lock attempts, to count them."""

    def arm(n: int) -> list[int]:
        attempts: list[int] = []
        real = writes.property_lock

        def lock(property_id: int, **options: Any) -> Property:
            attempts.append(property_id)
            if len(attempts) <= n:
                raise _deadlock()
            return real(property_id, **options)

        monkeypatch.setattr(stays, "property_lock", lock)
        return attempts

    return arm


def _booking_body(tenant: Tenant) -> dict[str, Any]:
    start = days_from_today(tenant.prop, 12)
    return {
        "property": tenant.prop.pk,
        "check_in": str(start),
        "check_out": str(start + timedelta(days=3)),
        "guests": 2,
    }


def test_a_lost_race_is_run_again_and_succeeds(
    tenant: Tenant, api: APIClient, lose_races: Callable[[int], list[int]]
) -> None:
    attempts = lose_races(2)
    response = api.post("/api/v1/bookings/", _booking_body(tenant), format="json")
    assert response.status_code == 201, response.content
    assert len(attempts) == 3
    assert Booking.objects.count() == 1


def test_a_race_lost_every_time_is_503_busy_in_the_api_not_409(
    tenant: Tenant, api: APIClient, lose_races: Callable[[int], list[int]]
) -> None:
    attempts = lose_races(100)
    response = api.post("/api/v1/bookings/", _booking_body(tenant), format="json")
    assert response.status_code == 503, response.content
    assert response["Retry-After"] == "1"
    error = response.json()["error"]
    assert error["code"] == "busy"
    assert "try again" in error["message"]
    assert len(attempts) == writes.WRITE_ATTEMPTS
    assert not Booking.objects.exists()


def test_the_service_answers_busy_not_stay_unavailable(
    tenant: Tenant, lose_races: Callable[[int], list[int]]
) -> None:
    lose_races(100)
    start = days_from_today(tenant.prop, 12)
    with pytest.raises(Busy) as caught:
        stays.booking_create(
            property=tenant.prop,
            check_in=start,
            check_out=start + timedelta(days=2),
            source=Booking.Source.OWNER,
        )
    assert not isinstance(caught.value, StayUnavailable)


def test_a_race_lost_every_time_is_a_503_page_on_the_site(
    tenant: Tenant, settings: Any, lose_races: Callable[[int], list[int]]
) -> None:
    settings.PAYMENTS_BACKEND = "fake"
    lose_races(100)
    client = Client(HTTP_HOST=site_host(tenant.business))
    client.force_login(UserFactory())
    start = days_from_today(tenant.prop, 12)
    response = client.post(
        f"/book/{tenant.prop.slug}/",
        {
            "check_in": start.isoformat(),
            "check_out": (start + timedelta(days=3)).isoformat(),
            "guests": 2,
            "guest_name": "Ada Lovelace",
            "guest_phone": "+44 1234",
        },
    )
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert "try again" in response.content.decode()
    assert not Booking.objects.exists()


def test_a_race_lost_every_time_in_the_admin_is_a_503_page(
    tenant: Tenant, lose_races: Callable[[int], list[int]]
) -> None:
    """Inside the admin's transaction the service cannot retry by itself: the admin page
    is run again whole, then answers busy."""
    attempts = lose_races(100)
    start = days_from_today(tenant.prop, 12)
    response = tenant.admin_client().post(
        reverse("admin:bookings_booking_add"),
        {
            "property": tenant.prop.pk,
            "kind": "stay",
            "check_in": str(start),
            "check_out": str(start + timedelta(days=3)),
            "guests": 2,
            "guest_name": "Phone Guest",
            "guest_email": "",
            "guest_phone": "",
            "note": "",
        },
    )
    assert response.status_code == 503
    assert len(attempts) >= 2
    assert not Booking.objects.exists()


def test_an_overlap_is_still_409_with_its_range(tenant: Tenant, api: APIClient) -> None:
    body = _booking_body(tenant)
    block = block_create(
        property=tenant.prop,
        start=days_from_today(tenant.prop, 13),
        end=days_from_today(tenant.prop, 14),
    )
    response = api.post("/api/v1/bookings/", body, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["conflict"] == {
        "start": str(block.check_in),
        "end": str(block.check_out),
    }
