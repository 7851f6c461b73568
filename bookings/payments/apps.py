from __future__ import annotations

from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    """Payments of direct bookings (see the package docstring)."""

    name = "bookings.payments"
    label = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        from bookings.payments.dashboard import register

        register()
