"""The visitor API's URLconf as its schema sees it: /api/v1/ on a business host."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [path("api/v1/", include("bookings.visitor_api_urls"))]
