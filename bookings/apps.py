from __future__ import annotations

from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "bookings"

    def ready(self) -> None:
        from bookings.dashboard import register
        from bookings.models import Booking
        from bookings.selectors import open_stays_currency_lock
        from properties.audit import track
        from properties.selectors import register_currency_lock

        register()
        register_currency_lock(open_stays_currency_lock)
        track(Booking, exclude=["updated_at", "hold_expires_at"])
