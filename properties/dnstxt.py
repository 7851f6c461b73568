"""TXT lookups for custom-domain verification, behind a small interface.

`HOLIDESK_TXT_RESOLVER` names the class (tests put a resolver with canned answers
there). A resolver answers "these records" (possibly none: the name or record does not
exist) or raises `TxtLookupFailed` when it could not find out (timeout, SERVFAIL): the
caller must not treat "could not ask" as "not there".
"""

from __future__ import annotations

from typing import Protocol

import dns.exception
import dns.resolver
from django.conf import settings
from django.utils.module_loading import import_string

LOOKUP_SECONDS = 3.0


class TxtLookupFailed(Exception):
    """The DNS could not be asked; try again later."""


class TxtResolver(Protocol):
    def txt(self, name: str) -> list[str]:
        """Every TXT record at `name`, each one's strings joined; [] if there is none."""
        ...


class DnsPythonResolver:
    """The system's resolvers through dnspython."""

    def __init__(self, lifetime: float = LOOKUP_SECONDS) -> None:
        self.lifetime = lifetime

    def txt(self, name: str) -> list[str]:
        try:
            answer = dns.resolver.resolve(name, "TXT", lifetime=self.lifetime, search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except dns.exception.DNSException as exc:
            raise TxtLookupFailed(f"{type(exc).__name__}: {exc}") from exc
        records: list[str] = []
        for rdata in answer:
            # A TXT record longer than 255 bytes arrives as several strings.
            chunks = getattr(rdata, "strings", ())
            records.append(b"".join(chunks).decode("utf-8", "replace"))
        return records


def get_txt_resolver() -> TxtResolver:
    resolver: TxtResolver = import_string(settings.HOLIDESK_TXT_RESOLVER)()
    return resolver
