"""Occupancy, nights sold, revenue, ADR and RevPAR: reads for the owner's reports.

What is counted (docs/dashboard.md says the same to owners):

- a night is *sold* when a confirmed guest stay covers it; holds, cancelled and expired
  bookings count for nothing;
- a night is *blocked* when a confirmed block covers it (owner use, maintenance, a
  partner's block or an imported iCal event). Blocked nights are not for sale, so they
  are taken out of the nights a report can sell: *bookable* = every night of every
  property in the period, less the blocked ones;
- *revenue* is a stay's total (what the guest pays: nights, fees and taxes), spread
  evenly over its nights, so a stay across two months counts in each for its nights
  there. Stays in another currency than the business's count as sold nights but not as
  revenue (there is no exchange rate to use); `unpriced_nights` says how many;
- occupancy = sold / bookable; ADR = revenue / sold nights with revenue;
  RevPAR = revenue / bookable.

Everything is computed by PostgreSQL in one query, whatever the number of properties
and bookings: each confirmed row overlapping the period is clipped to each month it
touches (`upper(stay * month) - lower(stay * month)` nights), then summed under
GROUPING SETS for the month x source, property x month, source and property views.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import QuerySet

from bookings.models import Booking
from properties.models import Business, Property
from properties.money import round_money
from properties.permissions import Scope

# How far one report reaches: three years of months.
MAX_MONTHS = 36


def add_months(month: date, step: int) -> date:
    index = month.year * 12 + month.month - 1 + step
    return date(index // 12, index % 12 + 1, 1)


def months_between(start: date, end: date) -> list[date]:
    """First days of the months of [start, end); both are first days of months."""
    months = []
    month = start
    while month < end:
        months.append(month)
        month = add_months(month, 1)
    return months


def days_in(month: date) -> int:
    return (add_months(month, 1) - month).days


@dataclass
class Figures:
    """One line of a report: its nights and money, and the ratios made from them."""

    currency: str
    available: int = 0
    blocked: int = 0
    sold: int = 0
    unpriced: int = 0
    stays: int = 0
    # Unrounded: lines are added up before anything is rounded.
    revenue_exact: Decimal = field(default_factory=Decimal)

    def add(self, other: Figures) -> None:
        self.available += other.available
        self.blocked += other.blocked
        self.sold += other.sold
        self.unpriced += other.unpriced
        self.stays += other.stays
        self.revenue_exact += other.revenue_exact

    @property
    def bookable(self) -> int:
        return max(self.available - self.blocked, 0)

    @property
    def revenue(self) -> Decimal:
        return round_money(self.revenue_exact, self.currency)

    @property
    def occupancy(self) -> Decimal | None:
        """Sold / bookable, a fraction; None when nothing was bookable."""
        if self.bookable <= 0:
            return None
        return Decimal(self.sold) / Decimal(self.bookable)

    @property
    def occupancy_percent(self) -> Decimal | None:
        if self.occupancy is None:
            return None
        return (self.occupancy * 100).quantize(Decimal("0.1"))

    @property
    def adr(self) -> Decimal | None:
        """Average daily rate: revenue per sold night that has revenue."""
        priced = self.sold - self.unpriced
        if priced <= 0:
            return None
        return round_money(self.revenue_exact / priced, self.currency)

    @property
    def revpar(self) -> Decimal | None:
        """Revenue per bookable night."""
        if self.bookable <= 0:
            return None
        return round_money(self.revenue_exact / self.bookable, self.currency)


@dataclass
class Report:
    business: Business
    start: date  # first day of the first month
    end: date  # first day of the month after the last
    currency: str
    properties: list[Property]
    months: list[date]
    total: Figures
    by_month: dict[date, Figures]
    by_property: dict[int, Figures]
    by_property_month: dict[tuple[int, date], Figures]
    # Sources in the order of their revenue, then nights sold and blocked.
    by_source: dict[str, Figures]
    by_month_source: dict[tuple[date, str], Figures]

    @property
    def sources(self) -> list[str]:
        return list(self.by_source)


# The grain a row of the query belongs to, from GROUPING(month, property_id, source):
# a bit is set where that column was rolled up.
_MONTH_SOURCE = 0b010
_PROPERTY_MONTH = 0b001
_SOURCE = 0b110
_PROPERTY = 0b101
_TOTAL = 0b111

_FACTS_SQL = """
WITH b AS ({base}),
months AS (
    SELECT m::date AS month, (m + interval '1 month')::date AS month_end
    FROM generate_series(%s::date, %s::date, interval '1 month') AS m
),
parts AS (
    SELECT b.id,
           b.property_id,
           b.source,
           b.kind <> %s AS is_block,
           b.currency = %s AS priced,
           b.total,
           m.month,
           upper(b.stay * daterange(m.month, m.month_end))
               - lower(b.stay * daterange(m.month, m.month_end)) AS nights,
           upper(b.stay) - lower(b.stay) AS stay_nights
    FROM b
    JOIN months m ON b.stay && daterange(m.month, m.month_end)
)
SELECT GROUPING(month, property_id, source) AS grain,
       month,
       property_id,
       source,
       is_block,
       SUM(nights) AS nights,
       SUM(CASE WHEN NOT is_block AND priced THEN total * nights / stay_nights ELSE 0 END)
           AS revenue,
       SUM(CASE WHEN NOT is_block AND NOT priced THEN nights ELSE 0 END) AS unpriced,
       COUNT(DISTINCT id) AS bookings
FROM parts
GROUP BY GROUPING SETS (
    (is_block, month, source),
    (is_block, property_id, month),
    (is_block, source),
    (is_block, property_id),
    (is_block)
)
"""


def _facts(
    *,
    business: Business,
    start: date,
    end: date,
    property_id: int | None,
    scope: Scope | None = None,
) -> list[tuple[Any, ...]]:
    base = (
        Booking.objects.filter(business=business, status=Booking.Status.CONFIRMED)
        .overlapping(start, end)
        .order_by()
        .values("id", "property_id", "source", "kind", "stay", "total", "currency")
    )
    if property_id is not None:
        base = base.filter(property_id=property_id)
    if scope is not None:
        base = scope.apply(base)
    base_sql, base_params = base.query.sql_with_params()
    sql = _FACTS_SQL.format(base=base_sql)
    last_month = add_months(end, -1)
    params = [*base_params, start, last_month, Booking.Kind.STAY, business.currency]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def occupancy_report(
    *,
    business: Business,
    start: date,
    end: date,
    property: Property | None = None,
    scope: Scope | None = None,
) -> Report:
    """The report of whole months [start, end) for every property of the business in
    the member's scope (or one). Two queries: the properties, and the facts."""
    if start.day != 1 or end.day != 1 or end <= start:
        raise ValueError("A report covers whole months: start and end are first days.")
    months = months_between(start, end)
    if len(months) > MAX_MONTHS:
        raise ValueError(f"A report covers at most {MAX_MONTHS} months.")
    currency = business.currency
    if property is not None:
        properties = [property]
    else:
        props: QuerySet[Property] = Property.objects.for_business(business)
        if scope is not None:
            props = scope.properties(props)
        properties = list(props.order_by("name", "id"))

    def figures(available: int = 0) -> Figures:
        return Figures(currency=currency, available=available)

    total = figures(sum(days_in(m) for m in months) * len(properties))
    by_month = {m: figures(days_in(m) * len(properties)) for m in months}
    by_property = {p.pk: figures(sum(days_in(m) for m in months)) for p in properties}
    by_property_month = {(p.pk, m): figures(days_in(m)) for p in properties for m in months}
    by_source: dict[str, Figures] = defaultdict(figures)
    by_month_source: dict[tuple[date, str], Figures] = defaultdict(figures)

    rows = _facts(
        business=business,
        start=start,
        end=end,
        property_id=property.pk if property is not None else None,
        scope=scope,
    )
    for grain, month, property_id, source, is_block, nights, revenue, unpriced, count in rows:
        line = figures()
        if is_block:
            line.blocked = int(nights)
        else:
            line.sold = int(nights)
            line.unpriced = int(unpriced)
            line.stays = int(count)
            line.revenue_exact = Decimal(revenue)
        if grain == _MONTH_SOURCE:
            by_month[month].add(line)
            by_month_source[(month, source)].add(line)
        elif grain == _PROPERTY_MONTH and (property_id, month) in by_property_month:
            by_property_month[(property_id, month)].add(line)
        elif grain == _SOURCE:
            by_source[source].add(line)
        elif grain == _PROPERTY and property_id in by_property:
            by_property[property_id].add(line)
        elif grain == _TOTAL:
            total.add(line)
    ordered_sources = dict(
        sorted(
            by_source.items(),
            key=lambda item: (-item[1].revenue_exact, -item[1].sold, -item[1].blocked, item[0]),
        )
    )
    return Report(
        business=business,
        start=start,
        end=end,
        currency=currency,
        properties=properties,
        months=months,
        total=total,
        by_month=by_month,
        by_property=by_property,
        by_property_month=by_property_month,
        by_source=ordered_sources,
        by_month_source=dict(by_month_source),
    )
