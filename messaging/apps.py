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
