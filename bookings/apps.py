from __future__ import annotations

from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "bookings"

    def ready(self) -> None:
        from bookings.dashboard import register
        from bookings.models import Booking
        from properties.audit import track

        register()
        track(Booking, exclude=["updated_at", "hold_expires_at"])
