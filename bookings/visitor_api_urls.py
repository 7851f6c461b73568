"""Visitor API paths under /api/v1/ on a business's host (stable once published: see
docs/visitor-api.md)."""

from __future__ import annotations

from django.urls import URLPattern, path

from bookings import visitor_api as api

urlpatterns: list[URLPattern] = [
    path("properties/", api.PropertyListApi.as_view(), name="visitor-api-properties"),
    path("properties/<slug:slug>/", api.PropertyDetailApi.as_view(), name="visitor-api-property"),
    path(
        "properties/<slug:slug>/availability",
        api.AvailabilityApi.as_view(),
        name="visitor-api-availability",
    ),
    path("properties/<slug:slug>/quote", api.QuoteApi.as_view(), name="visitor-api-quote"),
    path("search", api.SearchApi.as_view(), name="visitor-api-search"),
    path("bookings/", api.BookingListApi.as_view(), name="visitor-api-bookings"),
    path("bookings/<str:reference>/", api.BookingDetailApi.as_view(), name="visitor-api-booking"),
    path(
        "bookings/<str:reference>/extension-quote",
        api.ExtensionQuoteApi.as_view(),
        name="visitor-api-extension-quote",
    ),
    path("bookings/<str:reference>/extend", api.ExtendApi.as_view(), name="visitor-api-extend"),
    path(
        "bookings/<str:reference>/cancellation-quote",
        api.CancellationQuoteApi.as_view(),
        name="visitor-api-cancellation-quote",
    ),
    path("bookings/<str:reference>/cancel", api.CancelApi.as_view(), name="visitor-api-cancel"),
]
