"""The report's charts and the words around its numbers: each chart is described in
one sentence for screen readers, and the page puts its table right after it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from bookings.dashboard.grid import SOURCE_LABELS
from bookings.reports import Figures, Report
from properties.dashboard.charts import (
    BarChart,
    BarInput,
    ColumnChart,
    ColumnInput,
    bar_chart,
    column_chart,
)
from properties.money import format_money

# --- Words and numbers -----------------------------------------------------------------


def percent(value: Decimal | None) -> str:
    return "—" if value is None else f"{value}%"


def money_or_dash(amount: Decimal | None, currency: str) -> str:
    return "—" if amount is None else format_money(amount, currency)


def source_name(source: str) -> str:
    return SOURCE_LABELS.get(source, source.title())


def month_name(month: date) -> str:
    return f"{month:%b %Y}"


@dataclass(frozen=True)
class Row:
    label: str
    figures: Figures
    key: str = ""
    share: str = ""  # of the period's revenue, in percent


# --- Charts ------------------------------------------------------------------------------


def _extremes(rows: list[Row], value: Callable[[Figures], Decimal | None]) -> str:
    known = [(value(r.figures), r.label) for r in rows if value(r.figures) is not None]
    if len(known) < 2:
        return ""
    high = max(known, key=lambda item: item[0] or 0)
    low = min(known, key=lambda item: item[0] or 0)
    return f"highest in {high[1]} ({percent(high[0])}), lowest in {low[1]} ({percent(low[0])})"


def occupancy_chart(report: Report, months: list[Row]) -> ColumnChart:
    label_values = len(months) <= 12
    columns = [
        ColumnInput(
            label=f"{report.months[index]:%b}",
            sublabel=_year_label(report.months, index),
            parts=[
                (
                    "fill-accent",
                    row.figures.occupancy_percent or Decimal(0),
                    f"{row.label}: {percent(row.figures.occupancy_percent)}",
                )
            ],
            value_label=(
                f"{row.figures.occupancy_percent:.0f}%"
                if label_values and row.figures.occupancy_percent is not None
                else ""
            ),
        )
        for index, row in enumerate(months)
    ]
    extremes = _extremes(months, lambda f: f.occupancy_percent)
    overall = percent(report.total.occupancy_percent)
    description = f"Occupancy over the period: {overall}" + (f"; {extremes}." if extremes else ".")
    return column_chart(
        id="chart-occupancy",
        title="Occupancy by month",
        description=description,
        columns=columns,
        axis_label=lambda v: f"{v:.0f}%",
        top=Decimal(100),
    )


def _year_label(months: list[date], index: int) -> str:
    month = months[index]
    return str(month.year) if index == 0 or month.month == 1 else ""


def revenue_chart(report: Report, months: list[Row]) -> ColumnChart:
    currency = report.currency
    sources = [s for s in report.sources if report.by_source[s].revenue_exact > 0]
    columns = []
    for index, month in enumerate(report.months):
        parts = []
        for source in sources:
            figures = report.by_month_source.get((month, source))
            if figures is None or figures.revenue_exact <= 0:
                continue
            parts.append(
                (
                    f"fill-{source}",
                    figures.revenue_exact,
                    f"{source_name(source)}, {month_name(month)}: "
                    f"{format_money(figures.revenue, currency)}",
                )
            )
        columns.append(
            ColumnInput(
                label=f"{month:%b}", sublabel=_year_label(report.months, index), parts=parts
            )
        )
    best = max(months, key=lambda r: r.figures.revenue_exact, default=None)
    words = [f"Revenue over the period: {format_money(report.total.revenue, currency)}"]
    if best is not None and best.figures.revenue_exact > 0:
        words.append(f"highest in {best.label} ({format_money(best.figures.revenue, currency)})")
    if sources:
        top = report.by_source[sources[0]]
        words.append(
            f"largest source {source_name(sources[0])} ({format_money(top.revenue, currency)})"
        )
    return column_chart(
        id="chart-revenue",
        title="Revenue by month and source",
        description="; ".join(words) + ".",
        columns=columns,
        axis_label=lambda v: format_money(v, currency, whole=True),
        legend=[(f"fill-{s}", source_name(s)) for s in sources],
    )


def property_chart(report: Report, rows: list[Row]) -> BarChart:
    currency = report.currency
    bars = [
        BarInput(
            label=row.label,
            value=row.figures.occupancy_percent or Decimal(0),
            value_label=(
                f"{percent(row.figures.occupancy_percent)} · "
                f"{format_money(row.figures.revenue, currency, whole=True)}"
            ),
        )
        for row in rows
    ]
    ranked = sorted(
        (r for r in rows if r.figures.occupancy_percent is not None),
        key=lambda r: r.figures.occupancy_percent or 0,
    )
    if len(ranked) >= 2:
        description = (
            f"{ranked[-1].label} was the most occupied "
            f"({percent(ranked[-1].figures.occupancy_percent)}), {ranked[0].label} the least "
            f"({percent(ranked[0].figures.occupancy_percent)})."
        )
    elif ranked:
        description = f"{ranked[0].label}: {percent(ranked[0].figures.occupancy_percent)}."
    else:
        description = "No bookable nights in this period."
    return bar_chart(
        id="chart-properties",
        title="Occupancy by property",
        description=description,
        bars=bars,
        top=Decimal(100),
    )


def source_chart(report: Report, rows: list[Row]) -> BarChart:
    bars = [
        BarInput(
            label=row.label,
            value=Decimal(row.figures.sold),
            value_label=_nights_words(row.figures),
            css=f"fill-{row.key}",
        )
        for row in rows
    ]
    sold = report.total.sold
    top = max(rows, key=lambda r: r.figures.sold, default=None)
    if top is not None and top.figures.sold:
        description = f"{top.label} sold the most nights: {top.figures.sold} of {sold}."
    else:
        description = "No nights sold in this period."
    return bar_chart(
        id="chart-sources", title="Nights sold by source", description=description, bars=bars
    )


def _nights_words(figures: Figures) -> str:
    words = f"{figures.sold} sold"
    if figures.blocked:
        words += f" · {figures.blocked} blocked"
    return words
