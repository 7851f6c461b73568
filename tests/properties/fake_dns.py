"""A TXT resolver with canned answers, for HOLIDESK_TXT_RESOLVER in tests."""

from __future__ import annotations

from properties.dnstxt import TxtLookupFailed


class FakeTxtResolver:
    """Answers from `FakeTxtResolver.records` (name -> TXT strings); a name mapped to
    None fails like a DNS timeout. Use the `fake_dns` fixture, which empties it."""

    records: dict[str, list[str] | None] = {}
    asked: list[str] = []

    def txt(self, name: str) -> list[str]:
        FakeTxtResolver.asked.append(name)
        answer = FakeTxtResolver.records.get(name, [])
        if answer is None:
            raise TxtLookupFailed("timeout")
        return list(answer)
