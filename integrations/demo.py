"""Demo data of this app for `manage.py seed_demo` (see config/management/commands)."""

from __future__ import annotations

from typing import Any

from properties.demo import DemoBusiness


def seed(seeded: list[DemoBusiness], *, channel_endpoint: str | None = None) -> None:
    """Create this app's demo rows for each demo business, only where missing."""


def describe(entry: dict[str, Any], demo: DemoBusiness) -> None:
    """Add this app's part of the printed JSON entry of one business."""
