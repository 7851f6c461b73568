"""Absolute URLs of the app host and of business sites, for emails, feeds and output."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse

from properties.models import Business


def _origin(host: str) -> str:
    port = settings.HOLIDESK_URL_PORT
    default = 443 if settings.HOLIDESK_URL_SCHEME == "https" else 80
    suffix = f":{port}" if port and port != default else ""
    return f"{settings.HOLIDESK_URL_SCHEME}://{host}{suffix}"


def app_url(path: str = "") -> str:
    return _origin(settings.HOLIDESK_APP_HOST) + path


def business_subdomain(business: Business) -> str:
    """`<slug>.<base domain>`: a host the platform controls, whatever the business does
    with its DNS (account emails link only here)."""
    return f"{business.slug}.{settings.HOLIDESK_BASE_DOMAIN}"


def business_host(business: Business) -> str:
    """Where visitors find the site: its custom domain once verified, else the subdomain."""
    return business.verified_domain or business_subdomain(business)


def business_subdomain_url(business: Business, path: str = "") -> str:
    return _origin(business_subdomain(business)) + path


def business_site_url(business: Business, path: str = "") -> str:
    return _origin(business_host(business)) + path


def site_path(name: str, *args: Any) -> str:
    """The path of a named route of the business sites (`config.site_urls`), outside a
    request as well (emails, services): `business_site_url(b, site_path("site-trip", ref))`."""
    return reverse(name, urlconf=settings.HOLIDESK_SITE_URLCONF, args=args)
