from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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


@dataclass
class PartnerServer:
    """A real HTTP server standing in for a partner's endpoint."""

    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    # Status to answer, one per request in order; the last one repeats.
    statuses: list[int] = field(default_factory=lambda: [200])
    delay: float = 0.0
    # Send the answer's body one byte at a time over this many seconds (a slow drip).
    drip_seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r["body"]) for r in self.requests]


@pytest.fixture
def partner_server() -> Iterator[PartnerServer]:
    state: dict[str, PartnerServer] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            server = state["s"]
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            with server.lock:
                index = len(server.requests)
                server.requests.append(
                    {"body": body, "headers": dict(self.headers), "at": time.monotonic()}
                )
                status = server.statuses[min(index, len(server.statuses) - 1)]
            if server.delay:
                time.sleep(server.delay)
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                answer = b'{"ok": true}'
                if server.drip_seconds:
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    for byte in answer:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(server.drip_seconds / len(answer))
                    return
                self.end_headers()
                self.wfile.write(answer)
            except OSError:
                pass

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    state["s"] = PartnerServer(url=f"http://127.0.0.1:{httpd.server_address[1]}/hook")
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state["s"]
    finally:
        httpd.shutdown()
        httpd.server_close()
