"""Password hashing at test speed.

Production's PBKDF2 costs about half a second per password on these machines, and
nearly every test creates users (a tenant and an outsider each have an owner), so
tests hash with MD5. Hashing strength is Django's concern, not something tests check.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import override_settings


@pytest.fixture(autouse=True, scope="session")
def fast_password_hashing() -> Iterator[None]:
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield
