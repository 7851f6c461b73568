"""The bookings list's rows, each spelled in Python.

A page shows 50 bookings; spelled in the template, each row cost a URL reversal, two
date filters, a money filter and a dozen variable lookups, which made the template
engine most of the page's time (docs/performance.md). Here a row is one f-string,
every value escaped as the template did.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from urllib.parse import quote

from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from bookings.dashboard.grid import describe, source_label
from bookings.models import Booking
from properties.dashboard.text import plural
from properties.templatetags.money import money

STATUS_TONES: dict[str, str] = {Booking.Status.CONFIRMED: "ok", Booking.Status.HELD: "info"}
NO_TOTAL = mark_safe('<span class="muted">\u2014</span>')  # a block has no price


def rows_html(bookings: Iterable[Booking]) -> list[SafeString]:
    """One `<tr>` per booking, as the list shows it. Spelled with f-strings, each
    value escaped as `format_html` would: its keyword arguments cost more than the
    row (a chain's page)."""
    placeholder = "0"
    link = reverse("dashboard:booking-detail", args=[placeholder])
    head, _, tail = link.rpartition(f"/{placeholder}/")
    # The labels in the page's language, looked up once a page rather than a row.
    statuses = {value: escape(str(label)) for value, label in Booking.Status.choices}
    rows = []
    for b in bookings:
        label, _, css = describe(b)
        reference = escape(b.reference)
        email = f" \u00b7 {escape(b.guest_email)}" if b.guest_email else ""
        tone = STATUS_TONES.get(b.status, "neutral")
        total = NO_TOTAL if b.is_block else escape(money(b.total, b.currency))
        url = escape(f"{head}/{quote(b.reference, safe='')}/{tail}")
        rows.append(
            mark_safe(  # noqa: S308 (every value escaped here)
                "<tr>"
                f'<td><a href="{url}" class="row-link">{escape(label)}</a>'
                f'<span class="help block">{reference}{email}</span></td>'
                f"<td>{escape(b.property.name)}</td>"
                f'<td class="nowrap">{b.check_in:%a %-d %b} \u2013 {b.check_out:%a %-d %b %Y}'
                f'<span class="help block">{escape(plural(b.nights, "night"))}</span></td>'
                f'<td><span class="src-tag {escape(css)}">{escape(source_label(b))}</span></td>'
                f'<td><span class="badge badge-{escape(tone)}">'
                f"{statuses.get(b.status) or escape(b.status)}</span></td>"
                f'<td class="num">{total}</td>'
                "</tr>"
            )
        )
    return rows
