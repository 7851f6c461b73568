"""Dates as visitors and guests read them, in the active language: the site and the
guest emails name a few date formats in English (`j M Y`: 5 Jul 2031), and each
language says how it writes them (German `j. M Y`: 5. Jul 2031)."""

from __future__ import annotations

from datetime import date, datetime

from django.utils.formats import date_format
from django.utils.functional import Promise
from django.utils.translation import pgettext_lazy

# The formats pages and emails use, as Django date format strings; the translation of
# each is that language's way of writing the same date.
DATE_FORMATS: dict[str, Promise] = {
    "l j F Y": pgettext_lazy("date format", "l j F Y"),
    "j F Y": pgettext_lazy("date format", "j F Y"),
    "D j M Y": pgettext_lazy("date format", "D j M Y"),
    "j M Y": pgettext_lazy("date format", "j M Y"),
    "j M": pgettext_lazy("date format", "j M"),
    "F Y": pgettext_lazy("date format", "F Y"),
    "D j M, H:i": pgettext_lazy("date format", "D j M, H:i"),
}


def format_day(value: date | datetime, fmt: str) -> str:
    """`value` in the active language's version of `fmt` (one of DATE_FORMATS; any other
    Django format string is used as it is)."""
    return date_format(value, str(DATE_FORMATS.get(fmt, fmt)))
