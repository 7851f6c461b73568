from __future__ import annotations

from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from messaging import (
            receivers,  # noqa: F401  (connects the signal receivers)
            site_views,
        )
        from messaging.dashboard import register

        register()
        site_views.register()
        self._audit()

    def _audit(self) -> None:
        from messaging.models import (
            BusinessMessaging,
            EmailTemplate,
            KeyCode,
            PropertyMessaging,
            Staff,
            Turnover,
        )
        from properties.audit import track

        track(Staff)
        track(Turnover, exclude=["updated_at"])
        # A key code is a secret: its entries say that a code was planned, confirmed or
        # retired, never which one.
        track(KeyCode, exclude=["code"])
        track(EmailTemplate, exclude=["updated_at"])
        track(BusinessMessaging)
        track(PropertyMessaging)
