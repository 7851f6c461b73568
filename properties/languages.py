"""Languages of business sites and guest emails (docs/languages.md).

Each business offers some of `settings.LANGUAGES` (`Business.languages`, the first its
default). Its site serves the default language without a URL prefix and every other
offered language under `/<code>/` (`/de/p/alpenhaus/`), so each language version has
its own address for search engines (`hreflang` alternates, both in the sitemap) and a
language switch is a plain link. A prefix the business does not offer, or the default's
own prefix, redirects to the same page without one: a language the business does not
offer is never shown.

The prefix lives in Django's script prefix while a page (or an email) is made: URLs
resolve without it, and `reverse()` and `{% url %}` add it, so every link a page or an
email builds stays in its language without knowing about languages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import get_script_prefix, set_script_prefix
from django.utils import translation

from properties.models import Business

KNOWN = dict(settings.LANGUAGES)


def site_languages(business: Business) -> list[str]:
    """The business's languages that Holidesk knows, its default first."""
    offered = [code for code in business.languages or [] if code in KNOWN]
    return offered or [settings.LANGUAGE_CODE]


def site_language(business: Business, wanted: str | None) -> str:
    """`wanted` if the business offers it, else the business's default language."""
    languages = site_languages(business)
    return wanted if wanted in languages else languages[0]


def language_prefix(business: Business, language: str) -> str:
    """`/de` for a non-default language of the business, "" for its default."""
    language = site_language(business, language)
    return "" if language == site_languages(business)[0] else f"/{language}"


@contextmanager
def site_language_active(
    business: Business, language: str | None, *, script_prefix: str = "/"
) -> Iterator[str]:
    """Translate into `language` (or the business's default when it does not offer it),
    with `reverse()` building this language's paths on the business's site."""
    language = site_language(business, language)
    previous = get_script_prefix()
    prefix = language_prefix(business, language)
    set_script_prefix(script_prefix + (prefix.lstrip("/") + "/" if prefix else ""))
    try:
        with translation.override(language):
            yield language
    finally:
        set_script_prefix(previous)


def _split_prefix(path: str) -> tuple[str | None, str]:
    """(`de`, `/p/x/`) for `/de/p/x/`; (None, path) without a known language prefix."""
    parts = path.split("/", 2)
    if len(parts) >= 2 and parts[1] in KNOWN:
        return parts[1], "/" + (parts[2] if len(parts) == 3 else "")
    return None, path


@dataclass(frozen=True)
class LanguageLink:
    code: str
    name: str
    path: str  # this page in that language, query string included
    current: bool


def language_links(request: HttpRequest) -> list[LanguageLink]:
    """The page being shown in each of the business's languages (the switcher and the
    `hreflang` alternates); empty off business sites."""
    business: Business | None = getattr(request, "business", None)
    if business is None:
        return []
    current = translation.get_language()
    query = request.META.get("QUERY_STRING", "")
    links = []
    for code in site_languages(business):
        path = language_prefix(business, code) + request.path_info
        links.append(
            LanguageLink(code, KNOWN[code], path + (f"?{query}" if query else ""), code == current)
        )
    return links


class SiteLanguageMiddleware:
    """The business site's language from the path's prefix; English on the app host
    (owner pages are not translated). Sets `request.LANGUAGE_CODE`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        business: Business | None = getattr(request, "business", None)
        if business is None:
            request.LANGUAGE_CODE = settings.LANGUAGE_CODE
            with translation.override(settings.LANGUAGE_CODE):
                response = self.get_response(request)
            response.headers.setdefault("Content-Language", settings.LANGUAGE_CODE)
            return response
        code, rest = _split_prefix(request.path_info)
        languages = site_languages(business)
        if code is not None and (
            code not in languages[1:] or (rest == "/" and not request.path_info.endswith("/"))
        ):
            # Not offered (or the default's own prefix): the page without a prefix;
            # `/de` alone: `/de/`.
            target = language_prefix(business, code) + rest
            query = request.META.get("QUERY_STRING", "")
            return HttpResponseRedirect(target + (f"?{query}" if query else ""))
        if code is not None:
            request.path_info = rest
        base = get_script_prefix()
        with site_language_active(business, code, script_prefix=base) as language:
            request.LANGUAGE_CODE = language
            response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response
