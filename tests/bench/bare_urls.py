"""The business site's URLs plus a bare page: the baseline of the search benchmark.

The bare page goes through the same stack as any visitor page (host routing, session,
authentication, messages, CSP) and renders the site's layout around one query's
answer, so a search's extra cost is what the search itself adds."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from config.site_urls import urlpatterns as site_urlpatterns


def bare(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return render(request, "site/base.html", {})


urlpatterns = [path("bench/bare/", bare), *site_urlpatterns]
