"""CSV exports of dashboard pages."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

# What a spreadsheet would run as a formula when a cell starts with it.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """A spreadsheet must not run what a guest or partner typed: text that would start
    a formula is prefixed with a quote (OWASP CSV injection). Numbers pass as they are,
    negative ones included."""
    if isinstance(value, int | Decimal):
        return str(value)
    text = "" if value is None else str(value)
    if text and text[0] in FORMULA_STARTS:
        return "'" + text
    return text
