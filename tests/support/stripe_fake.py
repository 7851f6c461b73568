"""A local fake of api.stripe.com for the real `stripe` library.

Fixture `fake_stripe`: a server that answers the calls Holidesk makes (create a Checkout
session, read one back, create a refund) with copies of real Stripe payloads, and
records every request. Point `STRIPE_API_BASE` at `fake_stripe.url`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest

# Copies of real Stripe payloads, kept unedited (see that directory's PROVENANCE.md).
SAMPLES = Path(__file__).resolve().parents[1] / "bookings" / "samples"


def stripe_sample(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / name).read_text())


class FakeStripe:
    """Answers the calls Holidesk makes, and records every request."""

    def __init__(self) -> None:
        self.url = ""
        # Each request: {"path", "headers", "form"} (form: the decoded POST body).
        self.requests: list[dict[str, Any]] = []
        # Answer every call with a 500 (Stripe down).
        self.fail = False
        # Answer refunds with a 400 (Stripe refuses: already refunded).
        self.refuse_refunds = False
        self.count = 0
        self.lock = threading.Lock()
        # Checkout sessions as GET /v1/checkout/sessions/<id> reports them.
        self.sessions: dict[str, dict[str, Any]] = {}

    def answer(self, path: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if self.fail:
            return 500, {"error": {"type": "api_error", "message": "Stripe is down."}}
        with self.lock:
            self.count += 1
            n = self.count
        if path == "/v1/checkout/sessions":
            session = stripe_sample("object_checkout.session__stripe-mock_fixtures3.json")
            session.update(id=f"cs_test_{n}", url=f"https://checkout.stripe.com/c/pay/cs_test_{n}")
            return 200, session
        if path == "/v1/refunds" and self.refuse_refunds:
            return 400, {
                "error": {"type": "invalid_request_error", "message": "Charge already refunded."}
            }
        if path == "/v1/refunds":
            refund = stripe_sample("object_refund__stripe-mock_fixtures3.json")
            refund.update(id=f"re_test_{n}", amount=int(form["amount"]), status="succeeded")
            refund["payment_intent"] = form["payment_intent"]
            return 200, refund
        return 404, {"error": {"type": "invalid_request_error", "message": "No such path."}}

    def look_up(self, path: str) -> tuple[int, dict[str, Any]]:
        session_id = path.split("?")[0].rsplit("/", 1)[-1]
        found = self.sessions.get(session_id)
        if found is not None and path.startswith("/v1/checkout/sessions/"):
            return 200, found
        return 404, {"error": {"type": "invalid_request_error", "message": "No such."}}


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    fake = FakeStripe()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            form = dict(parse_qsl(body))
            fake.requests.append({"path": self.path, "headers": dict(self.headers), "form": form})
            self.reply(*fake.answer(self.path, form))

        def do_GET(self) -> None:
            fake.requests.append({"path": self.path, "headers": dict(self.headers), "form": {}})
            self.reply(*fake.look_up(self.path))

        def reply(self, status: int, answer: dict[str, Any]) -> None:
            out = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
