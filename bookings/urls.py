"""Bookings on the app host: Stripe's webhook."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from bookings import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("webhooks/stripe/", views.stripe_webhook, name="stripe-webhook"),
]
