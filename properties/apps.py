from __future__ import annotations

from django.apps import AppConfig


class PropertiesConfig(AppConfig):
    name = "properties"
    verbose_name = "Businesses and properties"

    def ready(self) -> None:
        from properties import receivers, schema  # noqa: F401  (signal receivers, OpenAPI)
        from properties.dashboard import pages

        pages.register()
        self._audit()

    def _audit(self) -> None:
        from properties.audit import track
        from properties.models import (
            ApiToken,
            Business,
            Invitation,
            Membership,
            Property,
            PropertyGroup,
            SeasonalRate,
        )

        track(Business, exclude=["domain_token", "domain_checked_at"])
        track(Membership, m2m=["groups"])
        track(Invitation, exclude=["token_hash"], m2m=["groups"])
        track(ApiToken, exclude=["key_hash", "last_used_at"])
        track(PropertyGroup)
        track(Property)
        track(SeasonalRate)
