"""Direct booking on a business's site: the property page, checkout, the fake gateway's
page, My trips."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from bookings import trip_views, views
from bookings.payments import views as payment_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("search/", views.search, name="site-search"),
    path("sitemap.xml", views.sitemap, name="site-sitemap"),
    path("robots.txt", views.robots, name="site-robots"),
    path("p/<slug:slug>/", views.property_page, name="site-property"),
    path("book/<slug:slug>/", payment_views.checkout, name="site-checkout"),
    path(
        "checkout/fake/<str:session_id>/",
        payment_views.fake_checkout,
        name="site-fake-checkout",
    ),
    path("trips/", trip_views.trips, name="site-trips"),
    path("trips/<str:reference>/", trip_views.trip_detail, name="site-trip"),
    path(
        "trips/<str:reference>/confirmation/",
        trip_views.confirmation,
        name="site-trip-confirmation",
    ),
    path("trips/<str:reference>/cancel/", trip_views.trip_cancel, name="site-trip-cancel"),
    path("trips/<str:reference>/extend/", trip_views.trip_extend, name="site-trip-extend"),
    path("trips/<str:reference>/pay/", trip_views.trip_pay_due, name="site-trip-pay"),
]
