from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.properties.fake_dns import FakeTxtResolver


@pytest.fixture
def fake_dns(settings: Any) -> Iterator[type[FakeTxtResolver]]:
    """DNS answers under the test's control: `fake_dns.records[name] = [...]`."""
    settings.HOLIDESK_TXT_RESOLVER = "tests.properties.fake_dns.FakeTxtResolver"
    FakeTxtResolver.records = {}
    FakeTxtResolver.asked = []
    yield FakeTxtResolver
    FakeTxtResolver.records = {}
