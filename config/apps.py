from __future__ import annotations

from django.apps import AppConfig


class ConfigConfig(AppConfig):
    """The composition root: management commands that span every app (seed_demo)."""

    name = "config"
    label = "holidesk_config"
