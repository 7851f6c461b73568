"""Owner REST API paths (stable: see the API contract)."""

from __future__ import annotations

from django.urls import path

from bookings import api

urlpatterns = [
    path("properties/", api.PropertyListApi.as_view(), name="api-properties"),
    path("properties/<int:property_id>/", api.PropertyDetailApi.as_view(), name="api-property"),
    path(
        "properties/<int:property_id>/availability",
        api.PropertyAvailabilityApi.as_view(),
        name="api-property-availability",
    ),
    path(
        "properties/<int:property_id>/quote",
        api.PropertyQuoteApi.as_view(),
        name="api-property-quote",
    ),
    path("bookings/", api.BookingListApi.as_view(), name="api-bookings"),
    path("bookings/<str:reference>/", api.BookingDetailApi.as_view(), name="api-booking"),
    path(
        "bookings/<str:reference>/cancel", api.BookingCancelApi.as_view(), name="api-booking-cancel"
    ),
    path(
        "bookings/<str:reference>/change-dates",
        api.BookingChangeDatesApi.as_view(),
        name="api-booking-change-dates",
    ),
    path("blocks/", api.BlockCreateApi.as_view(), name="api-blocks"),
    path("blocks/<str:reference>/", api.BlockDeleteApi.as_view(), name="api-block"),
]
