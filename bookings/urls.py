"""Bookings on the app host: Stripe's webhook."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from bookings.payments import views as payment_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("webhooks/stripe/", payment_views.stripe_webhook, name="stripe-webhook"),
]
