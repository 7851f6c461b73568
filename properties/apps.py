from __future__ import annotations

from django.apps import AppConfig


class PropertiesConfig(AppConfig):
    name = "properties"
    verbose_name = "Businesses and properties"

    def ready(self) -> None:
        from properties import receivers, schema  # noqa: F401  (signal receivers, OpenAPI)
        from properties.dashboard import pages

        pages.register()
