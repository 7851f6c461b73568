"""Sign-in is throttled per real client (behind the load balancer) and per account,
and the admin's own login form, which had no limit, is no longer a way in."""

from __future__ import annotations

import itertools

from django.test import Client, override_settings

from tests.conftest import Tenant
from tests.factories import UserFactory

PASSWORD = "correct-horse-battery"
_ips = itertools.count(1)


def _address() -> str:
    # A fresh address per client: the limits are per IP and kept in Redis for minutes.
    return f"192.0.2.{next(_ips) % 250 + 1}"


def _app_client(**extra: str) -> Client:
    return Client(HTTP_HOST="localhost", REMOTE_ADDR=_address(), **extra)


def _signed_in(client: Client) -> bool:
    return client.get("/admin/").status_code == 200


def test_admin_login_sends_to_the_rate_limited_sign_in(tenant: Tenant) -> None:
    response = _app_client().get("/admin/login/?next=/admin/bookings/booking/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2Fbookings%2Fbooking%2F"
    response = _app_client().get("/admin/login/?next=https://evil.example/")
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2F"


def test_forty_wrong_passwords_then_the_right_one_is_refused(tenant: Tenant) -> None:
    """The probe: 40 wrong passwords on /admin/login/, then the right one, signed in."""
    client = _app_client()
    email = tenant.owner.email
    for _ in range(40):
        client.post("/admin/login/", {"username": email, "password": "wrong-guess"})
    client.post("/admin/login/?next=/admin/", {"username": email, "password": PASSWORD})
    assert not _signed_in(client)

    # The sign-in page the admin sends to counts the failures.
    client = _app_client()
    for _ in range(40):
        client.post("/accounts/login/", {"login": email, "password": "wrong-guess"})
    response = client.post("/accounts/login/", {"login": email, "password": PASSWORD})
    assert response.status_code in (200, 429)
    assert not _signed_in(client)


def test_an_account_is_throttled_whatever_the_address(tenant: Tenant) -> None:
    email = tenant.owner.email
    for _ in range(6):
        _app_client().post("/accounts/login/", {"login": email, "password": "wrong-guess"})
    client = _app_client()
    response = client.post("/accounts/login/", {"login": email, "password": PASSWORD})
    assert response.status_code in (200, 429)
    assert not _signed_in(client)


@override_settings(HOLIDESK_TRUSTED_PROXY_COUNT=1)
def test_clients_behind_the_load_balancer_are_throttled_separately(tenant: Tenant) -> None:
    """Behind the ALB every request comes from the ALB's address; the client is the
    entry the ALB appended to X-Forwarded-For."""
    balancer = _address()
    first = Client(HTTP_HOST="localhost", REMOTE_ADDR=balancer, HTTP_X_FORWARDED_FOR="203.0.113.7")
    second = Client(HTTP_HOST="localhost", REMOTE_ADDR=balancer, HTTP_X_FORWARDED_FOR="203.0.113.8")
    for attempt in range(11):
        first.post("/accounts/login/", {"login": f"nobody{attempt}@example.com", "password": "x"})
    other = UserFactory(is_staff=True)
    response = first.post("/accounts/login/", {"login": other.email, "password": PASSWORD})
    assert response.status_code != 302  # this client used up its failures

    response = second.post("/accounts/login/", {"login": tenant.owner.email, "password": PASSWORD})
    assert response.status_code == 302
    assert _signed_in(second)


@override_settings(HOLIDESK_TRUSTED_PROXY_COUNT=1)
def test_a_forged_forwarded_for_does_not_give_a_fresh_allowance(tenant: Tenant) -> None:
    balancer = _address()
    for attempt in range(11):
        # The client writes the left entry; the load balancer appends the real one.
        Client(
            HTTP_HOST="localhost",
            REMOTE_ADDR=balancer,
            HTTP_X_FORWARDED_FOR=f"10.9.9.{attempt}, 203.0.113.9",
        ).post("/accounts/login/", {"login": f"nobody{attempt}@example.com", "password": "x"})
    client = Client(
        HTTP_HOST="localhost", REMOTE_ADDR=balancer, HTTP_X_FORWARDED_FOR="10.9.9.99, 203.0.113.9"
    )
    response = client.post("/accounts/login/", {"login": tenant.owner.email, "password": PASSWORD})
    assert response.status_code != 302


def test_a_signed_in_account_without_access_gets_a_page_not_a_loop(tenant: Tenant) -> None:
    client = _app_client()
    client.force_login(UserFactory())
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 403
    assert b"not an owner or manager" in response.content
