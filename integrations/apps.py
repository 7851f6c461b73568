from __future__ import annotations

from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Channels and sync"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from integrations import receivers  # noqa: F401  (connects the signal receivers)
        from integrations.dashboard import register
        from integrations.models import Channel, ListingLink
        from properties.audit import track

        register()
        # Secrets are never written to the log: `secrets_rotated_at` records a rotation.
        track(
            Channel,
            exclude=[
                "inbound_secret_enc",
                "previous_inbound_secret_enc",
                "outbound_secret_enc",
                "previous_outbound_secret_enc",
                "last_inbound_at",
                "last_push_ok_at",
                "last_push_error",
                "last_push_error_at",
            ],
        )
        track(ListingLink)
