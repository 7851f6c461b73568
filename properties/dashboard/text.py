"""Small wording helpers shared by the dashboard's pages and panels."""

from __future__ import annotations


def plural(count: int, singular: str, many: str | None = None) -> str:
    """'1 night', '3 nights', '2 pushes' (with many='pushes')."""
    word = singular if count == 1 else (many or singular + "s")
    return f"{count} {word}"
