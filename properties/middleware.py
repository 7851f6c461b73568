"""Host -> business routing.

`<slug>.<HOLIDESK_BASE_DOMAIN>` and a business's custom domain (once its DNS ownership
is verified) serve that business's visitor site (`config.site_urls`);
`HOLIDESK_APP_HOST` serves owners, the admin, the API and webhooks (`config.urls`) and
has no business. Anything else is a 404: this
middleware is the host allow-list (ALLOWED_HOSTS is "*" because custom domains are
added at run time).

Matching is anchored on the base domain, so `seaside.holidesk.app.evil.com` is not the
`seaside` tenant, and only a single label may stand before the base domain.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import SESSION_KEY, logout
from django.http import HttpRequest, HttpResponse
from django.http.request import split_domain_port
from django.template.response import TemplateResponse
from django.utils.cache import patch_vary_headers

from properties.clientip import client_ip
from properties.models import Business
from properties.selectors import business_for_slug_or_domain

log = logging.getLogger("holidesk.security")

# Served on any host: load balancer health checks address the task by IP; browsers ask
# every host, known or not, for its icon.
HOST_FREE_PATHS = frozenset({"/healthz", "/readyz", "/favicon.ico"})
# The session remembers the host key of the host that signed it in.
SESSION_HOST_KEY = "holidesk_host"


@dataclass(frozen=True)
class HostMatch:
    kind: str  # "app", "business" or "unknown"
    business: Business | None = None

    @property
    def key(self) -> str:
        """Which sessions this host accepts: the app host's, or one business's (its
        subdomain and its verified custom domain alike)."""
        return f"business:{self.business.pk}" if self.business else self.kind


def resolve_host(host: str) -> HostMatch:
    domain, _port = split_domain_port(host)
    domain = domain.lower().rstrip(".")
    if not domain:
        return HostMatch("unknown")
    if domain == settings.HOLIDESK_APP_HOST:
        return HostMatch("app")
    suffix = "." + settings.HOLIDESK_BASE_DOMAIN
    if domain.endswith(suffix):
        label = domain[: -len(suffix)]
        if not label or "." in label:
            return HostMatch("unknown")
        business = business_for_slug_or_domain(slug=label)
    else:
        business = business_for_slug_or_domain(domain=domain)
    if business is None:
        return HostMatch("unknown")
    return HostMatch("business", business)


class BusinessHostMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.business = None  # type: ignore[attr-defined]
        request.host_key = None  # type: ignore[attr-defined]
        if request.path_info in HOST_FREE_PATHS:
            return self.get_response(request)
        if (
            request.path_info.startswith(settings.STATIC_URL)
            and resolve_host(request.get_host()).kind == "unknown"
        ):
            # The unknown-host page's own stylesheet and icon (served by WhiteNoise).
            return self.get_response(request)
        match = resolve_host(request.get_host())
        request.host_key = match.key  # type: ignore[attr-defined]
        if match.kind == "unknown":
            page = TemplateResponse(
                request, "site/unknown_host.html", {"host": request.get_host()}, status=404
            )
            response: HttpResponse = page.render()
        else:
            if match.kind == "business":
                request.business = match.business  # type: ignore[attr-defined]
                request.urlconf = settings.HOLIDESK_SITE_URLCONF
            response = self.get_response(request)
        patch_vary_headers(response, ("Host",))
        return response


class SessionHostMiddleware:
    """A signed-in session is valid only on the kind of host that created it.

    Cookies are host-only, so a browser never carries a session to another host; this
    covers a session cookie carried by hand: one taken from a business site (whose
    owner may control a custom domain's DNS, and so its visitors' cookies) must not
    open the app host's admin and API, nor another business's site. A session
    presented on the wrong host is signed out (the session is flushed, so the stolen
    cookie dies) and logged.

    Sessions get their host key at sign-in (`_bind_session_to_host`). One created
    outside a request (`Client.force_login`, a session from before this rule) is bound
    by its first request.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        host_key = getattr(request, "host_key", None)
        session = getattr(request, "session", None)
        if host_key and session is not None and session.get(SESSION_KEY) is not None:
            bound = session.get(SESSION_HOST_KEY)
            if bound is None:
                session[SESSION_HOST_KEY] = host_key
            elif bound != host_key:
                log.warning(
                    "session of %s presented on %s (%s) from %s: signed out",
                    bound,
                    host_key,
                    request.get_host(),
                    client_ip(request),
                )
                logout(request)
        return self.get_response(request)
