"""/dashboard/ on the app host: the shell's pages, then every page an app registered."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from properties.dashboard import registry, views
from properties.dashboard.access import dashboard_view

app_name = "dashboard"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", dashboard_view(views.today), name="today"),
    path("switch/", views.switch_business, name="switch-business"),
    *registry.url_patterns(),
]
