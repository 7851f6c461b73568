"""Host -> business routing.

`<slug>.<HOLIDESK_BASE_DOMAIN>` and a business's custom domain serve that business's
visitor site (`config.site_urls`); `HOLIDESK_APP_HOST` serves owners, the admin, the
API and webhooks (`config.urls`) and has no business. Anything else is a 404: this
middleware is the host allow-list (ALLOWED_HOSTS is "*" because custom domains are
added at run time).

Matching is anchored on the base domain, so `seaside.holidesk.app.evil.com` is not the
`seaside` tenant, and only a single label may stand before the base domain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.request import split_domain_port
from django.template.response import TemplateResponse
from django.utils.cache import patch_vary_headers

from properties.models import Business
from properties.selectors import business_for_slug_or_domain

# Served on any host: load balancer health checks address the task by IP.
HOST_FREE_PATHS = frozenset({"/healthz", "/readyz"})


@dataclass(frozen=True)
class HostMatch:
    kind: str  # "app", "business" or "unknown"
    business: Business | None = None


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
        if request.path_info in HOST_FREE_PATHS:
            return self.get_response(request)
        match = resolve_host(request.get_host())
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
