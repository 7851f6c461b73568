"""The owner REST API: scoping, the contract's paths, and one error shape for bad input."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from bookings.models import Booking
from bookings.services.blocks import block_create
from bookings.services.stays import booking_create
from properties.models import ApiToken
from properties.services import api_token_revoke
from tests.bookings.conftest import days_from_today, token_client
from tests.conftest import Tenant


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert "fields" in body["error"]
    return body["error"]


# --- Authentication --------------------------------------------------------------------


def test_no_token_is_401_json(tenant: Tenant) -> None:
    assert_error(
        APIClient(HTTP_HOST="localhost").get("/api/v1/properties/"), 401, "not_authenticated"
    )


def test_wrong_token_is_401_json(tenant: Tenant) -> None:
    client = APIClient(HTTP_HOST="localhost")
    client.credentials(HTTP_AUTHORIZATION="Token hd_not-a-real-token")
    assert_error(client.get("/api/v1/properties/"), 401, "authentication_failed")


def test_revoked_token_is_401(tenant: Tenant, api: APIClient) -> None:
    for token in ApiToken.objects.filter(business=tenant.business):
        api_token_revoke(token=token)
    assert_error(api.get("/api/v1/properties/"), 401, "authentication_failed")


def test_session_auth_works_for_owners(tenant: Tenant) -> None:
    client = APIClient(HTTP_HOST="localhost")
    client.force_login(tenant.owner)
    assert client.get("/api/v1/properties/").status_code == 200


def test_api_is_not_served_on_business_sites(tenant: Tenant) -> None:
    """A business site serves the visitor API (docs/visitor-api.md) under /api/v1/: an
    owner's token opens nothing of the owner API there."""
    client = token_client(tenant)
    client.defaults["HTTP_HOST"] = "seaside.localhost"
    assert client.get("/api/v1/blocks/").status_code == 404
    assert client.get("/api/v1/bookings/HD-AAAAAA/cancel").status_code in (401, 403, 405)
    places = client.get("/api/v1/properties/").json()["results"]
    assert places
    assert all("published" not in place and "id" not in place for place in places)


def test_unknown_api_path_is_json_404(api: APIClient) -> None:
    assert_error(api.get("/api/v1/nothing-here/"), 404, "not_found")


# --- Properties ------------------------------------------------------------------------


def test_properties_are_scoped_to_the_token_business(
    tenant: Tenant, outsider: Tenant, api: APIClient
) -> None:
    response = api.get("/api/v1/properties/")
    assert response.status_code == 200
    ids = [p["id"] for p in response.json()["results"]]
    assert ids == [tenant.prop.pk]
    assert response.json()["results"][0]["currency"] == "EUR"


def test_other_business_property_is_404(tenant: Tenant, outsider: Tenant, api: APIClient) -> None:
    assert_error(api.get(f"/api/v1/properties/{outsider.prop.pk}/"), 404, "not_found")
    url = f"/api/v1/properties/{outsider.prop.pk}/availability?start=2030-01-01&end=2030-01-05"
    assert_error(api.get(url), 404, "not_found")


def test_availability_night_by_night(tenant: Tenant, api: APIClient) -> None:
    prop = tenant.prop
    start = days_from_today(prop, 10)
    block_create(property=prop, start=start + timedelta(days=1), end=start + timedelta(days=3))
    url = f"/api/v1/properties/{prop.pk}/availability?start={start}&end={start + timedelta(days=4)}"
    response = api.get(url)
    assert response.status_code == 200
    nights = response.json()["nights"]
    assert [n["available"] for n in nights] == [True, False, False, True]
    assert nights[0]["price"] == "100.00"
    assert nights[0]["date"] == start.isoformat()


@pytest.mark.parametrize(
    "query",
    [
        "",
        "start=2030-01-05",
        "start=2030-01-05&end=2030-01-05",
        "start=2030-01-05&end=2030-01-01",
        "start=2030-13-01&end=2030-01-01",
        "start=yesterday&end=tomorrow",
        "start=2030-01-01&end=2040-01-01",
    ],
)
def test_availability_bad_input_is_400(tenant: Tenant, api: APIClient, query: str) -> None:
    response = api.get(f"/api/v1/properties/{tenant.prop.pk}/availability?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] in {"invalid_payload", "invalid_dates"}


def test_quote_names_the_rule_broken(tenant: Tenant, api: APIClient) -> None:
    prop = tenant.prop
    prop.min_nights = 3
    prop.save()
    check_in = days_from_today(prop, 20)
    url = f"/api/v1/properties/{prop.pk}/quote?check_in={check_in}&check_out={check_in + timedelta(days=2)}&guests=2"
    error = assert_error(api.get(url), 400, "minimum_stay")
    assert error["message"] == "Minimum 3 nights."


# --- Bookings --------------------------------------------------------------------------


@pytest.fixture
def stay(tenant: Tenant) -> Booking:
    check_in = days_from_today(tenant.prop, 30)
    return booking_create(
        property=tenant.prop,
        check_in=check_in,
        check_out=check_in + timedelta(days=3),
        guests=2,
        source=Booking.Source.DIRECT,
        guest_name="Ada Lovelace",
        guest_email="ada@example.com",
    )


def test_booking_list_and_filters(
    tenant: Tenant, outsider: Tenant, api: APIClient, stay: Booking
) -> None:
    block = block_create(
        property=tenant.prop, start=stay.check_out, end=stay.check_out + timedelta(days=2)
    )
    booking_create(
        property=outsider.prop,
        check_in=stay.check_in,
        check_out=stay.check_out,
        source=Booking.Source.AIRBNB,
    )

    def refs(query):
        return [b["reference"] for b in api.get(f"/api/v1/bookings/?{query}").json()["results"]]

    assert refs("") == [stay.reference, block.reference]
    assert refs("source=owner") == [block.reference]
    assert refs(f"property={tenant.prop.pk}&status=confirmed") == [stay.reference, block.reference]
    assert refs(f"start={stay.check_out}&end={stay.check_out + timedelta(days=1)}") == [
        block.reference
    ]
    assert refs("source=airbnb") == []  # the outsider's booking is invisible


@pytest.mark.parametrize(
    "query", ["status=maybe", "source=fax", "start=2030-02-30", "start=2030-01-05&end=2030-01-01"]
)
def test_booking_list_bad_filters_are_400(api: APIClient, query: str) -> None:
    assert_error(api.get(f"/api/v1/bookings/?{query}"), 400, "invalid_payload")


def test_booking_detail(api: APIClient, stay: Booking) -> None:
    body = api.get(f"/api/v1/bookings/{stay.reference}/").json()
    assert body["reference"] == stay.reference
    assert body["check_in"] == stay.check_in.isoformat()
    assert body["guest"] == {"name": "Ada Lovelace", "email": "ada@example.com", "phone": ""}
    assert body["total"] == "350.00"  # 3 x 100 + 50 cleaning


def test_other_business_booking_is_404_everywhere(outsider_api: APIClient, stay: Booking) -> None:
    assert_error(outsider_api.get(f"/api/v1/bookings/{stay.reference}/"), 404, "not_found")
    assert_error(outsider_api.post(f"/api/v1/bookings/{stay.reference}/cancel"), 404, "not_found")
    response = outsider_api.post(
        f"/api/v1/bookings/{stay.reference}/change-dates",
        {"check_in": str(stay.check_in), "check_out": str(stay.check_out + timedelta(days=1))},
        format="json",
    )
    assert_error(response, 404, "not_found")
    assert_error(outsider_api.delete(f"/api/v1/blocks/{stay.reference}/"), 404, "not_found")
    stay.refresh_from_db()
    assert stay.status == Booking.Status.CONFIRMED


def test_cancel_answers_the_refund_and_frees_the_dates(
    tenant: Tenant, api: APIClient, stay: Booking
) -> None:
    response = api.post(f"/api/v1/bookings/{stay.reference}/cancel")
    assert response.status_code == 200
    assert response.json()["booking"]["status"] == "cancelled"
    assert response.json()["refund"] == "0"  # nothing was paid
    assert_error(api.post(f"/api/v1/bookings/{stay.reference}/cancel"), 409, "invalid_state")
    block = api.post(
        "/api/v1/blocks/",
        {"property": tenant.prop.pk, "start": str(stay.check_in), "end": str(stay.check_out)},
        format="json",
    )
    assert block.status_code == 201


def test_change_dates(tenant: Tenant, api: APIClient, stay: Booking) -> None:
    response = api.post(
        f"/api/v1/bookings/{stay.reference}/change-dates",
        {"check_in": str(stay.check_in), "check_out": str(stay.check_out + timedelta(days=2))},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["price_difference"] == "200.00"
    assert response.json()["booking"]["nights"] == 5


def test_change_dates_into_taken_nights_is_409_and_changes_nothing(
    tenant: Tenant, api: APIClient, stay: Booking
) -> None:
    block = block_create(
        property=tenant.prop,
        start=stay.check_out + timedelta(days=1),
        end=stay.check_out + timedelta(days=4),
    )
    response = api.post(
        f"/api/v1/bookings/{stay.reference}/change-dates",
        {"check_in": str(stay.check_in), "check_out": str(stay.check_out + timedelta(days=2))},
        format="json",
    )
    error = assert_error(response, 409, "stay_unavailable")
    assert error["conflict"] == {
        "start": block.check_in.isoformat(),
        "end": block.check_out.isoformat(),
    }
    stay.refresh_from_db()
    assert stay.check_out == stay.check_in + timedelta(days=3)


# --- Blocks ----------------------------------------------------------------------------


def test_block_create_and_remove(tenant: Tenant, api: APIClient) -> None:
    start = days_from_today(tenant.prop, 5)
    response = api.post(
        "/api/v1/blocks/",
        {
            "property": tenant.prop.pk,
            "start": str(start),
            "end": str(start + timedelta(days=2)),
            "note": "Painting",
        },
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["kind"] == "owner_block"
    assert body["source"] == "owner"
    assert body["reference"].startswith("HD-")
    assert api.delete(f"/api/v1/blocks/{body['reference']}/").status_code == 204
    assert Booking.objects.get(reference=body["reference"]).status == "cancelled"


def test_overlapping_block_is_409_with_the_conflicting_range(
    tenant: Tenant, api: APIClient, stay: Booking
) -> None:
    response = api.post(
        "/api/v1/blocks/",
        {
            "property": tenant.prop.pk,
            "start": str(stay.check_in + timedelta(days=1)),
            "end": str(stay.check_out + timedelta(days=1)),
        },
        format="json",
    )
    error = assert_error(response, 409, "stay_unavailable")
    assert error["conflict"] == {
        "start": stay.check_in.isoformat(),
        "end": stay.check_out.isoformat(),
    }


def test_removing_a_guest_stay_as_a_block_is_refused(api: APIClient, stay: Booking) -> None:
    assert_error(api.delete(f"/api/v1/blocks/{stay.reference}/"), 409, "invalid_state")


# --- Bad input: a clear 4xx, nothing written -----------------------------------------


def _future(tenant: Tenant, days: int) -> str:
    return str(days_from_today(tenant.prop, days))


BAD_BOOKINGS: list[tuple[str, Any, int, str]] = [
    (
        "check_out before check_in",
        lambda t: {"check_in": _future(t, 10), "check_out": _future(t, 8)},
        400,
        "invalid_dates",
    ),
    (
        "check_out equals check_in",
        lambda t: {"check_in": _future(t, 10), "check_out": _future(t, 10)},
        400,
        "invalid_dates",
    ),
    (
        "past dates",
        lambda t: {"check_in": _future(t, -10), "check_out": _future(t, -7)},
        400,
        "invalid_dates",
    ),
    (
        "beyond horizon",
        lambda t: {"check_in": _future(t, 600), "check_out": _future(t, 603)},
        400,
        "beyond_horizon",
    ),
    (
        "absurd range",
        lambda t: {"check_in": _future(t, 1), "check_out": _future(t, 3650)},
        400,
        "invalid_dates",
    ),
    ("zero guests", lambda t: {"guests": 0}, 400, "invalid_payload"),
    ("too many guests", lambda t: {"guests": 5}, 400, "invalid_guests"),
    ("malformed date", lambda t: {"check_in": "2030-02-30"}, 400, "invalid_payload"),
    ("date as number", lambda t: {"check_in": 20300101}, 400, "invalid_payload"),
    ("guests as text", lambda t: {"guests": "four"}, 400, "invalid_payload"),
    ("missing property", lambda t: {"property": None}, 400, "invalid_payload"),
    ("unknown property", lambda t: {"property": 999999}, 404, "not_found"),
    ("negative total", lambda t: {"total": "-5.00"}, 400, "invalid_payload"),
]


@pytest.mark.parametrize(
    ("case", "patch", "status", "code"), BAD_BOOKINGS, ids=[c[0] for c in BAD_BOOKINGS]
)
def test_bad_booking_input_is_a_clear_4xx_and_writes_nothing(
    tenant: Tenant, api: APIClient, case: str, patch: Any, status: int, code: str
) -> None:
    body = {
        "property": tenant.prop.pk,
        "check_in": _future(tenant, 10),
        "check_out": _future(tenant, 13),
        "guests": 2,
    }
    body.update(patch(tenant))
    body = {k: v for k, v in body.items() if v is not None}
    response = api.post("/api/v1/bookings/", body, format="json")
    assert_error(response, status, code)
    assert Booking.objects.count() == 0


def test_other_business_property_in_a_body_is_404(outsider: Tenant, api: APIClient) -> None:
    for url, body in [
        (
            "/api/v1/blocks/",
            {
                "property": outsider.prop.pk,
                "start": _future(outsider, 5),
                "end": _future(outsider, 7),
            },
        ),
        (
            "/api/v1/bookings/",
            {
                "property": outsider.prop.pk,
                "check_in": _future(outsider, 5),
                "check_out": _future(outsider, 7),
                "guests": 1,
            },
        ),
    ]:
        assert_error(api.post(url, body, format="json"), 404, "not_found")
    assert Booking.objects.count() == 0


BAD_BLOCKS = [
    ("end before start", lambda t: {"start": _future(t, 5), "end": _future(t, 4)}, "invalid_dates"),
    ("past start", lambda t: {"start": _future(t, -3), "end": _future(t, 2)}, "invalid_dates"),
    (
        "beyond horizon",
        lambda t: {"start": _future(t, 500), "end": _future(t, 700)},
        "beyond_horizon",
    ),
    ("ten years", lambda t: {"start": _future(t, 1), "end": _future(t, 3653)}, "invalid_dates"),
    ("not a date", lambda t: {"start": "soon"}, "invalid_payload"),
    ("property as text", lambda t: {"property": "one"}, "invalid_payload"),
    ("huge note", lambda t: {"note": "x" * 5000}, "invalid_payload"),
]


@pytest.mark.parametrize(("case", "patch", "code"), BAD_BLOCKS, ids=[c[0] for c in BAD_BLOCKS])
def test_bad_block_input_is_400_and_writes_nothing(
    tenant: Tenant, api: APIClient, case: str, patch: Any, code: str
) -> None:
    body = {"property": tenant.prop.pk, "start": _future(tenant, 5), "end": _future(tenant, 7)}
    body.update(patch(tenant))
    assert_error(api.post("/api/v1/blocks/", body, format="json"), 400, code)
    assert Booking.objects.count() == 0


def test_malformed_json_is_400(tenant: Tenant, api: APIClient) -> None:
    response = api.post(
        "/api/v1/blocks/", data=b'{"property": 1, "start": ', content_type="application/json"
    )
    assert_error(response, 400, "invalid_json")


def test_non_json_body_is_415(tenant: Tenant, api: APIClient) -> None:
    response = api.post(
        "/api/v1/blocks/", data="property=1", content_type="application/x-www-form-urlencoded"
    )
    assert_error(response, 415, "unsupported_media_type")


def test_json_array_body_is_400(api: APIClient) -> None:
    response = api.post("/api/v1/blocks/", data=b"[1, 2]", content_type="application/json")
    assert_error(response, 400, "invalid_payload")


def test_schema_documents_the_stable_paths(api: APIClient) -> None:
    schema = APIClient(HTTP_HOST="localhost").get("/api/schema/?format=json").json()
    for path in [
        "/api/v1/properties/",
        "/api/v1/properties/{property_id}/",
        "/api/v1/properties/{property_id}/availability",
        "/api/v1/bookings/",
        "/api/v1/bookings/{reference}/",
        "/api/v1/blocks/",
        "/api/v1/blocks/{reference}/",
        "/api/v1/bookings/{reference}/cancel",
        "/api/v1/bookings/{reference}/change-dates",
    ]:
        assert path in schema["paths"], path
    responses = schema["paths"]["/api/v1/blocks/"]["post"]["responses"]
    assert {"201", "400", "404", "409"} <= set(responses)


def test_api_docs_page_uses_local_assets() -> None:
    pytest.importorskip("drf_spectacular_sidecar")
    from django.test import Client

    body = Client(HTTP_HOST="localhost").get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/" in body
    assert "cdn.jsdelivr" not in body


def test_schema_names_each_request_body_after_what_it_is() -> None:
    schema = APIClient(HTTP_HOST="localhost").get("/api/schema/?format=json").json()
    components = schema["components"]["schemas"]

    def body(path: str) -> dict[str, Any]:
        content = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        name = content["schema"]["$ref"].rsplit("/", 1)[1]
        return {"name": name, "fields": set(components[name]["properties"])}

    create = body("/api/v1/bookings/")
    assert create["name"].startswith("BookingCreateInput")
    assert {"property", "check_in", "check_out", "guests", "guest"} <= create["fields"]
    block = body("/api/v1/blocks/")
    assert block["name"].startswith("BlockCreateInput")
    assert {"property", "start", "end", "note"} <= block["fields"]
    change = body("/api/v1/bookings/{reference}/change-dates")
    assert change["name"].startswith("DateChangeInput")
    assert not [name for name in components if name.startswith("BlockInput")]
