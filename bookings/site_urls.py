"""Direct booking on a business's site: the property page, checkout, the fake gateway's
page, My trips."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from bookings import views
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
    path("trips/", views.trips, name="site-trips"),
    path("trips/<str:reference>/", views.trip_detail, name="site-trip"),
    path(
        "trips/<str:reference>/confirmation/",
        views.confirmation,
        name="site-trip-confirmation",
    ),
    path("trips/<str:reference>/cancel/", views.trip_cancel, name="site-trip-cancel"),
    path("trips/<str:reference>/extend/", views.trip_extend, name="site-trip-extend"),
    path("trips/<str:reference>/pay/", views.trip_pay_due, name="site-trip-pay"),
]
