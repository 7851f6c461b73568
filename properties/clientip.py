"""The client's IP address behind HOLIDESK_TRUSTED_PROXY_COUNT proxies.

Behind the load balancer REMOTE_ADDR is the load balancer: every client would share
one sign-in throttle. Each trusted proxy appends the address it saw to
X-Forwarded-For, so the client is the entry that many places from the right; entries
further left were written by the client and are never believed.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _ip(value: str) -> str | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:
        value = value[1 : value.index("]")]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    remote = _ip(request.META.get("REMOTE_ADDR", ""))
    trusted = settings.HOLIDESK_TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if trusted <= 0 or not forwarded:
        return remote
    hops = [hop for hop in forwarded.split(",") if hop.strip()]
    if not hops:
        return remote
    # Fewer hops than proxies: some proxy did not append (or was bypassed, which a
    # count cannot detect; docs/security.md). The leftmost hop is the best guess.
    return _ip(hops[-min(trusted, len(hops))]) or remote
