"""The visitor API through HTTP only: anonymous search, sign-up through allauth's headless
API, book, pay with the fake gateway, list, extend, cancel — every answer checked
against the published OpenAPI schema. Plus errors, isolation and throttling."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate as validate_spec

from bookings.models import Booking
from bookings.services.stays import booking_create
from tests.bookings.conftest import days_from_today
from tests.conftest import Tenant, site_host
from tests.factories import PropertyFactory, UserFactory

PASSWORD = "a-long-visitor-password-42"


@pytest.fixture(autouse=True)
def fake_gateway(settings: Any) -> None:
    settings.PAYMENTS_BACKEND = "fake"


class Checked:
    """An HTTP client on a business host that validates every /api/v1/ answer against
    the schema the host publishes."""

    def __init__(self, host: str, *, csrf: bool = True) -> None:
        self.client = Client(HTTP_HOST=host, enforce_csrf_checks=csrf)
        self.token = ""
        schema = self.client.get("/api/schema/", {"format": "json"})
        assert schema.status_code == 200, schema.content[:500]
        self.schema = json.loads(schema.content)
        self.components = _nullable_refs(self.schema["components"])

    def _headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.token:
            headers["X-Session-Token"] = self.token
        csrf = self.client.cookies.get("csrftoken")
        if csrf:
            headers["X-CSRFToken"] = csrf.value
        return headers

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        response = self.client.get(path, params or {}, headers=self._headers())
        return self._check("get", path, response)

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.client.post(
            path,
            json.dumps(body or {}),
            content_type="application/json",
            headers=self._headers(),
        )
        return self._check("post", path, response)

    def _check(self, method: str, path: str, response: Any) -> Any:
        if not path.startswith("/api/v1/"):
            return response
        operation = None
        for template, item in self.schema["paths"].items():
            pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
            if re.match(pattern, path) and method in item:
                operation = item[method]
        assert operation is not None, f"{method} {path} is not in the schema"
        declared = operation["responses"].get(str(response.status_code))
        assert declared is not None, (
            f"{method} {path} answered {response.status_code}, which the schema does not declare"
        )
        body = json.loads(response.content)
        schema = declared["content"]["application/json"]["schema"]
        OAS30Validator({"allOf": [_nullable_refs(schema)], "components": self.components}).validate(
            body
        )
        return response


def _nullable_refs(node: Any) -> Any:
    """OpenAPI 3.0 writes a nullable reference as `{"allOf": [{"$ref"}], "nullable":
    true}`: `nullable` applies to the whole schema, which the validator only applies
    beside `type`. Spelled out here as "null, or the referenced schema"."""
    if isinstance(node, list):
        return [_nullable_refs(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _nullable_refs(value) for key, value in node.items()}
    if out.get("nullable") and "allOf" in out and "type" not in out:
        out.pop("nullable")
        return {"anyOf": [out, {"type": "object", "nullable": True, "enum": [None]}]}
    return out


def _stay(tenant: Tenant, start: int = 20, nights: int = 3) -> dict[str, str]:
    check_in = days_from_today(tenant.prop, start)
    return {
        "check_in": check_in.isoformat(),
        "check_out": (check_in + timedelta(days=nights)).isoformat(),
        "guests": "2",
    }


def _signup(api: Checked, client_kind: str, email: str) -> Any:
    return api.post(
        f"/_allauth/{client_kind}/v1/auth/signup", {"email": email, "password": PASSWORD}
    )


def _pay(api: Checked, url: str) -> str:
    """Pay on the fake gateway's page as a browser would; the page it lands on."""
    path = url.split("://", 1)[-1].split("/", 1)[1]
    page = api.client.get("/" + path)
    assert page.status_code == 200
    token = api.client.cookies["csrftoken"].value
    paid = api.client.post("/" + path, {"action": "pay", "csrfmiddlewaretoken": token})
    assert paid.status_code == 302
    return str(paid["Location"])


def test_the_whole_journey_through_http(tenant: Tenant) -> None:
    api = Checked(site_host(tenant.business))
    prop = tenant.prop
    stay = _stay(tenant)

    # Anonymous: places, search, availability, quote.
    places = api.get("/api/v1/properties/")
    assert places.status_code == 200
    assert [p["slug"] for p in places.json()["results"]] == [prop.slug]
    found = api.get("/api/v1/search", stay)
    assert found.status_code == 200
    result = found.json()["results"][0]
    assert result["property"]["slug"] == prop.slug
    assert result["url"].startswith(f"/p/{prop.slug}/?check_in={stay['check_in']}")
    nights = api.get(
        f"/api/v1/properties/{prop.slug}/availability",
        {"start": stay["check_in"], "end": stay["check_out"]},
    )
    assert nights.status_code == 200
    assert len(nights.json()["nights"]) == 3
    priced = api.get(f"/api/v1/properties/{prop.slug}/quote", stay)
    assert priced.status_code == 200
    assert priced.json()["total"] == result["total"]
    assert api.get("/api/v1/bookings/").status_code in (401, 403)

    # Sign up through the headless API (the site's browser client: cookie and CSRF).
    session = api.get("/_allauth/browser/v1/auth/session")
    assert session.status_code == 401
    signed_up = _signup(api, "browser", "traveller@example.com")
    assert signed_up.status_code == 200, signed_up.content

    # Book: a hold and a payment URL.
    created = api.post(
        "/api/v1/bookings/",
        {"property": prop.slug, **stay, "guest_name": "Ada Lovelace", "guest_phone": "+44 1"},
    )
    assert created.status_code == 201, created.content
    body = created.json()
    reference = body["booking"]["reference"]
    assert body["booking"]["status"] == "held"
    assert Decimal(body["payment"]["amount"]) == Decimal(result["total"])
    # Sending it again resumes the same hold.
    again = api.post(
        "/api/v1/bookings/",
        {"property": prop.slug, **stay, "guest_name": "Ada Lovelace", "guest_phone": "+44 1"},
    )
    assert again.json()["booking"]["reference"] == reference

    # Pay with the fake gateway, then list and read the booking.
    _pay(api, body["payment"]["url"])
    mine = api.get("/api/v1/bookings/")
    assert [b["reference"] for b in mine.json()["results"]] == [reference]
    one = api.get(f"/api/v1/bookings/{reference}/")
    assert one.json()["status"] == "confirmed"
    assert one.json()["pending_payment"] is None

    # Extend by two nights: quote, then a payment for the difference.
    longer = {"check_out": (days_from_today(prop, 25)).isoformat()}
    ext = api.get(f"/api/v1/bookings/{reference}/extension-quote", longer)
    assert ext.status_code == 200
    assert Decimal(ext.json()["difference"]) > 0
    started = api.post(f"/api/v1/bookings/{reference}/extend", longer)
    assert started.status_code == 200, started.content
    assert Decimal(started.json()["payment"]["amount"]) == Decimal(ext.json()["difference"])
    _pay(api, started.json()["payment"]["url"])
    extended = api.get(f"/api/v1/bookings/{reference}/")
    assert extended.json()["check_out"] == longer["check_out"]

    # Cancel: the refund is shown first, then paid back.
    refund = api.get(f"/api/v1/bookings/{reference}/cancellation-quote")
    assert refund.status_code == 200
    cancelled = api.post(f"/api/v1/bookings/{reference}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["booking"]["status"] == "cancelled"
    assert cancelled.json()["refund"] == refund.json()["refund"]
    twice = api.post(f"/api/v1/bookings/{reference}/cancel")
    assert twice.status_code == 409
    assert twice.json()["error"]["code"] == "invalid_state"


def test_an_app_signs_up_and_books_with_a_session_token(tenant: Tenant) -> None:
    api = Checked(site_host(tenant.business), csrf=False)
    signed_up = _signup(api, "app", "app-user@example.com")
    assert signed_up.status_code == 200, signed_up.content
    api.token = signed_up.json()["meta"]["session_token"]
    api.client.cookies.clear()
    created = api.post(
        "/api/v1/bookings/",
        {"property": tenant.prop.slug, **_stay(tenant), "guest_name": "Ada", "guest_phone": "1"},
    )
    assert created.status_code == 201, created.content
    assert api.get("/api/v1/bookings/").json()["count"] == 1


def test_a_session_token_works_only_on_the_site_that_issued_it(
    tenant: Tenant, outsider: Tenant
) -> None:
    here = Checked(site_host(tenant.business), csrf=False)
    token = _signup(here, "app", "roamer@example.com").json()["meta"]["session_token"]
    there = Checked(site_host(outsider.business), csrf=False)
    there.token = token
    refused = there.get("/api/v1/bookings/")
    assert refused.status_code == 401


def test_one_account_books_on_every_site_and_sees_only_that_sites_bookings(
    tenant: Tenant, outsider: Tenant
) -> None:
    user = UserFactory()
    mine = booking_create(
        property=tenant.prop,
        check_in=days_from_today(tenant.prop, 10),
        check_out=days_from_today(tenant.prop, 12),
        source="direct",
    )
    Booking.objects.filter(pk=mine.pk).update(guest_user=user)
    elsewhere = Checked(site_host(outsider.business), csrf=False)
    elsewhere.client.force_login(user)
    assert elsewhere.get("/api/v1/bookings/").json()["count"] == 0
    missing = elsewhere.get(f"/api/v1/bookings/{mine.reference}/")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    # Another visitor at the same site: 404 as well.
    stranger = Checked(site_host(tenant.business), csrf=False)
    stranger.client.force_login(UserFactory())
    assert stranger.get(f"/api/v1/bookings/{mine.reference}/").status_code == 404
    assert stranger.post(f"/api/v1/bookings/{mine.reference}/cancel").status_code == 404
    assert Booking.objects.get(pk=mine.pk).status == Booking.Status.CONFIRMED
    # The owner of the site sees it.
    owner = Checked(site_host(tenant.business), csrf=False)
    owner.client.force_login(user)
    assert owner.get(f"/api/v1/bookings/{mine.reference}/").status_code == 200


def test_another_sites_places_are_not_found(tenant: Tenant, outsider: Tenant) -> None:
    api = Checked(site_host(outsider.business))
    assert api.get(f"/api/v1/properties/{tenant.prop.slug}/").status_code == 404
    found = api.get("/api/v1/search", _stay(tenant))
    assert [r["property"]["slug"] for r in found.json()["results"]] == [outsider.prop.slug]
    hidden = PropertyFactory(business=tenant.business, published=False)
    own = Checked(site_host(tenant.business))
    assert own.get(f"/api/v1/properties/{hidden.slug}/").status_code == 404


def test_bad_input_gets_the_one_error_shape(tenant: Tenant) -> None:
    api = Checked(site_host(tenant.business))
    prop = tenant.prop
    bad_date = api.get("/api/v1/search", {"check_in": "2030-02-31", "check_out": "x"})
    assert bad_date.status_code == 400
    assert set(bad_date.json()["error"]["fields"]) == {"check_in", "check_out"}
    backwards = api.get("/api/v1/search", {**_stay(tenant), "check_out": _stay(tenant)["check_in"]})
    assert backwards.json()["error"]["code"] == "invalid_dates"
    too_many = api.get(f"/api/v1/properties/{prop.slug}/quote", {**_stay(tenant), "guests": 99})
    assert too_many.status_code == 400
    assert too_many.json()["error"]["code"] == "invalid_guests"
    long = api.get(
        f"/api/v1/properties/{prop.slug}/availability",
        {"start": _stay(tenant)["check_in"], "end": "2099-01-01"},
    )
    assert long.status_code == 400
    booking_create(
        property=prop,
        check_in=days_from_today(prop, 21),
        check_out=days_from_today(prop, 22),
        source="airbnb",
    )
    taken = api.get(f"/api/v1/properties/{prop.slug}/quote", _stay(tenant))
    assert taken.status_code == 409
    assert taken.json()["error"]["code"] == "stay_unavailable"
    assert taken.json()["error"]["conflict"]["start"] == days_from_today(prop, 21).isoformat()


def test_booking_taken_nights_is_a_409_and_holds_nothing(tenant: Tenant) -> None:
    api = Checked(site_host(tenant.business), csrf=False)
    api.client.force_login(UserFactory())
    prop = tenant.prop
    booking_create(
        property=prop,
        check_in=days_from_today(prop, 21),
        check_out=days_from_today(prop, 22),
        source="airbnb",
    )
    response = api.post(
        "/api/v1/bookings/",
        {"property": prop.slug, **_stay(tenant), "guest_name": "A", "guest_phone": "1"},
    )
    assert response.status_code == 409
    assert Booking.objects.filter(status=Booking.Status.HELD).count() == 0
    missing_name = api.post("/api/v1/bookings/", {"property": prop.slug, **_stay(tenant)})
    assert missing_name.status_code == 400
    assert "guest_name" in missing_name.json()["error"]["fields"]


def test_a_session_post_without_csrf_is_refused(tenant: Tenant) -> None:
    client = Client(HTTP_HOST=site_host(tenant.business), enforce_csrf_checks=True)
    client.force_login(UserFactory())
    response = client.post(
        "/api/v1/bookings/",
        json.dumps({"property": tenant.prop.slug, **_stay(tenant)}),
        content_type="application/json",
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_reads_are_rate_limited(tenant: Tenant, settings: Any) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"visitor_read": "3/min", "visitor_write": "1/min"},
    }
    from rest_framework.settings import api_settings
    from rest_framework.throttling import SimpleRateThrottle

    api_settings.reload()
    SimpleRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    try:
        api = Checked(site_host(tenant.business))
        codes = [api.get("/api/v1/properties/").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        last = api.get("/api/v1/properties/")
        assert last.json()["error"]["code"] == "throttled"
        assert "Retry-After" in last
        # Writes count apart, per signed-in visitor.
        writer = Checked(site_host(tenant.business), csrf=False)
        writer.client.force_login(UserFactory())
        body = {"property": tenant.prop.slug, **_stay(tenant)}
        assert writer.post("/api/v1/bookings/", body).status_code == 400
        assert writer.post("/api/v1/bookings/", body).status_code == 429
    finally:
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK}
        api_settings.reload()
        SimpleRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES


def test_the_schema_documents_every_visitor_path(tenant: Tenant) -> None:
    api = Checked(site_host(tenant.business))
    paths = set(api.schema["paths"])
    assert {
        "/api/v1/properties/",
        "/api/v1/properties/{slug}/",
        "/api/v1/properties/{slug}/availability",
        "/api/v1/properties/{slug}/quote",
        "/api/v1/search",
        "/api/v1/bookings/",
        "/api/v1/bookings/{reference}/",
        "/api/v1/bookings/{reference}/extension-quote",
        "/api/v1/bookings/{reference}/extend",
        "/api/v1/bookings/{reference}/cancellation-quote",
        "/api/v1/bookings/{reference}/cancel",
    } <= paths
    assert "sessionToken" in api.schema["components"]["securitySchemes"]
    validate_spec(api.schema)  # a valid OpenAPI document
    assert Client(HTTP_HOST=site_host(tenant.business)).get("/api/docs/").status_code == 200
