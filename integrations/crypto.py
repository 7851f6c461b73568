"""Channel secrets at rest: Fernet with the key from HOLIDESK_ENCRYPTION_KEY.

Several comma-separated keys may be given (newest first) to rotate the key itself:
new values are encrypted with the first, old ones still decrypt with any.
"""

from __future__ import annotations

import secrets
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

SECRET_PREFIX = "whsec_"  # noqa: S105  (a prefix, not a secret)


@lru_cache(maxsize=4)
def _fernet(keys: str) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.strip()) for key in keys.split(",") if key.strip()])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "HOLIDESK_ENCRYPTION_KEY must be a Fernet key (32 url-safe base64-encoded bytes)."
        ) from exc


def encrypt(plain: str) -> str:
    return _fernet(settings.HOLIDESK_ENCRYPTION_KEY).encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet(settings.HOLIDESK_ENCRYPTION_KEY).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "A channel secret cannot be decrypted: HOLIDESK_ENCRYPTION_KEY changed."
        ) from exc


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)
