"""Free nights across a whole business, set-based: what is left to sell.

`bookings.selectors.free_gaps` walks one property's calendar in Python; this asks
PostgreSQL for every property at once. Each property's window is cut to what a guest
could book now (its advance notice and booking horizon); the nights taken are the
union (`range_agg`) of its active stays, holds and blocks, and the free runs are the
window minus that union, as a multirange unnested into ranges.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db import connection

from bookings.models import Booking
from properties.models import Business, Property


@dataclass(frozen=True)
class FreeRun:
    property_id: int
    free_from: date  # first free night
    free_until: date  # the day after the last free night (a check-out day)

    @property
    def nights(self) -> int:
        return (self.free_until - self.free_from).days


_RUNS_SQL = """
WITH taken AS ({taken}),
props AS ({props}),
windows AS (
    SELECT p.id,
           p.min_nights,
           greatest(%s::date, %s::date + p.advance_notice_days) AS first_night,
           least(%s::date, %s::date + p.booking_horizon_days) AS last_day
    FROM props p
),
busy AS (
    SELECT t.property_id, range_agg(t.stay) AS nights FROM taken t GROUP BY t.property_id
)
SELECT w.id, lower(r.run), upper(r.run)
FROM windows w
LEFT JOIN busy b ON b.property_id = w.id
CROSS JOIN LATERAL unnest(
    datemultirange(daterange(w.first_night, w.last_day))
    - coalesce(b.nights, '{{}}'::datemultirange)
) AS r(run)
WHERE w.first_night < w.last_day
  AND upper(r.run) - lower(r.run) >= greatest(w.min_nights, %s)
ORDER BY w.id, lower(r.run)
"""


def free_runs(
    *,
    business: Business,
    today: date,
    until: date,
    min_nights: int = 1,
    now: datetime | None = None,
) -> list[FreeRun]:
    """Every run of free nights between `today` and `until` (a check-out day) on each
    property of the business, as long as the property's minimum stay and `min_nights`
    at least, that a guest could book today. One query, whatever the number of
    properties and bookings."""
    taken = (
        Booking.objects.filter(business=business)
        .active(now=now)
        .overlapping(today, until)
        .order_by()
        .values("property_id", "stay")
    )
    props = (
        Property.objects.for_business(business)
        .order_by()
        .values("id", "min_nights", "advance_notice_days", "booking_horizon_days")
    )
    taken_sql, taken_params = taken.query.sql_with_params()
    props_sql, props_params = props.query.sql_with_params()
    sql = _RUNS_SQL.format(taken=taken_sql, props=props_sql)
    params = [*taken_params, *props_params, today, today, until, today, max(min_nights, 1)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [FreeRun(property_id=pid, free_from=a, free_until=b) for pid, a, b in cursor]
