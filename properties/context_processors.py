from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from properties.languages import language_links, language_prefix, site_languages
from properties.urls_util import business_site_url


def business(request: HttpRequest) -> dict[str, Any]:
    """The host's business, and the canonical address of the page: the business's own
    host (its verified domain, else its subdomain) and the path, without the query.
    With several languages, the page in each of them (the switcher) and their
    canonical addresses (`hreflang` alternates, the default as `x-default`)."""
    found = getattr(request, "business", None)
    if found is None:
        return {"business": None, "canonical_url": "", "languages": [], "alternates": []}
    links = language_links(request) if len(site_languages(found)) > 1 else []
    alternates = [
        (link.code, business_site_url(found, language_prefix(found, link.code) + request.path_info))
        for link in links
    ]
    if alternates:
        alternates.append(("x-default", alternates[0][1]))
    return {
        "business": found,
        "canonical_url": business_site_url(found, request.path),
        "languages": links,
        "alternates": alternates,
    }
