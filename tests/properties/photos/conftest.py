"""Photo tests write to temporary storages, never to the checkout's media/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def photo_dirs(tmp_path: Path, settings: Any) -> tuple[Path, Path]:
    return temporary_photo_storages(tmp_path, settings)


def temporary_photo_storages(tmp_path: Path, settings: Any) -> tuple[Path, Path]:
    """Public and private storages under `tmp_path` (for other test packages' fixtures)."""
    public, private = tmp_path / "media", tmp_path / "private"
    public.mkdir()
    private.mkdir()
    settings.MEDIA_ROOT = str(public)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(public), "base_url": "/media/"},
        },
        "photo_originals": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(private), "base_url": "/private-media-is-not-served/"},
        },
    }
    return public, private


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
