"""A real HTTP server on loopback standing in for a partner platform.

Fixture `partner_server`: its `url` is a push endpoint (POST, answered with `statuses`
in order, optionally late or dripping), and `serve()` / `redirect()` add pages for GET,
such as an iCal feed that honours `If-None-Match`. Every request is recorded.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Page:
    """What a GET of one path answers."""

    body: bytes = b""
    status: int = 200
    content_type: str = "text/calendar"
    etag: str | None = None
    location: str | None = None


@dataclass
class PartnerServer:
    """A partner's endpoints. `requests` holds, in order, one dict per request:
    method, path, headers, body (bytes) and at (time.monotonic())."""

    base: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    # Status to answer each POST, one per POST in order; the last one repeats.
    statuses: list[int] = field(default_factory=lambda: [200])
    delay: float = 0.0
    # Send the POST answer's body one byte at a time over this many seconds (a slow drip).
    drip_seconds: float = 0.0
    pages: dict[str, Page] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        """The push endpoint."""
        return f"{self.base}/hook"

    def serve(
        self,
        path: str,
        body: bytes,
        *,
        etag: str | None = None,
        content_type: str = "text/calendar",
    ) -> str:
        """Answer GET `path` with `body` (a 304 when the client already has `etag`)."""
        self.pages[path] = Page(body=body, etag=etag, content_type=content_type)
        return self.base + path

    def redirect(self, path: str, location: str) -> str:
        self.pages[path] = Page(status=302, location=location)
        return self.base + path

    def posts(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["method"] == "POST"]

    def bodies(self) -> list[dict[str, Any]]:
        """The JSON bodies POSTed, in order."""
        return [json.loads(r["body"]) for r in self.posts()]

    def paths(self, method: str = "GET") -> list[str]:
        return [r["path"] for r in self.requests if r["method"] == method]


class PartnerHandler(BaseHTTPRequestHandler):
    server_state: PartnerServer  # set on the subclass the fixture makes

    def record(self, body: bytes) -> int:
        state = self.server_state
        with state.lock:
            state.requests.append(
                {
                    "method": self.command,
                    "path": self.path,
                    "headers": dict(self.headers),
                    "body": body,
                    "at": time.monotonic(),
                }
            )
            return len(state.posts()) - 1

    def do_POST(self) -> None:
        state = self.server_state
        length = int(self.headers.get("Content-Length") or 0)
        index = self.record(self.rfile.read(length))
        status = state.statuses[min(index, len(state.statuses) - 1)]
        if state.delay:
            time.sleep(state.delay)
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            answer = b'{"ok": true}'
            if state.drip_seconds:
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                for byte in answer:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(state.drip_seconds / len(answer))
                return
            self.end_headers()
            self.wfile.write(answer)
        except OSError:
            pass  # the client gave up (a timeout under test)

    def do_GET(self) -> None:
        self.record(b"")
        page = self.server_state.pages.get(self.path.split("?")[0])
        if page is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if page.etag is not None and self.headers.get("If-None-Match") == page.etag:
            self.send_response(304)
            self.end_headers()
            return
        self.send_response(page.status)
        if page.location:
            self.send_header("Location", page.location)
        self.send_header("Content-Type", page.content_type)
        if page.etag is not None:
            self.send_header("ETag", page.etag)
        self.send_header("Content-Length", str(len(page.body)))
        self.end_headers()
        self.wfile.write(page.body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def partner_server() -> Iterator[PartnerServer]:
    handler = type("Handler", (PartnerHandler,), {})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    state = PartnerServer(base=f"http://127.0.0.1:{httpd.server_address[1]}")
    handler.server_state = state
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
