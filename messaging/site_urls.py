"""Business-host pages: a guest's messages to the business about their trip."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from messaging import site_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("trips/<str:reference>/messages/", site_views.trip_messages, name="site-trip-messages"),
]
