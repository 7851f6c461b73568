"""The SSRF guard, the owner's admin (secrets shown once, re-drive, conflicts, health),
seed_demo's channels and `manage.py partner_send`."""

from __future__ import annotations

import json
from datetime import date, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking
from bookings.services.blocks import block_create
from integrations import crypto, ssrf
from integrations.models import BookingConflict, Channel, PushOutbox
from integrations.services import channels, push
from tests.conftest import APP_HOST, Tenant
from tests.integrations.conftest import Partner, event, make_partner, post
from tests.support.partner_server import PartnerServer

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("93.184.216.34", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("169.254.170.2", False),
        ("100.64.0.1", False),
        ("100.127.255.254", False),
        ("0.0.0.0", False),  # noqa: S104
        ("::1", False),
        ("fd00::1", False),
        ("fc00::1", False),
        ("fe80::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:169.254.170.2", False),
        ("::ffff:8.8.8.8", True),
        ("224.0.0.1", False),
    ],
)
def test_address_table(address: str, public: bool) -> None:
    assert ssrf.address_is_public(address) is public


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "gopher://example.com/",
        "ftp://example.com/x",
        "http://127.0.0.1/feed.ics",
        "http://localhost/feed.ics",
        "http://169.254.170.2/v2/credentials",
        "http://[::1]/",
        "http://[::ffff:10.0.0.1]/",
        "http://user:pw@example.com/",
        "http:///nohost",
    ],
)
def test_unsafe_urls_are_refused(url: str) -> None:
    with pytest.raises(ssrf.UnsafeURL):
        ssrf.check_url(url, private_ok=False)


def test_name_resolving_to_a_private_address_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ssrf, "resolve", lambda host, port: ["93.184.216.34", "10.0.0.7"])
    with pytest.raises(ssrf.UnsafeURL):
        ssrf.check_url("https://feeds.example.com/x.ics", private_ok=False)


@pytest.fixture
def local_http(partner_server: PartnerServer) -> tuple[str, PartnerServer]:
    """A partner serving feeds, addressed by name (`localhost`) so tests can fake DNS."""
    feed = b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
    partner_server.serve("/feed.ics", feed)
    partner_server.serve("/ok", feed)
    partner_server.serve("/big", feed + b"x" * 4096)
    partner_server.redirect("/redirect", "http://169.254.170.2/v2/credentials")
    return partner_server.base.replace("127.0.0.1", "localhost"), partner_server


def test_redirect_to_a_private_address_is_refused(
    local_http: tuple[str, PartnerServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With private URLs refused, the local server is taken for a public one (the
    connection is pinned to the checked address); its redirect to the metadata address is not."""
    base, server = local_http
    monkeypatch.setattr(
        ssrf, "resolve", lambda host, port: ["127.0.0.1"] if host == "localhost" else [host]
    )
    with ssrf.treat_as_public("127.0.0.1/32"), pytest.raises(ssrf.UnsafeURL):
        ssrf.fetch(f"{base}/redirect", max_bytes=10_000, timeout=5, private_ok=False)
    assert server.paths() == ["/redirect"]


def test_body_over_the_size_limit_is_refused(local_http: tuple[str, PartnerServer]) -> None:
    base, _ = local_http
    assert ssrf.fetch(f"{base}/ok", max_bytes=10_000, timeout=5).status == 200
    with pytest.raises(ssrf.FetchError):
        ssrf.fetch(f"{base}/big", max_bytes=1000, timeout=5)


# --- Admin ------------------------------------------------------------------------------


def _url(model: type, action: str, *args: Any) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{action}", args=args)


def test_channel_secrets_are_shown_once_on_creation(tenant: Tenant) -> None:
    client = tenant.admin_client()
    data = {
        "platform": "vrbo",
        "name": "Vrbo",
        "active": "on",
        "endpoint_url": "https://partner.example.com/hook",
        "listings-TOTAL_FORMS": 0,
        "listings-INITIAL_FORMS": 0,
    }
    response = client.post(_url(Channel, "add"), data, follow=True)
    assert response.status_code == 200
    text = " ".join(m.message for m in response.context["messages"])
    channel = Channel.objects.get(platform="vrbo")
    assert channel.business == tenant.business
    inbound = channels.channel_inbound_secrets(channel)[0]
    assert inbound in text
    assert channels.channel_outbound_secret(channel) in text
    page = client.get(_url(Channel, "change", channel.pk)).content.decode()
    assert inbound not in page
    assert crypto.SECRET_PREFIX not in page


def test_rotation_from_the_admin_shows_the_new_secret(tenant: Tenant, partner: Partner) -> None:
    client = tenant.admin_client()
    response = client.post(
        _url(Channel, "changelist"),
        {"action": "rotate_inbound_secret", "_selected_action": [partner.channel.pk]},
        follow=True,
    )
    text = " ".join(m.message for m in response.context["messages"])
    partner.channel.refresh_from_db()
    new, old = channels.channel_inbound_secrets(partner.channel)
    assert new in text
    assert old == partner.inbound


def test_redrive_from_the_admin(tenant: Tenant, outsider: Tenant) -> None:
    mine = make_partner(tenant, endpoint="http://127.0.0.1:9/hook")
    theirs = make_partner(outsider, endpoint="http://127.0.0.1:9/hook")
    for p in (mine, theirs):
        push.push_enqueue(links=[p.link], kind="availability")
    PushOutbox.objects.update(status=PushOutbox.Status.DEAD)
    ids = list(PushOutbox.objects.values_list("pk", flat=True))
    response = tenant.admin_client().post(
        _url(PushOutbox, "changelist"),
        {"action": "redrive", "_selected_action": ids},
        follow=True,
    )
    assert response.status_code == 200
    assert PushOutbox.objects.filter(status="pending", business=tenant.business).count() == 1
    assert PushOutbox.objects.filter(status="dead", business=outsider.business).count() == 1


def test_channel_list_shows_sync_health(tenant: Tenant) -> None:
    partner = make_partner(tenant, endpoint="http://127.0.0.1:9/hook")
    push.push_enqueue(links=[partner.link], kind=PushOutbox.Kind.AVAILABILITY)
    push.push_enqueue(links=[partner.link], kind=PushOutbox.Kind.LISTING)
    PushOutbox.objects.update(status=PushOutbox.Status.DEAD)
    Channel.objects.filter(pk=partner.channel.pk).update(
        last_push_error="HTTP 503 from the partner", last_push_error_at=timezone.now()
    )
    response = tenant.admin_client().get(_url(Channel, "changelist"))
    assert response.status_code == 200
    [row] = response.context["cl"].result_list
    assert row.pk == partner.channel.pk
    assert row.dead_count == 2
    assert "HTTP 503 from the partner" in response.content.decode()


def test_owner_resolves_a_conflict_from_the_admin(tenant: Tenant, partner: Partner) -> None:
    block_create(property=tenant.prop, start=date(2031, 12, 22), end=date(2031, 12, 24))
    body = post(partner.url, event(), partner.inbound).json()
    conflict = BookingConflict.objects.get(public_id=body["conflict"])
    response = tenant.admin_client().post(
        _url(BookingConflict, "changelist"),
        {"action": "take_partner", "_selected_action": [conflict.pk]},
        follow=True,
    )
    assert response.status_code == 200
    conflict.refresh_from_db()
    assert conflict.status == "resolved"
    assert Booking.objects.filter(source="airbnb", status="confirmed").exists()


# --- seed_demo and partner_send ---------------------------------------------------------


def _seed(*args: str) -> dict[str, Any]:
    out = StringIO()
    call_command("seed_demo", "--json", *args, stdout=out)
    return json.loads(out.getvalue())


def test_seed_demo_channels_match_the_contract() -> None:
    data = _seed("--channel-endpoint", "http://127.0.0.1:9999/hook")
    for entry in data["businesses"]:
        assert {c["platform"] for c in entry["channels"]} == {"airbnb", "booking"}
        for channel in entry["channels"]:
            assert set(channel) == {
                "id",
                "platform",
                "events_url",
                "inbound_secret",
                "outbound_secret",
                "endpoint_url",
            }
            assert channel["endpoint_url"] == "http://127.0.0.1:9999/hook"
            assert channel["events_url"].endswith(f"/api/v1/channels/{channel['id']}/events")
        channel_ids = {c["id"] for c in entry["channels"]}
        for prop in entry["properties"]:
            assert set(prop["listings"]) == channel_ids
            assert "/ical/" in prop["ical_export_url"]
    # The printed URL and secrets work.
    entry = data["businesses"][0]
    prop = entry["properties"][0]
    path = prop["ical_export_url"].split("8000", 1)[1]
    assert Client(HTTP_HOST=APP_HOST).get(path).status_code == 200
    channel = entry["channels"][0]
    listing = prop["listings"][channel["id"]]
    start = date.today() + timedelta(days=200)
    payload = event(
        listing_id=listing, check_in=str(start), check_out=str(start + timedelta(days=2))
    )
    response = post(f"/api/v1/channels/{channel['id']}/events", payload, channel["inbound_secret"])
    assert response.status_code == 200, response.content
    assert _seed() == _seed()


def test_partner_send_dry_run_prints_a_signed_event(partner: Partner) -> None:
    out = StringIO()
    call_command("partner_send", partner.channel.public_id, "--dry-run", stdout=out)
    text = out.getvalue()
    assert "Holidesk-Signature: t=" in text
    body = text.split("\n", 2)[2]
    assert json.loads(body)["data"]["listing_id"] == "air-555"


@pytest.mark.django_db(transaction=True)
def test_partner_send_delivers_to_a_live_server(live_server: Any) -> None:
    from tests.conftest import make_tenant

    tenant = make_tenant("seaside")
    partner = make_partner(tenant)
    url = f"{live_server.url}{partner.url}".replace("127.0.0.1", "localhost")
    out = StringIO()
    call_command("partner_send", partner.channel.public_id, "--url", url, stdout=out)
    assert '"status": "processed"' in out.getvalue()
    assert Booking.objects.filter(business=tenant.business, source="airbnb").count() == 1
