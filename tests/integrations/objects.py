"""Factories of this app's tenant-owned admin models, for the generic admin isolation
tests (tests/properties/test_admin.py). Register each with @register(Model)."""

from __future__ import annotations
