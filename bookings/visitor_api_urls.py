"""Visitor API paths under /api/v1/ on a business's host (stable once published: see
docs/visitor-api.md)."""

from __future__ import annotations

from django.urls import URLPattern, path

from bookings import visitor_api as api
from bookings import visitor_bookings_api as trips
from bookings import visitor_search_api as search

urlpatterns: list[URLPattern] = [
    path("properties/", api.PropertyListApi.as_view(), name="visitor-api-properties"),
    path("properties/<slug:slug>/", api.PropertyDetailApi.as_view(), name="visitor-api-property"),
    path(
        "properties/<slug:slug>/availability",
        api.AvailabilityApi.as_view(),
        name="visitor-api-availability",
    ),
    path("properties/<slug:slug>/quote", api.QuoteApi.as_view(), name="visitor-api-quote"),
    path("search", search.SearchApi.as_view(), name="visitor-api-search"),
    path("bookings/", trips.BookingListApi.as_view(), name="visitor-api-bookings"),
    path("bookings/<str:reference>/", trips.BookingDetailApi.as_view(), name="visitor-api-booking"),
    path(
        "bookings/<str:reference>/extension-quote",
        trips.ExtensionQuoteApi.as_view(),
        name="visitor-api-extension-quote",
    ),
    path("bookings/<str:reference>/extend", trips.ExtendApi.as_view(), name="visitor-api-extend"),
    path(
        "bookings/<str:reference>/cancellation-quote",
        trips.CancellationQuoteApi.as_view(),
        name="visitor-api-cancellation-quote",
    ),
    path("bookings/<str:reference>/cancel", trips.CancelApi.as_view(), name="visitor-api-cancel"),
]
