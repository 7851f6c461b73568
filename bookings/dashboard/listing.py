"""The bookings list's page of rows: read with its total in one query, each row spelled
in Python.

A page shows 50 bookings; spelled in the template, each row cost a URL reversal, two
date filters, a money filter and a dozen variable lookups, which made the template
engine most of the page's time (docs/performance.md). Here a row is one
`format_html`, every value escaped as the template did.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from django.core.paginator import Page, Paginator
from django.db.models import Count, QuerySet, Window
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


def page_of(bookings: QuerySet[Booking], number: Any, per_page: int) -> Page:
    """`Paginator(bookings, per_page).get_page(number)`, its rows and the count read
    in one query (`COUNT(*) OVER ()` is computed before the limit applies). A page
    past the end (or below 1) is answered as the paginator does, with its own count."""
    paginator = Paginator(bookings, per_page)
    try:
        wanted = int(number)
    except (TypeError, ValueError):
        wanted = 1
    if wanted < 1:
        return paginator.get_page(number)
    offset = (wanted - 1) * per_page
    rows = list(bookings.annotate(_total=Window(Count("pk")))[offset : offset + per_page])
    if not rows and wanted > 1:
        return paginator.get_page(number)
    paginator.count = rows[0]._total if rows else 0
    return Page(rows, wanted, paginator)


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
