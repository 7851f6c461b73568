from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from integrations import signatures
from integrations.models import Channel, ListingLink, Platform
from integrations.services import channels
from tests.conftest import APP_HOST, Tenant


@dataclass
class Partner:
    """A channel with a listing mapped to the tenant's property, and its secrets."""

    channel: Channel
    link: ListingLink
    inbound: str
    outbound: str

    @property
    def url(self) -> str:
        return f"/api/v1/channels/{self.channel.public_id}/events"


def make_partner(tenant: Tenant, platform: str = Platform.AIRBNB, endpoint: str = "") -> Partner:
    channel, inbound, outbound = channels.channel_create(
        business=tenant.business, platform=platform, endpoint_url=endpoint
    )
    link = channels.listing_link_create(channel=channel, listing_id="air-555", property=tenant.prop)
    return Partner(channel=channel, link=link, inbound=inbound, outbound=outbound)


@pytest.fixture
def partner(tenant: Tenant) -> Partner:
    return make_partner(tenant)


def event(
    event_id: str = "evt_1",
    type: str = "reservation.created",
    **data: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "reservation_id": "HMABCD1234",
        "revision": 1,
        "listing_id": "air-555",
        "check_in": "2031-12-20",
        "check_out": "2031-12-27",
        "guests": 4,
        "guest": {"name": "Ada Lovelace", "email": "ada@example.com", "phone": "+441234567890"},
        "total": {"amount": "1234.50", "currency": "EUR"},
    }
    if type == "reservation.cancelled":
        body = {k: body[k] for k in ("reservation_id", "revision", "listing_id")}
    if type == "message.created":
        body = {
            "reservation_id": "HMABCD1234",
            "message_id": "msg_1",
            "sender": "guest",
            "body": "Hello",
            "sent_at": "2031-11-22T10:00:00Z",
        }
    body.update(data)
    return {"id": event_id, "type": type, "occurred_at": "2031-11-22T10:00:00Z", "data": body}


def post(
    url: str,
    payload: Any,
    secret: str | None,
    *,
    raw: bytes | None = None,
    content_type: str = "application/json",
    signature: str | None = None,
    timestamp: int | None = None,
    client: Client | None = None,
) -> Any:
    body = raw if raw is not None else json.dumps(payload).encode()
    headers: dict[str, str] = {}
    if signature is not None:
        headers["HTTP_HOLIDESK_SIGNATURE"] = signature
    elif secret is not None:
        headers["HTTP_HOLIDESK_SIGNATURE"] = signatures.sign(secret, body, timestamp=timestamp)
    return (client or Client(HTTP_HOST=APP_HOST)).post(
        url, data=body, content_type=content_type, **headers
    )
