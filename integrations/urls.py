"""App-host URLs of the integrations app: the iCal export feeds."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from integrations import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("ical/<str:token>.ics", views.ical_feed, name="ical-export"),
]
