from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from properties.urls_util import business_site_url


def business(request: HttpRequest) -> dict[str, Any]:
    """The host's business, and the canonical address of the page: the business's own
    host (its verified domain, else its subdomain) and the path, without the query."""
    found = getattr(request, "business", None)
    canonical = business_site_url(found, request.path) if found is not None else ""
    return {"business": found, "canonical_url": canonical}
