"""Reports: occupancy, nights, revenue, ADR and RevPAR by month, property and source,
drawn as charts each followed by its table, and each table as CSV.

The numbers come from `bookings.reports.occupancy_report` (two queries whatever the
size of the business); this module only picks the period and words the results.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.http import urlencode

from bookings.dashboard.report_charts import (
    Row,
    month_name,
    occupancy_chart,
    percent,
    property_chart,
    revenue_chart,
    source_chart,
    source_name,
)
from bookings.dashboard.selectors import calendar_properties
from bookings.reports import MAX_MONTHS, Figures, Report, add_months, occupancy_report
from properties.dashboard.access import Acting
from properties.dashboard.export import csv_cell
from properties.dashboard.views import render_page
from properties.models import Property

# --- The period ------------------------------------------------------------------------


class MonthField(forms.Field):
    """A month as `YYYY-MM` (what `<input type="month">` sends) -> its first day."""

    widget = forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"})
    default_error_messages = {"invalid": "Enter a month as YYYY-MM, e.g. 2026-07."}

    def to_python(self, value: Any) -> date | None:
        if value in (None, ""):
            return None
        if isinstance(value, date):
            return value.replace(day=1)
        try:
            year, month = (int(part) for part in str(value).strip().split("-"))
            if not 2000 <= year <= 2100:
                raise ValueError
            return date(year, month, 1)
        except ValueError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None

    def prepare_value(self, value: Any) -> Any:
        return f"{value:%Y-%m}" if isinstance(value, date) else value


class PeriodForm(forms.Form):
    start = MonthField(label="From", required=False)
    end = MonthField(label="To (included)", required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if isinstance(start, date) and isinstance(end, date):
            if end < start:
                self.add_error("end", "Pick a month after the first one.")
            elif (end.year - start.year) * 12 + end.month - start.month >= MAX_MONTHS:
                self.add_error("end", f"A report covers at most {MAX_MONTHS} months.")
        return data


@dataclass(frozen=True)
class Period:
    start: date  # first month
    end: date  # first day of the month after the last

    @property
    def last(self) -> date:
        return add_months(self.end, -1)

    @property
    def label(self) -> str:
        if self.start == self.last:
            return f"{self.start:%B %Y}"
        if self.start.year == self.last.year:
            return f"{self.start:%b}\u2013{self.last:%b %Y}"
        return f"{self.start:%b %Y}\u2013{self.last:%b %Y}"

    def params(self) -> dict[str, str]:
        return {"start": f"{self.start:%Y-%m}", "end": f"{self.last:%Y-%m}"}


def default_period(today: date) -> Period:
    """The last twelve months, this one included (its later nights are on the books)."""
    this_month = today.replace(day=1)
    return Period(start=add_months(this_month, -11), end=add_months(this_month, 1))


def presets(today: date) -> list[tuple[str, Period]]:
    this_month = today.replace(day=1)
    january = date(today.year, 1, 1)
    return [
        ("Last 12 months", default_period(today)),
        (f"{today.year}", Period(start=january, end=add_months(january, 12))),
        (f"{today.year - 1}", Period(start=add_months(january, -12), end=january)),
        ("Next 6 months", Period(start=this_month, end=add_months(this_month, 6))),
    ]


def _period(request: HttpRequest, acting: Acting) -> tuple[PeriodForm, Period, bool]:
    """The period asked for, or the default one; and whether the request was valid."""
    form = PeriodForm(request.GET or None)
    fallback = default_period(acting.today)
    if not form.is_bound:
        return PeriodForm(initial=fallback.params()), fallback, True
    if not form.is_valid():
        return form, fallback, False
    start = form.cleaned_data.get("start") or fallback.start
    last = form.cleaned_data.get("end") or add_months(start, 11)
    if last < start or (last.year - start.year) * 12 + last.month - start.month >= MAX_MONTHS:
        # Only one end was given and the default other end falls outside the limits.
        last = add_months(start, 11)
    period = Period(start=start, end=add_months(last, 1))
    # Shown as understood, with the other end filled in when only one was given.
    return PeriodForm(initial=period.params()), period, True


def _property(request: HttpRequest, properties: list[Property]) -> Property | None:
    """The one property asked for, or None for all. Another business's id (or a
    made-up one) is a 404, like any object of another business."""
    raw = request.GET.get("property", "")
    if not raw:
        return None
    try:
        wanted = int(raw)
    except ValueError:
        raise Http404("No such property.") from None
    for prop in properties:
        if prop.pk == wanted:
            return prop
    raise Http404("No such property.")


# --- Tables (shared by the page and the CSV) ---------------------------------------------


def month_rows(report: Report) -> list[Row]:
    return [Row(label=month_name(m), figures=report.by_month[m]) for m in report.months]


def property_rows(report: Report) -> list[Row]:
    return [Row(label=p.name, figures=report.by_property[p.pk]) for p in report.properties]


def source_rows(report: Report) -> list[Row]:
    total = report.total.revenue_exact
    return [
        Row(label=source_name(s), figures=f, key=s, share=_share(f.revenue_exact, total))
        for s, f in report.by_source.items()
    ]


@dataclass(frozen=True)
class HeatCell:
    text: str
    level: int  # 0-5, for the cell's shade; the text says the number


def heat_rows(report: Report) -> list[tuple[Property, list[HeatCell]]]:
    rows = []
    for prop in report.properties:
        cells = []
        for month in report.months:
            occupancy = report.by_property_month[(prop.pk, month)].occupancy_percent
            level = 0 if occupancy is None else min(int(occupancy // 20) + 1, 5)
            cells.append(HeatCell(text=percent(occupancy), level=level))
        rows.append((prop, cells))
    return rows


def _share(part: Decimal, whole: Decimal) -> str:
    if whole <= 0:
        return ""
    return str((part * 100 / whole).quantize(Decimal("0.1")))


def _metrics(f: Figures) -> list[Any]:
    return [
        f.available,
        f.blocked,
        f.bookable,
        f.sold,
        "" if f.occupancy_percent is None else f.occupancy_percent,
        f.revenue,
        "" if f.adr is None else f.adr,
        "" if f.revpar is None else f.revpar,
        f.currency,
    ]


METRIC_COLUMNS = [
    "nights_available",
    "nights_blocked",
    "nights_bookable",
    "nights_sold",
    "occupancy_percent",
    "revenue",
    "adr",
    "revpar",
    "currency",
]


def csv_table(report: Report, table: str) -> tuple[list[str], Iterable[list[Any]]]:
    if table == "months":
        return ["month", *METRIC_COLUMNS], (
            [f"{m:%Y-%m}", *_metrics(report.by_month[m])] for m in report.months
        )
    if table == "properties":
        return ["property", *METRIC_COLUMNS], (
            [p.name, *_metrics(report.by_property[p.pk])] for p in report.properties
        )
    if table == "property-months":
        return ["property", "month", *METRIC_COLUMNS], (
            [p.name, f"{m:%Y-%m}", *_metrics(report.by_property_month[(p.pk, m)])]
            for p in report.properties
            for m in report.months
        )
    if table == "sources":
        total = report.total.revenue_exact
        return [
            "source",
            "stays",
            "nights_sold",
            "nights_blocked",
            "revenue",
            "revenue_share_percent",
            "adr",
            "currency",
        ], (
            [
                source_name(s),
                f.stays,
                f.sold,
                f.blocked,
                f.revenue,
                _share(f.revenue_exact, total),
                "" if f.adr is None else f.adr,
                f.currency,
            ]
            for s, f in report.by_source.items()
        )
    if table == "month-sources":
        return ["month", "source", "nights_sold", "nights_blocked", "revenue", "currency"], (
            [f"{m:%Y-%m}", source_name(s), f.sold, f.blocked, f.revenue, f.currency]
            for m in report.months
            for s in report.sources
            if (f := report.by_month_source.get((m, s))) is not None
        )
    raise Http404("No such table.")


CSV_TABLES = ("months", "month-sources", "properties", "property-months", "sources")


# --- Pages -------------------------------------------------------------------------------


def _report(
    request: HttpRequest, acting: Acting
) -> tuple[PeriodForm, Period, Property | None, list[Property], Report | None, bool]:
    properties = calendar_properties(business=acting.business, scope=acting.scope)
    chosen = _property(request, properties)
    form, period, valid = _period(request, acting)
    report = None
    if properties:
        report = occupancy_report(
            business=acting.business,
            start=period.start,
            end=period.end,
            property=chosen,
            scope=acting.scope,
        )
    return form, period, chosen, properties, report, valid


def reports_page(request: HttpRequest, acting: Acting) -> HttpResponse:
    form, period, chosen, properties, report, valid = _report(request, acting)
    scope = {"property": str(chosen.pk)} if chosen else {}
    query = {**period.params(), **scope}
    context: dict[str, Any] = {
        "form": form,
        "period": period,
        "chosen": chosen,
        "properties": properties,
        "report": report,
        "presets": [
            (
                label,
                "?" + urlencode({**p.params(), **scope}),
                p == period,
            )
            for label, p in presets(acting.today)
        ],
        "csv": {
            table.replace("-", "_"): (
                f"{reverse('dashboard:reports-csv', args=[table])}?{urlencode(query)}"
            )
            for table in CSV_TABLES
        },
    }
    if report is not None:
        months = month_rows(report)
        props = property_rows(report)
        sources = source_rows(report)
        context.update(
            months=months,
            property_rows=props,
            source_rows=sources,
            heat=heat_rows(report),
            occupancy_chart=occupancy_chart(report, months),
            revenue_chart=revenue_chart(report, months),
            property_chart=property_chart(report, props) if chosen is None else None,
            source_chart=source_chart(report, sources) if sources else None,
            month_sources=[
                (
                    month_name(m),
                    [report.by_month_source.get((m, s)) for s in report.sources],
                    report.by_month[m],
                )
                for m in report.months
            ],
            source_names=[source_name(s) for s in report.sources],
        )
    status = 200 if valid else 400
    return render_page(request, acting, "dashboard/bookings/reports.html", context, status=status)


def reports_csv(request: HttpRequest, acting: Acting, table: str) -> HttpResponse:
    if table not in CSV_TABLES:
        raise Http404("No such table.")
    form, period, chosen, _, report, valid = _report(request, acting)
    if not valid:
        errors = "; ".join(
            f"{name}: {' '.join(str(m) for m in messages)}"
            for name, messages in form.errors.items()
        )
        return HttpResponse(errors, status=400, content_type="text/plain; charset=utf-8")
    header, lines = csv_table(report, table) if report is not None else ([], [])
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    writer = csv.writer(response)
    if header:
        writer.writerow(header)
    for line in lines:
        writer.writerow([csv_cell(value) for value in line])
    scope = f"-{chosen.slug}" if chosen else ""
    name = f"{acting.business.slug}{scope}-{table}-{period.start:%Y%m}-{period.last:%Y%m}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
