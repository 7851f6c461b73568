"""The bookings list's rows, each spelled in Python.

A page shows 50 bookings; spelled in the template, each row cost a URL reversal, two
date filters, a money filter and a dozen variable lookups, which made the template
engine most of the page's time (docs/performance.md). Here a row is one
`format_html`, every value escaped as the template did.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote

from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from bookings.dashboard.grid import describe, source_label
from bookings.models import Booking
from properties.dashboard.text import plural
from properties.templatetags.money import money

STATUS_TONES: dict[str, str] = {Booking.Status.CONFIRMED: "ok", Booking.Status.HELD: "info"}
NO_TOTAL = mark_safe('<span class="muted">\u2014</span>')  # a block has no price

ROW = (
    "<tr>"
    '<td><a href="{url}" class="row-link">{label}</a>'
    '<span class="help block">{reference}{email}</span></td>'
    "<td>{property}</td>"
    '<td class="nowrap">{check_in} \u2013 {check_out}<span class="help block">{nights}</span></td>'
    '<td><span class="src-tag {css}">{source}</span></td>'
    '<td><span class="badge badge-{tone}">{status}</span></td>'
    '<td class="num">{total}</td>'
    "</tr>"
)


def rows_html(bookings: Iterable[Booking]) -> list[SafeString]:
    """One `<tr>` per booking, as the list shows it."""
    placeholder = "0"
    link = reverse("dashboard:booking-detail", args=[placeholder])
    head, _, tail = link.rpartition(f"/{placeholder}/")
    rows = []
    for b in bookings:
        label, _, css = describe(b)
        rows.append(
            format_html(
                ROW,
                url=f"{head}/{quote(b.reference, safe='')}/{tail}",
                label=label,
                reference=b.reference,
                email=format_html(" \u00b7 {}", b.guest_email) if b.guest_email else "",
                property=b.property.name,
                check_in=f"{b.check_in:%a %-d %b}",
                check_out=f"{b.check_out:%a %-d %b %Y}",
                nights=plural(b.nights, "night"),
                css=css,
                source=source_label(b),
                tone=STATUS_TONES.get(b.status, "neutral"),
                status=b.get_status_display(),
                total=NO_TOTAL if b.is_block else money(b.total, b.currency),
            )
        )
    return rows
