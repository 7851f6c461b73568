"""The owner REST API and partner endpoints under /api/v1/ (see the API contract)."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("", include("bookings.api_urls")),
    path("", include("properties.photos.api_urls")),
    path("", include("integrations.api_urls")),
    path("", include("messaging.api_urls")),
]
