"""`{{ day|ldate:"j M Y" }}`: a date in the active language (properties.dates). A
builtin of the template engine, like `date`."""

from __future__ import annotations

from datetime import date, datetime

from django import template

from properties.dates import format_day

register = template.Library()


@register.filter(expects_localtime=True)
def ldate(value: date | datetime | None, fmt: str) -> str:
    if value in (None, ""):
        return ""
    assert value is not None
    return format_day(value, fmt)
