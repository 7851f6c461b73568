"""A local fake of api.stripe.com for the real `stripe` library.

Fixture `fake_stripe`: a server that answers the calls Holidesk makes (create a Checkout
session, read one back, create a refund) with copies of real Stripe payloads, and
records every request. Point `STRIPE_API_BASE` at `fake_stripe.url`.

For the platform's own calls it also keeps connected accounts (`/v1/accounts`,
`/v1/account_links`), customers, subscription-mode Checkout sessions, billing portal
sessions and subscriptions, and serves Stripe's hosted pages as small HTML forms:
`/onboard/<acct>` (finish Connect onboarding), `/pay/<cs>` (start the subscription)
and `/portal/<cus>`. What those pages do reaches the app as signed webhook events
(`send_event`), POSTed to `webhook_url` with the Connect secret (`account.updated`,
carrying `account`) or the platform secret (subscriptions, invoices), like Stripe.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import threading
import time
import urllib.request
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
        # The platform's objects, by id.
        self.accounts: dict[str, dict[str, Any]] = {}
        self.customers: dict[str, dict[str, Any]] = {}
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.subscription_sessions: dict[str, dict[str, Any]] = {}
        self.portal_returns: dict[str, str] = {}
        self.link_returns: dict[str, str] = {}
        # Where and how events are delivered (set by the test).
        self.webhook_url = ""
        self.webhook_secret = ""
        self.platform_webhook_secret = ""
        self.events: list[dict[str, Any]] = []
        # Idempotency keys already answered: the same key gets the same object.
        self.idempotent: dict[str, dict[str, Any]] = {}

    def next_n(self) -> int:
        with self.lock:
            self.count += 1
            return self.count

    # --- Events ---------------------------------------------------------------------------

    def send_event(self, event_type: str, obj: dict[str, Any], *, account: str = "") -> int:
        """Sign and POST an event to `webhook_url` as Stripe would; returns the status."""
        n = self.next_n()
        event: dict[str, Any] = {
            "id": f"evt_test_{n}",
            "object": "event",
            "api_version": "2024-06-20",
            "created": int(time.time()),
            "livemode": False,
            "type": event_type,
            "data": {"object": obj},
        }
        if account:
            event["account"] = account
        self.events.append(event)
        if not self.webhook_url:
            return 0
        payload = json.dumps(event)
        secret = self.webhook_secret if account else self.platform_webhook_secret
        stamp = int(time.time())
        digest = hmac.new(
            secret.encode(), f"{stamp}.{payload}".encode(), hashlib.sha256
        ).hexdigest()
        request = urllib.request.Request(  # noqa: S310 - a loopback test server
            self.webhook_url,
            data=payload.encode(),
            headers={
                "Content-Type": "application/json",
                "Stripe-Signature": f"t={stamp},v1={digest}",
            },
        )
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            return int(answer.status)

    # --- Connect ----------------------------------------------------------------------------

    def account_complete(self, account_id: str) -> dict[str, Any]:
        """Onboarding finished: Stripe enables the account and says so."""
        account = self.accounts[account_id]
        account.update(charges_enabled=True, payouts_enabled=True, details_submitted=True)
        account["requirements"] = {
            "currently_due": [],
            "eventually_due": [],
            "past_due": [],
            "disabled_reason": None,
        }
        self.send_event("account.updated", account, account=account_id)
        return account

    def _account(self, form: dict[str, str], n: int) -> dict[str, Any]:
        account: dict[str, Any] = {
            "id": f"acct_test_{n}",
            "object": "account",
            "type": form.get("type", "standard"),
            "email": form.get("email"),
            "business_profile": {"name": form.get("business_profile[name]")},
            "charges_enabled": False,
            "payouts_enabled": False,
            "details_submitted": False,
            "metadata": {"business_id": form.get("metadata[business_id]")},
            "requirements": {
                "currently_due": [
                    "business_profile.url",
                    "external_account",
                    "tos_acceptance.date",
                ],
                "eventually_due": [],
                "past_due": [],
                "disabled_reason": "requirements.past_due",
            },
        }
        self.accounts[account["id"]] = account
        return account

    # --- Billing ----------------------------------------------------------------------------

    def subscription_start(self, session_id: str) -> dict[str, Any]:
        """The owner paid on the hosted subscription page."""
        session = self.subscription_sessions[session_id]
        n = self.next_n()
        trial_days = int(session.get("subscription_data[trial_period_days]") or 0)
        now = int(time.time())
        subscription = {
            "id": f"sub_test_{n}",
            "object": "subscription",
            "customer": session["customer"],
            "status": "trialing" if trial_days else "active",
            "trial_end": now + trial_days * 86400 if trial_days else None,
            "current_period_end": now + (trial_days or 30) * 86400,
            "cancel_at_period_end": False,
            "metadata": {"business_id": session.get("subscription_data[metadata][business_id]")},
            "items": {
                "object": "list",
                "data": [
                    {
                        "id": f"si_test_{n}",
                        "object": "subscription_item",
                        "price": {"id": session["line_items[0][price]"], "object": "price"},
                        "quantity": int(session["line_items[0][quantity]"]),
                    }
                ],
            },
        }
        self.subscriptions[subscription["id"]] = subscription
        self.send_event("customer.subscription.created", subscription)
        self.send_event("invoice.paid", self.invoice(subscription, paid=True))
        return subscription

    def invoice(self, subscription: dict[str, Any], *, paid: bool) -> dict[str, Any]:
        n = self.next_n()
        return {
            "id": f"in_test_{n}",
            "object": "invoice",
            "customer": subscription["customer"],
            "subscription": subscription["id"],
            "status": "paid" if paid else "open",
            "amount_due": 0,
            "currency": "eur",
        }

    def subscription_payment_fails(self, subscription_id: str) -> None:
        subscription = self.subscriptions[subscription_id]
        subscription["status"] = "past_due"
        self.send_event("invoice.payment_failed", self.invoice(subscription, paid=False))
        self.send_event("customer.subscription.updated", subscription)

    def subscription_paid(self, subscription_id: str) -> None:
        subscription = self.subscriptions[subscription_id]
        subscription["status"] = "active"
        self.send_event("invoice.paid", self.invoice(subscription, paid=True))
        self.send_event("customer.subscription.updated", subscription)

    def platform_answer(
        self, path: str, form: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, dict[str, Any]] | None:
        key = headers.get("Idempotency-Key", "")
        if key and key in self.idempotent:
            return 200, self.idempotent[key]
        answer: dict[str, Any] | None = None
        if path == "/v1/accounts":
            answer = self._account(form, self.next_n())
        elif path == "/v1/account_links":
            account = form["account"]
            self.link_returns[account] = form["return_url"]
            answer = {
                "object": "account_link",
                "created": int(time.time()),
                "expires_at": int(time.time()) + 300,
                "url": f"{self.url}/onboard/{account}",
            }
        elif path == "/v1/customers":
            n = self.next_n()
            answer = {
                "id": f"cus_test_{n}",
                "object": "customer",
                "email": form.get("email"),
                "name": form.get("name"),
                "metadata": {"business_id": form.get("metadata[business_id]")},
            }
            self.customers[answer["id"]] = answer
        elif path == "/v1/checkout/sessions" and form.get("mode") == "subscription":
            n = self.next_n()
            session_id = f"cs_test_sub_{n}"
            self.subscription_sessions[session_id] = dict(form)
            answer = {
                "id": session_id,
                "object": "checkout.session",
                "mode": "subscription",
                "customer": form.get("customer"),
                "status": "open",
                "url": f"{self.url}/pay/{session_id}",
            }
        elif path.startswith("/v1/subscription_items/"):
            item_id = path.rsplit("/", 1)[-1]
            found = next(
                (s for s in self.subscriptions.values() if s["items"]["data"][0]["id"] == item_id),
                None,
            )
            if found is None:
                return 404, {"error": {"type": "invalid_request_error", "message": "No such."}}
            item = found["items"]["data"][0]
            item["quantity"] = int(form["quantity"])
            self.send_event("customer.subscription.updated", found)
            answer = dict(item)
        elif path == "/v1/billing_portal/sessions":
            n = self.next_n()
            customer = form["customer"]
            self.portal_returns[customer] = form["return_url"]
            answer = {
                "id": f"bps_test_{n}",
                "object": "billing_portal.session",
                "customer": customer,
                "url": f"{self.url}/portal/{customer}",
            }
        if answer is None:
            return None
        if key:
            self.idempotent[key] = answer
        return 200, answer

    # --- Hosted pages -------------------------------------------------------------------------

    def page(self, path: str) -> tuple[int, str]:
        kind, _, ident = path.strip("/").partition("/")
        if kind == "onboard" and ident in self.accounts:
            return 200, _page(
                "Stripe onboarding (test)",
                f"<p>Business details for {html.escape(ident)}.</p>"
                f'<form method="post"><button type="submit">Finish onboarding</button></form>',
            )
        if kind == "pay" and ident in self.subscription_sessions:
            return 200, _page(
                "Stripe Checkout (test)",
                '<p>Card 4242 4242 4242 4242</p><form method="post">'
                '<button type="submit">Start subscription</button></form>',
            )
        if kind == "portal" and ident in self.customers:
            back = html.escape(self.portal_returns.get(ident, "/"))
            return 200, _page(
                "Billing portal (test)",
                f'<p>Card and invoices.</p><a href="{back}">Return to Holidesk</a>',
            )
        return 404, _page("Not found", "")

    def page_post(self, path: str) -> str:
        """Act on a hosted page; returns where to send the browser."""
        kind, _, ident = path.strip("/").partition("/")
        if kind == "onboard":
            self.account_complete(ident)
            return self.link_returns.get(ident, "/")
        if kind == "pay":
            self.subscription_start(ident)
            return self.subscription_sessions[ident]["success_url"]
        return "/"

    def answer(
        self, path: str, form: dict[str, str], headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any]]:
        if self.fail:
            return 500, {"error": {"type": "api_error", "message": "Stripe is down."}}
        platform = self.platform_answer(path, form, headers or {})
        if platform is not None:
            return platform
        n = self.next_n()
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
        if self.fail:
            return 500, {"error": {"type": "api_error", "message": "Stripe is down."}}
        found_id = path.split("?")[0].rsplit("/", 1)[-1]
        if path.startswith("/v1/accounts/") and found_id in self.accounts:
            return 200, self.accounts[found_id]
        session_id = found_id
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
            if not self.path.startswith("/v1/"):
                self.send_response(303)
                self.send_header("Location", fake.page_post(self.path))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.reply(*fake.answer(self.path, form, dict(self.headers)))

        def do_GET(self) -> None:
            fake.requests.append({"path": self.path, "headers": dict(self.headers), "form": {}})
            if not self.path.startswith("/v1/"):
                status, text = fake.page(self.path)
                out = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)
                return
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


def _page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><title>{title}</title></head>'
        f"<body><main><h1>{title}</h1>{body}</main></body></html>"
    )
