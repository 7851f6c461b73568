"""The app's URLs plus the bench's baseline: a bare template view behind the same
middleware, for a signed-in user."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import URLPattern, URLResolver, path

from config.urls import urlpatterns as app_urlpatterns

BARE = engines["django"].from_string(
    "<!doctype html><html lang=en><title>{{ title }}</title>"
    "<main><h1>{{ title }}</h1><p>{{ user.email }}</p></main></html>"
)


def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse(BARE.render({"title": "Bare page", "user": request.user}, request))


urlpatterns: list[URLPattern | URLResolver] = [
    path("bench/bare/", bare, name="bench-bare"),
    *app_urlpatterns,
]
