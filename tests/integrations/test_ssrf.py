"""The SSRF guard with the production setting (private URLs refused), end to end against
a local server that the guard is told to take for a public one: redirects, the address
pinned per hop, TLS server name, special IPv6 forms, and bounded bodies."""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import ssl
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from integrations import ssrf
from integrations.models import IcalFeed
from integrations.services import ical
from tests.conftest import Tenant

PUBLIC_NAME = "feeds.example.test"
Route = Callable[[BaseHTTPRequestHandler], None]

FEED = (
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
    b"BEGIN:VEVENT\r\nUID:r1\r\nDTSTART;VALUE=DATE:20310301\r\n"
    b"DTEND;VALUE=DATE:20310304\r\nSUMMARY:Reserved\r\nEND:VEVENT\r\n"
    b"END:VCALENDAR\r\n"
)


@dataclass
class Server:
    port: int
    routes: dict[str, Route]
    hits: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Host)
    server_names: list[str | None] = field(default_factory=list)  # TLS SNI

    def url(self, path: str, host: str = PUBLIC_NAME, scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"


def _answer(status: int, body: bytes = b"", **headers: str) -> Route:
    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name.replace("_", "-"), value)
        if "Content_Length" not in headers:
            handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return route


def _redirect(location: str) -> Route:
    return _answer(302, Location=location)


def _serve(tls: ssl.SSLContext | None = None) -> Iterator[Server]:
    state: dict[str, Server] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            server = state["s"]
            server.hits.append((self.path, self.headers.get("Host")))
            route = server.routes.get(self.path, _answer(404))
            # OSError: the client stopped reading, which is what the size limits do.
            with contextlib.suppress(OSError):
                route(self)

        def log_message(self, *args: Any) -> None:
            pass

    class Quiet(ThreadingHTTPServer):
        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # a client that hangs up mid-body is what several tests do

    httpd = Quiet(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    state["s"] = Server(port=httpd.server_address[1], routes={})
    if tls is not None:
        tls.sni_callback = lambda sock, name, ctx: state["s"].server_names.append(name)
        httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield state["s"]
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def production(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, list[str]]]:
    """Private URLs refused, as in production; PUBLIC_NAME resolves to loopback, which
    the guard takes for a public address. Tests may add names to the returned map."""
    settings.INTEGRATIONS_ALLOW_PRIVATE_URLS = False
    names = {PUBLIC_NAME: ["127.0.0.1"], "internal.example.test": ["10.0.0.5"]}
    real = ssrf.resolve
    monkeypatch.setattr(
        ssrf, "resolve", lambda host, port: list(names[host]) if host in names else real(host, port)
    )
    with ssrf.treat_as_public("127.0.0.1/32"):
        yield names


@pytest.fixture
def server() -> Iterator[Server]:
    yield from _serve()


def _fetch(url: str, max_bytes: int = 100_000, timeout: float = 5) -> ssrf.Fetched:
    return ssrf.fetch(url, max_bytes=max_bytes, timeout=timeout)


# --- Redirects and pinning --------------------------------------------------------------


@pytest.mark.django_db
def test_feed_behind_a_redirect_to_a_public_address_syncs(
    production: Any, server: Server, tenant: Tenant
) -> None:
    server.routes = {
        "/old.ics": _redirect(server.url("/feed.ics")),
        "/feed.ics": _answer(200, FEED),
    }
    feed = IcalFeed.objects.create(
        business=tenant.business,
        property=tenant.prop,
        platform="airbnb",
        url=server.url("/old.ics"),
    )
    report = ical.ical_feed_sync(feed_id=feed.pk)
    assert (report.outcome, report.created, report.error) == ("updated", 1, "")
    assert [path for path, _ in server.hits] == ["/old.ics", "/feed.ics"]


def test_relative_redirect_is_followed(production: Any, server: Server) -> None:
    server.routes = {"/a": _redirect("/b"), "/b": _answer(200, b"done")}
    answer = _fetch(server.url("/a"))
    assert (answer.status, answer.body, answer.url) == (200, b"done", server.url("/b"))


@pytest.mark.parametrize(
    "location",
    [
        "http://internal.example.test/latest/meta-data/",  # a name resolving to 10.0.0.5
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:127.0.0.2]/",
        "http://127.0.0.2/",  # loopback, but not the address taken for public
        "file:///etc/passwd",
    ],
)
def test_redirect_to_a_private_address_is_refused(
    production: Any, server: Server, location: str
) -> None:
    server.routes = {"/feed.ics": _redirect(location)}
    with pytest.raises(ssrf.UnsafeURL):
        _fetch(server.url("/feed.ics"))
    assert [path for path, _ in server.hits] == ["/feed.ics"]


def test_too_many_redirects_are_refused(production: Any, server: Server) -> None:
    hops = ssrf.MAX_REDIRECTS + 1
    server.routes = {f"/r{i}": _redirect(f"/r{i + 1}") for i in range(hops)}
    server.routes[f"/r{hops}"] = _answer(200, b"too far")
    with pytest.raises(ssrf.FetchError, match="Too many redirects"):
        _fetch(server.url("/r0"))
    assert len(server.hits) == hops
    # One fewer redirect is fine.
    server.hits.clear()
    assert _fetch(server.url("/r1")).body == b"too far"


def test_the_connection_goes_to_the_checked_address_with_the_original_host(
    production: dict[str, list[str]], server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the first answer is checked, later answers point elsewhere. Each
    hop resolves once and connects to the checked address."""
    server.routes = {"/a": _redirect(server.url("/b", host="cdn.example.test")), "/b": _answer(200)}
    answers = {PUBLIC_NAME: [["127.0.0.1"], ["10.0.0.5"]], "cdn.example.test": [["127.0.0.1"]]}
    calls: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        calls.append(host)
        queue = answers[host]
        return queue.pop(0) if len(queue) > 1 else queue[0]

    monkeypatch.setattr(ssrf, "resolve", rebinding)
    answer = _fetch(server.url("/a"))
    assert answer.status == 200
    assert answer.address == "127.0.0.1"
    assert calls == [PUBLIC_NAME, "cdn.example.test"]
    assert server.hits == [
        ("/a", f"{PUBLIC_NAME}:{server.port}"),
        ("/b", f"cdn.example.test:{server.port}"),
    ]


def test_a_later_dns_answer_is_never_connected_to(
    production: Any, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checked address has nothing listening; a second lookup would find the
    server. The fetch fails rather than connect anywhere but the checked address."""
    server.routes = {"/feed.ics": _answer(200, FEED)}
    answers = [["127.0.0.3"], ["127.0.0.1"]]
    monkeypatch.setattr(
        ssrf, "resolve", lambda host, port: answers.pop(0) if len(answers) > 1 else answers[0]
    )
    with ssrf.treat_as_public("127.0.0.0/29"), pytest.raises(ssrf.FetchError):
        _fetch(server.url("/feed.ics"))
    assert server.hits == []


def test_private_urls_are_refused_before_any_connection(settings: Any, server: Server) -> None:
    settings.INTEGRATIONS_ALLOW_PRIVATE_URLS = False
    server.routes = {"/feed.ics": _answer(200, FEED)}
    with pytest.raises(ssrf.UnsafeURL):
        _fetch(server.url("/feed.ics", host="127.0.0.1"))
    assert server.hits == []


def _certificate(tmp_path: Path, name: str) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.mark.parametrize(("cert_name", "ok"), [(PUBLIC_NAME, True), ("other.example.test", False)])
def test_https_sends_the_host_name_and_checks_the_certificate_against_it(
    production: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cert_name: str, ok: bool
) -> None:
    cert, key = _certificate(tmp_path, cert_name)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    monkeypatch.setattr(ssrf, "CA_BUNDLE", str(cert))
    for tls_server in _serve(context):
        tls_server.routes = {"/feed.ics": _answer(200, FEED)}
        url = tls_server.url("/feed.ics", scheme="https")
        if ok:
            answer = _fetch(url)
            assert (answer.status, answer.address) == (200, "127.0.0.1")
            assert tls_server.hits == [("/feed.ics", f"{PUBLIC_NAME}:{tls_server.port}")]
        else:
            with pytest.raises(ssrf.FetchError, match="certificate"):
                _fetch(url)
            assert tls_server.hits == []
        assert tls_server.server_names[:1] == [PUBLIC_NAME]


# --- Addresses --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "public"),
    [
        # IPv4-compatible (::/96, deprecated): refused whatever it embeds.
        ("::7f00:1", False),
        ("::a00:1", False),
        ("::808:808", False),
        # IPv4-mapped (::ffff:0:0/96): judged by the IPv4 address.
        ("::ffff:7f00:1", False),
        ("::ffff:a9fe:a9fe", False),
        ("::ffff:808:808", True),
        # IPv4-translated (::ffff:0:0:0/96): refused.
        ("::ffff:0:808:808", False),
        ("::ffff:0:7f00:1", False),
        # NAT64 well-known prefix (64:ff9b::/96): judged by the IPv4 address.
        ("64:ff9b::7f00:1", False),
        ("64:ff9b::a9fe:a9fe", False),
        ("64:ff9b::a00:1", False),
        ("64:ff9b::808:808", True),
        # Local-use NAT64 (64:ff9b:1::/48): refused.
        ("64:ff9b:1::a00:1", False),
        ("64:ff9b:1::808:808", False),
        # Site-local (fec0::/10, deprecated).
        ("fec0::1", False),
        ("feff::1", False),
        # 6to4 (2002::/16): judged by the IPv4 address.
        ("2002:a00:1::1", False),
        ("2002:7f00:1::", False),
        ("2002:a9fe:a9fe::1", False),
        ("2002:c0a8:101::1", False),
        ("2002:808:808::1", True),
        # Teredo (2001::/32) and other special ranges.
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),
        ("2001:0:a00:1::", False),
        ("2001:db8::1", False),
        ("3fff::1", False),
        ("5f00::1", False),
        ("100::1", False),
        ("::", False),
        ("::1", False),
        ("fe80::1%eth0", False),
        ("ff02::1", False),
        ("fd12:3456::1", False),
        # Ordinary public addresses.
        ("2606:4700:4700::1111", True),
        ("2a00:1450:4001:80b::200e", True),
        ("8.8.8.8", True),
        # IPv4 documentation and relay ranges.
        ("192.0.2.1", False),
        ("198.51.100.1", False),
        ("203.0.113.1", False),
        ("192.88.99.1", False),
        ("255.255.255.255", False),
        ("not an address", False),
    ],
)
def test_special_ipv6_forms(address: str, public: bool) -> None:
    assert ssrf.address_is_public(address) is public


@pytest.mark.parametrize(
    "host", ["[::7f00:1]", "[64:ff9b::a9fe:a9fe]", "[fec0::1]", "[2002:a00:1::]"]
)
def test_urls_with_special_ipv6_literals_are_refused(host: str) -> None:
    with pytest.raises(ssrf.UnsafeURL):
        ssrf.check_url(f"http://{host}/feed.ics", private_ok=False)


# --- Bounded bodies ---------------------------------------------------------------------


def _endless(handler: BaseHTTPRequestHandler) -> None:
    """No Content-Length, a body that never ends (until the client goes away)."""
    handler.send_response(200)
    handler.send_header("Content-Type", "text/calendar")
    handler.send_header("Connection", "close")
    handler.end_headers()
    block = b"X" * 65536
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        handler.wfile.write(block)


def _chunked_endless(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    block = b"X" * 65536
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        handler.wfile.write(b"%x\r\n%s\r\n" % (len(block), block))


def _gzip_bomb(expanded: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = b"\0" * (1 << 20)
    return b"".join(packer.compress(zeros) for _ in range(expanded >> 20)) + packer.flush()


@pytest.mark.parametrize("route", [_endless, _chunked_endless], ids=["close-delimited", "chunked"])
def test_an_endless_body_without_length_is_cut_at_the_size_limit(
    production: Any, server: Server, route: Route
) -> None:
    server.routes = {"/feed.ics": route}
    began = time.monotonic()
    with pytest.raises(ssrf.FetchError, match="larger than 200000 bytes"):
        _fetch(server.url("/feed.ics"), max_bytes=200_000, timeout=10)
    assert time.monotonic() - began < 5


def test_a_gzip_bomb_is_refused_without_expanding_in_memory(
    production: Any, server: Server
) -> None:
    bomb = _gzip_bomb(256 << 20)  # 256 MiB of zeros in ~250 KiB
    assert len(bomb) < 1 << 20
    server.routes = {"/feed.ics": _answer(200, bomb, Content_Encoding="gzip")}
    tracemalloc.start()
    try:
        with pytest.raises(ssrf.FetchError, match="larger than"):
            _fetch(server.url("/feed.ics"), max_bytes=2 << 20, timeout=20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20


def test_a_compressed_feed_within_the_limit_is_decoded(production: Any, server: Server) -> None:
    server.routes = {
        "/gzip": _answer(200, gzip.compress(FEED), Content_Encoding="gzip"),
        "/deflate": _answer(200, zlib.compress(FEED), Content_Encoding="deflate"),
    }
    assert _fetch(server.url("/gzip")).body == FEED
    assert _fetch(server.url("/deflate")).body == FEED


@pytest.mark.parametrize(
    ("body", "encoding", "message"),
    [
        (gzip.compress(FEED)[:-12], "gzip", "incomplete"),  # cut off: no end of stream
        (b"not gzip at all", "gzip", "corrupt"),
        (FEED, "br", "Unsupported Content-Encoding"),
    ],
)
def test_broken_or_unknown_compression_fails_the_fetch(
    production: Any, server: Server, body: bytes, encoding: str, message: str
) -> None:
    server.routes = {"/feed.ics": _answer(200, body, Content_Encoding=encoding)}
    with pytest.raises(ssrf.FetchError, match=message):
        _fetch(server.url("/feed.ics"))


def test_a_declared_length_over_the_limit_is_refused_unread(
    production: Any, server: Server
) -> None:
    def huge(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(10**12))
        handler.end_headers()
        handler.wfile.write(b"X" * 1024)

    server.routes = {"/feed.ics": huge}
    with pytest.raises(ssrf.FetchError, match="larger than"):
        _fetch(server.url("/feed.ics"))


@pytest.mark.django_db
def test_an_oversized_feed_fails_the_sync_and_releases_nothing(
    production: Any, server: Server, tenant: Tenant, settings: Any
) -> None:
    settings.INTEGRATIONS_ICAL_MAX_BYTES = 100_000
    server.routes = {"/feed.ics": _answer(200, FEED)}
    feed = IcalFeed.objects.create(
        business=tenant.business,
        property=tenant.prop,
        platform="airbnb",
        url=server.url("/feed.ics"),
    )
    assert ical.ical_feed_sync(feed_id=feed.pk).created == 1
    server.routes = {"/feed.ics": _endless}
    for _ in range(3):
        report = ical.ical_feed_sync(feed_id=feed.pk)
        assert report.outcome == "failed"
        assert "larger than" in report.error
    assert feed.events.get().booking.status == "confirmed"  # type: ignore[union-attr]
