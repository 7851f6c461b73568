"""`Holidesk-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]` (see the API contract).

hex = HMAC-SHA256(secret, "<t>." + raw body). One valid v1 entry with any of the
accepted secrets suffices; a timestamp more than 300 s away from our clock is refused
(replay protection), in either direction. Comparisons are constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Iterable

HEADER = "Holidesk-Signature"
TOLERANCE_SECONDS = 300


class SignatureError(Exception):
    pass


def compute(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


# A v1 entry is a hex SHA-256 HMAC; anything else cannot match and is ignored.
_HEX_SHA256 = re.compile(r"[0-9a-f]{64}")


def sign(
    secret: str, body: bytes, *, timestamp: int | None = None, also: Iterable[str] = ()
) -> str:
    """The header value for `body`: one v1 entry per secret (`also` adds entries for
    secrets still in their rotation overlap)."""
    t = int(time.time()) if timestamp is None else timestamp
    entries = [f"v1={compute(key, t, body)}" for key in (secret, *also) if key]
    return ",".join([f"t={t}", *entries])


def parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            if not (value.isascii() and value.isdigit()) or len(value) > 12:
                raise SignatureError("The signature timestamp is not a number of seconds.")
            timestamp = int(value)
        elif key == "v1" and _HEX_SHA256.fullmatch(value.strip().lower()):
            signatures.append(value.strip().lower())
    if timestamp is None:
        raise SignatureError("The signature header has no timestamp (t=).")
    if not signatures:
        raise SignatureError("The signature header has no v1= signature.")
    return timestamp, signatures


def verify(
    header: str | None, body: bytes, secrets: Iterable[str], *, now: float | None = None
) -> None:
    """Raise SignatureError unless one v1 entry matches one of `secrets`."""
    if not header:
        raise SignatureError(f"The {HEADER} header is missing.")
    timestamp, signatures = parse(header)
    clock = time.time() if now is None else now
    if abs(clock - timestamp) > TOLERANCE_SECONDS:
        raise SignatureError("The signature timestamp is outside the 300-second window.")
    matched = False
    for secret in secrets:
        if not secret:
            continue
        expected = compute(secret, timestamp, body)
        for candidate in signatures:
            # No early exit: the work done does not depend on which entry matches.
            matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise SignatureError("No signature matches.")
