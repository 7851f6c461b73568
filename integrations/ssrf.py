"""Outbound HTTP to URLs that owners type in (iCal feeds, push endpoints).

Only http(s) to public addresses. Refused: loopback, private, link-local (169.254.0.0/16,
including the cloud metadata addresses 169.254.169.254 and 169.254.170.2), carrier-grade
NAT (100.64.0.0/10), multicast, reserved and documentation ranges; in IPv6 the
unique-local, link-local, deprecated site-local (fec0::/10), IPv4-compatible (::/96),
IPv4-translated, local-use NAT64 (64:ff9b:1::/48), Teredo and other special ranges.
IPv6 forms that embed an IPv4 address (IPv4-mapped ::ffff:0:0/96, NAT64 64:ff9b::/96,
6to4 2002::/16) are judged by the IPv4 address they carry.

Each hop resolves the host once, checks every address, and connects to an address
that passed the check (the connection is pinned to it, with the original Host header,
TLS server name and certificate check), so a DNS answer that changes between the check
and the connection (rebinding) is never used. Redirects are followed up to
MAX_REDIRECTS, each hop checked the same way. Bodies are read up to a size limit within
a total time limit; a compressed body is decompressed in bounded steps, so its size
limit applies to what it expands to.

Development and tests (INTEGRATIONS_ALLOW_PRIVATE_URLS) may reach local servers.
"""

from __future__ import annotations

import http.client
import ipaddress
import re
import socket
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import certifi
import urllib3
from django.conf import settings
from requests.utils import requote_uri

MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "Holidesk/1.0 (+https://holidesk.app)"
CA_BUNDLE = certifi.where()
CONNECT_TIMEOUT = 5.0
READ_SIZE = 65536

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_BLOCKED_NETWORKS: list[IPNetwork] = [
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",  # 6to4 relay anycast (deprecated)
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/96",  # unspecified, loopback and the deprecated IPv4-compatible form
        "::ffff:0:0:0/96",  # IPv4-translated (SIIT)
        "64:ff9b:1::/48",  # local-use NAT64
        "100::/64",  # discard-only
        "2001::/23",  # IETF protocol assignments, Teredo (2001::/32) included
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation
        "5f00::/16",  # SRv6 segment identifiers
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated)
        "ff00::/8",  # multicast
    )
]
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_HOST_NAME = re.compile(r"^[a-z0-9_.-]+$")


class UnsafeURL(Exception):
    pass


class FetchError(Exception):
    pass


class FetchTimeout(FetchError):
    """The exchange did not finish within its time limit."""


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


def address_is_public(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return address_is_public(str(embedded))
    if any(ip in net for net in _BLOCKED_NETWORKS if net.version == ip.version):
        return False
    return bool(ip.is_global)


# Networks the guard takes for public ones, only for tests: a local server listens on
# loopback, and with this the production path (private URLs refused, every hop checked
# and pinned) runs end to end against it.
_treated_as_public: ContextVar[tuple[IPNetwork, ...]] = ContextVar(
    "ssrf_treated_as_public", default=()
)


@contextmanager
def treat_as_public(*networks: str) -> Iterator[None]:
    token = _treated_as_public.set(tuple(ipaddress.ip_network(n) for n in networks))
    try:
        yield
    finally:
        _treated_as_public.reset(token)


def _allowed(address: str) -> bool:
    if address_is_public(address):
        return True
    extra = _treated_as_public.get()
    if not extra:
        return False
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return any(ip in net for net in extra if net.version == ip.version)


def allow_private() -> bool:
    return bool(settings.INTEGRATIONS_ALLOW_PRIVATE_URLS)


def resolve(host: str, port: int) -> list[str]:
    """The addresses of `host`, in the resolver's order of preference."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class Target:
    """One hop: where to connect (addresses that passed the check) and what to send."""

    scheme: str
    host: str  # ASCII host name or IP literal: Host header, TLS server name, certificate
    port: int
    path: str
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        name = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return name if self.port == default else f"{name}:{self.port}"


def _parse(url: str) -> tuple[str, str, int, str]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeURL("Only http and https URLs are allowed.")
    if not parts.hostname:
        raise UnsafeURL("The URL has no host.")
    if "@" in parts.netloc:
        raise UnsafeURL("URLs with credentials are not allowed.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        host = parts.hostname.encode("idna").decode("ascii")
    except (ValueError, UnicodeError) as exc:
        raise UnsafeURL("The URL's host or port is invalid.") from exc
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not _HOST_NAME.match(host):
            raise UnsafeURL("The URL's host is invalid.") from None
    path = requote_uri(parts.path or "/") + (f"?{requote_uri(parts.query)}" if parts.query else "")
    return parts.scheme, host, port, path


def checked_target(url: str, *, private_ok: bool) -> Target:
    """Resolve and check one hop. Raises UnsafeURL."""
    scheme, host, port, path = _parse(url)
    try:
        addresses = tuple(resolve(host, port))
    except (OSError, ValueError, UnicodeError) as exc:
        raise UnsafeURL(f"The host {host} cannot be resolved.") from exc
    if not addresses:
        raise UnsafeURL(f"The host {host} has no address.")
    if not private_ok:
        for address in addresses:
            if not _allowed(address):
                raise UnsafeURL(f"{host} resolves to a non-public address.")
    return Target(scheme=scheme, host=host, port=port, path=path, addresses=addresses)


def check_url(url: str, *, private_ok: bool | None = None) -> None:
    """Raise UnsafeURL unless `url` is http(s) to a host whose every address is public."""
    if private_ok if private_ok is not None else allow_private():
        _parse(url)
        return
    checked_target(url, private_ok=False)


@dataclass
class Fetched:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    url: str = ""
    address: str = ""  # the address connected to


def fetch(
    url: str,
    *,
    headers: dict[str, str] | None = None,
    max_bytes: int,
    timeout: float,
    private_ok: bool | None = None,
) -> Fetched:
    """GET with the guard applied to every hop. Raises UnsafeURL or FetchError."""
    return request(
        "GET", url, headers=headers, max_bytes=max_bytes, timeout=timeout, private_ok=private_ok
    )


def _pool(hop: Target, address: str) -> urllib3.HTTPConnectionPool:
    if hop.scheme == "https":
        # Connect to the checked address; the TLS server name and the certificate check
        # use the URL's host.
        return urllib3.HTTPSConnectionPool(
            address,
            hop.port,
            maxsize=1,
            retries=False,
            cert_reqs="CERT_REQUIRED",
            ca_certs=CA_BUNDLE,
            server_hostname=hop.host,
        )
    return urllib3.HTTPConnectionPool(address, hop.port, maxsize=1, retries=False)


def _open(
    hop: Target,
    method: str,
    *,
    body: bytes | None,
    headers: dict[str, str],
    deadline: float,
) -> tuple[urllib3.HTTPConnectionPool, urllib3.BaseHTTPResponse, str]:
    """Send the request to the first of the hop's checked addresses that accepts a
    connection (never to an address found any other way)."""
    refused: Exception | None = None
    for address in hop.addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchTimeout("Timed out.")
        pool = _pool(hop, address)
        try:
            response = pool.urlopen(
                method,
                hop.path,
                body=body,
                headers={**headers, "Host": hop.host_header},
                redirect=False,
                retries=False,
                assert_same_host=False,
                preload_content=False,
                decode_content=False,
                timeout=urllib3.Timeout(connect=min(CONNECT_TIMEOUT, remaining), read=remaining),
            )
        except urllib3.exceptions.NewConnectionError as exc:
            pool.close()
            refused = exc
            continue
        except BaseException:
            pool.close()
            raise
        return pool, response, address
    raise FetchError(f"Could not connect to {hop.host}: {refused}"[:500])


class _Decoder:
    """Content-Encoding decoding that never produces more than it is asked for: a small
    compressed body cannot expand into memory beyond the size limit."""

    def __init__(self, content_encoding: str) -> None:
        codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        self._zlib: zlib._Decompress | None = None
        if not codings:
            return
        if codings in (["gzip"], ["x-gzip"]):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif codings == ["deflate"]:
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS)
        else:
            raise FetchError(f"Unsupported Content-Encoding: {content_encoding[:50]}")

    def decode(self, data: bytes, limit: int) -> bytes:
        """Up to `limit` bytes decoded from `data` (more input stays pending)."""
        if self._zlib is None:
            return data[:limit]
        try:
            return self._zlib.decompress(data, limit)
        except zlib.error as exc:
            raise FetchError(f"The compressed answer is corrupt: {exc}") from exc

    def complete(self) -> bool:
        return self._zlib is None or self._zlib.eof


def _read_body(
    response: urllib3.BaseHTTPResponse, *, max_bytes: int, truncate: bool, deadline: float
) -> bytes:
    decoder = _Decoder(response.headers.get("Content-Encoding", ""))
    # A compressed body a little larger than its content is possible; anything beyond
    # that is refused before it is read.
    raw_limit = max_bytes + READ_SIZE
    length = response.headers.get("Content-Length", "")
    if not truncate and length.isdigit() and int(length) > raw_limit:
        raise FetchError(f"The answer is larger than {max_bytes} bytes.")
    chunks: list[bytes] = []
    size = raw = 0
    while True:
        # read1: one socket read per call, so a body sent a byte at a time still meets
        # the deadline check (a single read waits at most the read timeout).
        if time.monotonic() > deadline:
            raise FetchTimeout("Timed out while reading.")
        chunk = response.read1(READ_SIZE, decode_content=False)
        if not chunk:
            break
        raw += len(chunk)
        decoded = decoder.decode(chunk, max_bytes - size + 1)
        size += len(decoded)
        if size > max_bytes or raw > raw_limit:
            if truncate:
                chunks.append(decoded[: max(0, max_bytes - (size - len(decoded)))])
                return b"".join(chunks)
            raise FetchError(f"The answer is larger than {max_bytes} bytes.")
        chunks.append(decoded)
    if not decoder.complete():
        # A cut-off feed would look like events that were cancelled.
        raise FetchError("The compressed answer is incomplete.")
    return b"".join(chunks)


def request(
    method: str,
    url: str,
    *,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
    max_bytes: int,
    timeout: float,
    private_ok: bool | None = None,
    follow_redirects: bool = True,
    truncate: bool = False,
) -> Fetched:
    """One HTTP exchange with the guard applied to every hop (the URL, its resolved
    addresses, the connection pinned to a checked address); `timeout` bounds the whole
    exchange (connect, headers and body, redirects included), `max_bytes` the body
    (decompressed; a longer body is an error, or with `truncate` cut short). Raises
    UnsafeURL, FetchTimeout or FetchError."""
    private = private_ok if private_ok is not None else allow_private()
    deadline = time.monotonic() + timeout
    sent = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate", **(headers or {})}
    current = url
    try:
        for _ in range(MAX_REDIRECTS + 1):
            hop = checked_target(current, private_ok=private)
            pool, response, address = _open(hop, method, body=data, headers=sent, deadline=deadline)
            try:
                location = response.headers.get("Location", "")
                if follow_redirects and response.status in REDIRECT_STATUSES and location:
                    current = urljoin(current, location)
                    if response.status == 303 or (response.status in (301, 302) and data):
                        method, data = "GET", None
                    continue
                body = _read_body(
                    response, max_bytes=max_bytes, truncate=truncate, deadline=deadline
                )
                return Fetched(
                    status=response.status,
                    body=body,
                    headers={k.lower(): v for k, v in response.headers.items()},
                    url=current,
                    address=address,
                )
            finally:
                response.close()
                pool.close()
        raise FetchError(f"Too many redirects (more than {MAX_REDIRECTS}).")
    except urllib3.exceptions.NewConnectionError as exc:
        raise FetchError(f"{type(exc).__name__}: {exc}"[:500]) from exc
    except (urllib3.exceptions.TimeoutError, TimeoutError) as exc:
        raise FetchTimeout("Timed out.") from exc
    except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError) as exc:
        raise FetchError(f"{type(exc).__name__}: {exc}"[:500]) from exc
