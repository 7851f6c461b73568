"""Outbound HTTP to URLs that owners type in (iCal feeds, push endpoints).

Only http(s) to public addresses: loopback, private, link-local (169.254.0.0/16,
including the cloud metadata addresses 169.254.169.254 and 169.254.170.2), carrier-grade
NAT (100.64.0.0/10), multicast, reserved, and the IPv6 unique-local, link-local and
IPv4-mapped forms of those are refused. The check runs on every address the name
resolves to, again on the address actually connected to (a DNS answer that changed
between the check and the connection), and again for every redirect. Bodies are read
up to a size limit within a total time limit.

Development and tests (INTEGRATIONS_ALLOW_PRIVATE_URLS) may reach local servers.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from django.conf import settings

MAX_REDIRECTS = 5
USER_AGENT = "Holidesk/1.0 (+https://holidesk.app)"

_BLOCKED_NETWORKS = [
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "64:ff9b::/96",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    )
]


class UnsafeURL(Exception):
    pass


class FetchError(Exception):
    pass


class FetchTimeout(FetchError):
    """The exchange did not finish within its time limit."""


def address_is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour
        if mapped is not None:
            return address_is_public(str(mapped))
        if ip.teredo is not None:
            return False
    if any(ip in net for net in _BLOCKED_NETWORKS if net.version == ip.version):
        return False
    return bool(ip.is_global)


def allow_private() -> bool:
    return bool(settings.INTEGRATIONS_ALLOW_PRIVATE_URLS)


def _resolve(host: str, port: int) -> set[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return {str(info[4][0]) for info in infos}


def check_url(url: str, *, private_ok: bool | None = None) -> None:
    """Raise UnsafeURL unless `url` is http(s) to a host whose every address is public."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeURL("Only http and https URLs are allowed.")
    if not parts.hostname:
        raise UnsafeURL("The URL has no host.")
    if parts.username or parts.password:
        raise UnsafeURL("URLs with credentials are not allowed.")
    if private_ok if private_ok is not None else allow_private():
        return
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = _resolve(parts.hostname, port)
    except (OSError, ValueError, UnicodeError) as exc:
        raise UnsafeURL(f"The host {parts.hostname} cannot be resolved.") from exc
    if not addresses:
        raise UnsafeURL(f"The host {parts.hostname} has no address.")
    for address in addresses:
        if not address_is_public(address):
            raise UnsafeURL(f"{parts.hostname} resolves to a non-public address.")


def _peer_address(response: requests.Response) -> str | None:
    """The address the response actually came from (urllib3 keeps the socket on the
    connection, or only on the underlying http.client response once it is handed over)."""
    candidates = [
        getattr(getattr(response.raw, "_connection", None), "sock", None),
        getattr(
            getattr(getattr(getattr(response.raw, "_fp", None), "fp", None), "raw", None),
            "_sock",
            None,
        ),
    ]
    for sock in candidates:
        if sock is None:
            continue
        try:
            return str(sock.getpeername()[0])
        except (OSError, AttributeError):
            continue
    return None


@dataclass
class Fetched:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    url: str = ""


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
    """One HTTP exchange with the guard applied to the URL, its resolved addresses and
    the address actually connected to, on every hop; `timeout` bounds the whole
    exchange (connect, headers and body), `max_bytes` the body read (a longer body is
    an error, or with `truncate` cut short). Raises UnsafeURL,
    FetchTimeout or FetchError."""
    private = private_ok if private_ok is not None else allow_private()
    deadline = time.monotonic() + timeout
    session = requests.Session()
    session.trust_env = False  # no proxies from the environment
    current = url
    try:
        for _ in range(MAX_REDIRECTS + 1):
            check_url(current, private_ok=private)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise FetchTimeout("Timed out.")
            response = session.request(
                method,
                current,
                data=data,
                headers={"User-Agent": USER_AGENT, **(headers or {})},
                timeout=(min(5.0, remaining), remaining),
                allow_redirects=False,
                stream=True,
            )
            with response:
                peer = _peer_address(response)
                if not private and (peer is None or not address_is_public(peer)):
                    raise UnsafeURL("The connection did not go to a public address.")
                if response.is_redirect and follow_redirects:
                    location = response.headers.get("Location", "")
                    current = urljoin(current, location)
                    continue
                chunks: list[bytes] = []
                size = 0
                # read1: one socket read per call, so a body sent a byte at a time
                # still meets the deadline check (a single read waits at most the
                # read timeout set above).
                while True:
                    if time.monotonic() > deadline:
                        raise FetchTimeout("Timed out while reading.")
                    chunk = response.raw.read1(65536, decode_content=True)
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > max_bytes:
                        if truncate:
                            chunks.append(chunk[: max_bytes - (size - len(chunk))])
                            break
                        raise FetchError(f"The answer is larger than {max_bytes} bytes.")
                    chunks.append(chunk)
                return Fetched(
                    status=response.status_code,
                    body=b"".join(chunks),
                    headers={k.lower(): v for k, v in response.headers.items()},
                    url=current,
                )
        raise FetchError("Too many redirects.")
    except (requests.Timeout, urllib3.exceptions.TimeoutError) as exc:
        raise FetchTimeout("Timed out.") from exc
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
        raise FetchError(f"{type(exc).__name__}: {exc}"[:500]) from exc
    finally:
        session.close()
