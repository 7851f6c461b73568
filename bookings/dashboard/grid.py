"""The month calendar as rows of cells: each stay or block one cell spanning its nights,
each free night a cell of its own, open conflicts in a lane under their property."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from html import escape

from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from bookings.dashboard.selectors import nights_between
from bookings.dashboard.slots import CalendarMark
from bookings.models import Booking
from properties.dashboard.text import plural
from properties.models import Property

SOURCE_LABELS: dict[str, str] = {
    Booking.Source.DIRECT: "Direct",
    Booking.Source.OWNER: "Owner",
    Booking.Source.AIRBNB: "Airbnb",
    Booking.Source.BOOKING: "Booking.com",
    Booking.Source.VRBO: "Vrbo",
    Booking.Source.ICAL: "iCal",
    Booking.Source.API: "API",
}
BLOCK_LABELS: dict[str, str] = {
    Booking.Kind.OWNER_BLOCK: "Owner use",
    Booking.Kind.MAINTENANCE: "Maintenance",
}


@dataclass(frozen=True)
class Day:
    date: date
    weekend: bool
    today: bool

    # Words for the column head, spelled here rather than by the template's `date`
    # filter: a month of 20 properties is some 600 cells, and the filter was a third of
    # the page's time.
    @property
    def label(self) -> str:
        return f"{self.date:%A} {self.date.day} {self.date:%B}"

    @property
    def abbr(self) -> str:
        return f"{self.date:%a}"[:2]


@dataclass(frozen=True)
class Cell:
    span: int
    day: date | None = None  # a free night
    booking: Booking | None = None
    mark: CalendarMark | None = None
    label: str = ""
    sublabel: str = ""
    css: str = ""
    title: str = ""
    starts_before: bool = False
    ends_after: bool = False
    iso: str = ""  # a free night's date, for the block form's script
    url: str = ""  # a stay's page
    dates: str = ""  # a stay's "3 June to 7 June", for screen readers


@dataclass
class Row:
    property: Property
    cells: list[Cell]
    mark_lanes: list[list[Cell]] = field(default_factory=list)
    today: date | None = None
    link: str = ""  # the property's bookings

    def html(self) -> SafeString:
        """The row as markup (its head and cells), built here rather than by the
        template: a month is some 31 cells a property, a hotel's calendar 400 rows,
        and the template engine spent most of the page's time on them
        (docs/performance.md). Only the text that comes from people is escaped."""
        name = escape(self.property.name)
        parts = [
            f'<tr class="cal-row" data-property="{self.property.pk}">'
            f'<th scope="row" class="cal-prop"><a href="{escape(self.link)}" '
            f'title="Bookings of {name}">{name}</a></th>'
        ]
        parts.extend(_cell_html(c, self.today) for c in self.cells)
        parts.append("</tr>")
        return mark_safe("".join(parts))  # noqa: S308 (every part escaped above)

    def cells_html(self) -> SafeString:
        return mark_safe("".join(_cell_html(c, self.today) for c in self.cells))  # noqa: S308


def _cell_html(cell: Cell, today: date | None) -> str:
    if cell.booking is None:
        css = f"{cell.css} is-today" if cell.day is not None and cell.day == today else cell.css
        return f'<td class="{css}" data-date="{cell.iso}"></td>'
    css = cell.css
    if cell.starts_before:
        css += " starts-before"
    if cell.ends_after:
        css += " ends-after"
    return (
        f'<td colspan="{cell.span}" class="cal-stay {escape(css)}"><a href="{escape(cell.url)}" '
        f'title="{escape(cell.title)}"><span class="stay-name">{escape(cell.label)}</span>'
        '<span class="visually-hidden">, </span>'
        f'<span class="stay-source">{escape(cell.sublabel)}</span>'
        f'<span class="visually-hidden">, {escape(cell.dates)}</span></a></td>'
    )


def _lane_html(row: Row, lane: list[Cell]) -> str:
    parts = [
        '<tr class="cal-marks"><th scope="row" class="cal-prop cal-prop-mark">'
        f'<span class="visually-hidden">{escape(row.property.name)}: </span>Conflict</th>'
    ]
    for cell in lane:
        if cell.mark is None:
            parts.append("<td></td>")
            continue
        parts.append(
            f'<td colspan="{cell.span}" class="cal-mark"><a href="{escape(cell.mark.url)}" '
            f'title="{escape(cell.title)}"><span aria-hidden="true">\u26a0 </span>'
            f"{escape(cell.label)}</a></td>"
        )
    parts.append("</tr>")
    return "".join(parts)


@dataclass
class Group:
    name: str
    rows: list[Row]

    def rows_html(self) -> SafeString:
        """Every row and its conflict lanes, as markup (see `Row.html`)."""
        parts: list[str] = []
        for row in self.rows:
            parts.append(row.html())
            parts.extend(_lane_html(row, lane) for lane in row.mark_lanes)
        return mark_safe("\n".join(parts))  # noqa: S308 (escaped where built)


def source_label(booking: Booking) -> str:
    return SOURCE_LABELS.get(booking.source) or str(booking.get_source_display())


def describe(booking: Booking) -> tuple[str, str, str]:
    """(label, sublabel, css classes) of a stay, hold or block on the calendar."""
    source = source_label(booking)
    if booking.is_block:
        # A partner's block says whose it is; the owner's say why.
        return "Blocked", BLOCK_LABELS.get(booking.kind, source), f"is-block src-{booking.source}"
    name = booking.guest_name or "Guest"
    if booking.status == Booking.Status.HELD:
        return name, f"Hold · {source}", f"is-hold src-{booking.source}"
    return name, source, f"is-stay src-{booking.source}"


def _title(label: str, sublabel: str, check_in: date, check_out: date) -> str:
    return (
        f"{label} · {sublabel} · {_short(check_in)} \u2013 {_short(check_out)} "
        f"({plural((check_out - check_in).days, 'night')})"
    )


# A day's words, spelled once: a calendar page names the same few dozen days in its
# hundreds of stays, and strftime was a fifth of building the rows.
@lru_cache(maxsize=4096)
def _short(day: date) -> str:
    return f"{day:%-d %b}"


@lru_cache(maxsize=4096)
def _day_month(day: date) -> str:
    return f"{day.day} {day:%B}"


def _free(day: date) -> Cell:
    css = "cal-free is-weekend" if day.weekday() >= 5 else "cal-free"
    return Cell(span=1, day=day, iso=day.isoformat(), css=css)


# A stay's link, reversed once per page rather than once per stay.
PLACEHOLDER = "REFERENCE"


def free_nights(start: date, end: date) -> dict[date, Cell]:
    """A free night's cell for each night of [start, end): the same for every row, so
    built once a page (a hotel's 100 rows were 1,000s of cells made alike)."""
    return {day: _free(day) for day in nights_between(start, end)}


def booking_cells(
    bookings: list[Booking],
    start: date,
    end: date,
    conflicted: set[int],
    detail: str = "",
    free: dict[date, Cell] | None = None,
) -> list[Cell]:
    cells: list[Cell] = []
    cursor = start
    detail = detail or reverse("dashboard:booking-detail", args=[PLACEHOLDER])
    free = free if free is not None else free_nights(start, end)
    for booking in sorted(bookings, key=lambda b: b.check_in):
        check_in, check_out = booking.check_in, booking.check_out
        lower = max(check_in, cursor)
        upper = min(check_out, end)
        if upper <= lower:
            continue  # outside the month, or (never expected) overlapping the previous one
        cells.extend(free[day] for day in nights_between(cursor, lower))
        label, sublabel, css = describe(booking)
        if booking.pk in conflicted:
            css += " has-conflict"
            sublabel = f"Conflict · {sublabel}"
        cells.append(
            Cell(
                span=(upper - lower).days,
                booking=booking,
                label=label,
                sublabel=sublabel,
                css=css,
                title=_title(label, sublabel, check_in, check_out),
                starts_before=check_in < start,
                ends_after=check_out > end,
                dates=f"{_day_month(check_in)} to {_day_month(check_out)}",
                url=detail.replace(PLACEHOLDER, booking.reference),
            )
        )
        cursor = upper
    cells.extend(free[day] for day in nights_between(cursor, end))
    return cells


def mark_lanes(marks: list[CalendarMark], start: date, end: date) -> list[list[Cell]]:
    """Marks laid out in as few lanes as possible, none overlapping within a lane."""
    lanes: list[list[CalendarMark]] = []
    for mark in sorted(marks, key=lambda m: m.start):
        for lane in lanes:
            if lane[-1].end <= mark.start:
                lane.append(mark)
                break
        else:
            lanes.append([mark])
    rows = []
    for lane in lanes:
        cells: list[Cell] = []
        cursor = start
        for mark in lane:
            lower, upper = max(mark.start, cursor), min(mark.end, end)
            if upper <= lower:
                continue
            cells.extend(Cell(span=1) for _ in nights_between(cursor, lower))
            cells.append(
                Cell(
                    span=(upper - lower).days,
                    mark=mark,
                    label=mark.label,
                    title=f"{mark.label} · {mark.start:%-d %b} \u2013 {mark.end:%-d %b}",
                    starts_before=mark.start < start,
                    ends_after=mark.end > end,
                )
            )
            cursor = upper
        cells.extend(Cell(span=1) for _ in nights_between(cursor, end))
        rows.append(cells)
    return rows


def build_groups(
    properties: list[Property],
    bookings: list[Booking],
    marks: list[CalendarMark],
    start: date,
    end: date,
    today: date | None = None,
    bookings_link: str = "",
) -> list[Group]:
    """Rows by group; `bookings_link` + a property's id is its row's link (its
    bookings)."""
    detail = reverse("dashboard:booking-detail", args=[PLACEHOLDER])
    bookings_link = bookings_link or f"{reverse('dashboard:bookings')}?property="
    by_property: dict[int, list[Booking]] = {}
    for booking in bookings:
        by_property.setdefault(booking.property_id, []).append(booking)
    marks_by_property: dict[int, list[CalendarMark]] = {}
    conflicted: set[int] = set()
    for mark in marks:
        marks_by_property.setdefault(mark.property_id, []).append(mark)
        conflicted.update(mark.booking_ids)
    free = free_nights(start, end)
    groups: list[Group] = []
    has_groups = any(p.group_id for p in properties)
    for prop in properties:
        name = prop.group.name if prop.group else ("Other properties" if has_groups else "")
        if not groups or groups[-1].name != name:
            groups.append(Group(name=name, rows=[]))
        groups[-1].rows.append(
            Row(
                property=prop,
                cells=booking_cells(
                    by_property.get(prop.pk, []), start, end, conflicted, detail, free
                ),
                mark_lanes=mark_lanes(marks_by_property.get(prop.pk, []), start, end),
                today=today,
                link=f"{bookings_link}{prop.pk}",
            )
        )
    return groups


def days_of(start: date, end: date, today: date) -> list[Day]:
    return [
        Day(date=day, weekend=day.weekday() >= 5, today=day == today)
        for day in nights_between(start, end)
    ]
