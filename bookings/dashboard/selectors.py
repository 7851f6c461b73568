"""Reads behind the bookings pages of the dashboard. Every function takes the business
first, and the member's `scope` (properties.permissions.Scope: a group manager sees
their groups' properties only), and answers in a constant number of queries, however
many properties, days or bookings are shown."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import F, Prefetch, Q, QuerySet
from django.db.models.expressions import RawSQL
from psycopg.types.range import Range

from bookings.models import Booking
from bookings.payments.models import Payment, Refund
from bookings.payments.services.balance import amount_due
from bookings.payments.services.refunds import refundable
from bookings.rules import PARTNER_SOURCES
from bookings.selectors import booking_list, calendar_rows
from properties.dashboard.reads import (
    attach,
    raw_first_with_total,
    scope_sql,
    with_related,
)
from properties.dashboard.registry import exists_sql
from properties.models import Business, Property
from properties.permissions import Scope

WHOLE = None  # no scope given: the whole business (platform jobs, tests)


def _scoped(qs: QuerySet[Any], scope: Scope | None, via: str = "property") -> QuerySet[Any]:
    return qs if scope is None else scope.apply(qs, via=via)


def calendar_properties(
    *,
    business: Business,
    scope: Scope | None = WHOLE,
    group_id: int | None = None,
    ungrouped: bool = False,
    names_only: bool = False,
) -> list[Property]:
    """Every property (of one group, or of none, when asked) with its group: grouped
    ones first by group name, then the rest. `names_only`: read no more than a list
    of them shows (id, name, group), for a page that only lists them: a hotel's 400
    rooms read whole took longer than the calendar's bookings."""
    qs = _scoped(Property.objects.for_business(business), scope, via="")
    if group_id is not None:
        qs = qs.filter(group_id=group_id)
    elif ungrouped:
        qs = qs.filter(group__isnull=True)
    if names_only:
        qs = qs.only(*NAMES)
    return list(
        qs.select_related("group").order_by(F("group__name").asc(nulls_last=True), "name", "id")
    )


# What a list of properties shows: a row's head, a select's options.
NAMES = ("id", "business_id", "group_id", "name", "group__id", "group__name")


def calendar_bookings(
    *,
    business: Business,
    start: date,
    end: date,
    now: datetime | None = None,
    property_ids: list[int] | None = None,
) -> list[Booking]:
    """Active stays, holds and blocks over any night of [start, end) (of the given
    properties, when asked). One query.

    Asked property by property (`property IN (...)`), so that PostgreSQL walks the
    (property, stay) GiST index once per property: asked by business alone, it scanned
    that index for the month of every business (38,000 rows at 8,000 properties) and
    ran 100x slower."""
    qs = Booking.objects.filter(business=business)
    if property_ids is not None:
        qs = qs.filter(property_id__in=property_ids)
    else:
        qs = qs.filter(property__in=Property.objects.for_business(business).values("pk"))
    return calendar_rows(qs, start=start, end=end, now=now)


def _stays(business: Business, scope: Scope | None) -> QuerySet[Booking]:
    # The property's business too: PostgreSQL then joins the business's properties
    # (and looks each one's stay up in the (property, stay) index) instead of hashing
    # every property of every business.
    return _scoped(
        Booking.objects.filter(
            business=business,
            property__business=business,
            kind=Booking.Kind.STAY,
            status=Booking.Status.CONFIRMED,
        ),
        scope,
    ).select_related("property")


@dataclass(frozen=True)
class StaysAround:
    """Confirmed guest stays on a day: arriving, leaving, and in the house (arrived
    before the day, leaving after it)."""

    arriving: list[Booking]
    departing: list[Booking]
    in_house: list[Booking]


def stays_around(*, business: Business, day: date, scope: Scope | None = WHOLE) -> StaysAround:
    """Today's three lists in one query: the confirmed stays (of `scope`) over the
    night before `day` or the night of `day`, which the (property, stay) index answers
    property by property, so the cost does not grow with the bookings stored."""
    in_scope, params = scope_sql(scope, "p.group_id")
    # The property's business too: PostgreSQL then joins the business's properties
    # (and looks each one's stay up in the (property, stay) index) instead of hashing
    # every property of every business. Only the columns the panels show
    # (properties.dashboard.reads on why in SQL).
    sql = f"""
        SELECT b.id, b.reference, b.business_id, b.property_id, b.stay, b.status, b.kind,
               b.source, b.guest_name, b.guests,
               p.id AS p_id, p.business_id AS p_business_id, p.group_id AS p_group_id,
               p.name AS p_name, p.timezone AS p_timezone,
               p.check_in_time AS p_check_in_time, p.check_out_time AS p_check_out_time
        FROM bookings_booking b
        JOIN properties_property p ON p.id = b.property_id
        WHERE b.business_id = %(business)s::bigint AND p.business_id = %(business)s::bigint
          AND b.kind = %(stay)s AND b.status = %(confirmed)s
          AND b.stay && daterange(%(first)s, %(last)s, '[)') AND {in_scope}"""  # noqa: S608 (constant fragments; the values are parameters)
    values = {
        "business": business.pk,
        "stay": Booking.Kind.STAY,
        "confirmed": Booking.Status.CONFIRMED,
        "first": day - timedelta(days=1),
        "last": day + timedelta(days=1),
        **params,
    }
    rows = list(Booking.objects.raw(sql, values))
    with_related(rows, "property", Property, prefix="p_")
    for row in rows:
        attach(row.property, "business", business)  # the key codes need its time zone
    by_name = sorted(rows, key=lambda b: (b.property.name, b.pk))
    return StaysAround(
        arriving=[b for b in by_name if b.check_in == day],
        departing=[b for b in by_name if b.check_out == day],
        in_house=sorted(
            (b for b in rows if b.check_in < day < b.check_out),
            key=lambda b: (b.check_in, b.check_out, b.property.name, b.pk),
        ),
    )


def next_arrival(*, business: Business, after: date, scope: Scope | None = WHOLE) -> Booking | None:
    return _stays(business, scope).filter(stay__startswith__gt=after).order_by("stay").first()


def refunds_refused(
    *, business: Business, limit: int = 5, scope: Scope | None = WHOLE
) -> tuple[list[Any], int]:
    """Refunds the gateway refused (they need the owner: retry at the gateway, or
    contact the guest), newest first, with how many there are in all. For Today: only
    the columns its panel shows, and the stay's as `guest_name`, `reference` and
    `property_name` (properties.dashboard.reads on why in SQL)."""
    in_scope, params = scope_sql(scope, "p.group_id")
    sql = f"""
        SELECT r.id, r.amount, r.currency, r.error, r.created_at, r.booking_id,
               b.guest_name, b.reference, p.name AS property_name,
               COUNT(*) OVER () AS _total
        FROM bookings_refund r
        JOIN bookings_booking b ON b.id = r.booking_id
        JOIN properties_property p ON p.id = b.property_id
        WHERE r.business_id = %(business)s::bigint AND r.status = %(failed)s AND {in_scope}
        ORDER BY r.created_at DESC
        LIMIT %(limit)s"""  # noqa: S608 (constant fragments; the values are parameters)
    values = {"business": business.pk, "failed": Refund.Status.FAILED, **params}
    return raw_first_with_total(Refund, sql, values, limit)


def has_stripe_account(*, business: Business) -> RawSQL:
    """A question the setup steps ask with the others, in one query. Done once the
    account takes card payments."""
    return exists_sql(
        "SELECT FROM bookings_stripeaccount WHERE business_id = %s AND charges_enabled",
        [business.pk],
    )


# --- The bookings list ------------------------------------------------------------------

WHEN_CHOICES = (
    ("upcoming", "Upcoming and current"),
    ("past", "Past"),
    ("all", "All dates"),
)


def booking_search(
    *,
    business: Business,
    today: date,
    query: str = "",
    filters: dict[str, Any] | None = None,
    scope: Scope | None = WHOLE,
) -> QuerySet[Booking]:
    """Bookings and blocks matching a search (reference, guest name or email) and the
    filters of `bookings.selectors.booking_list`, plus `group` (a group's id, or
    "none" for the properties in none) and `when`: upcoming (not yet
    checked out; soonest first), past (newest first) or all. Expired holds (abandoned
    checkouts) only when asked for by status."""
    qs, when = _matching(business, query, filters, scope)
    # The property's business too: the page joins each row's property, and PostgreSQL
    # then reads the business's properties instead of hashing all of them.
    return _dated(qs.filter(property__business=business), when, today)


def _dated(qs: QuerySet[Booking], when: str, today: date) -> QuerySet[Booking]:
    if when == "upcoming":
        return qs.filter(stay__endswith__gte=today).order_by("stay", "id")
    if when == "past":
        # Past stays began before today too: the (business, stay) index starts there.
        return qs.filter(stay__endswith__lt=today, stay__lt=_from(today)).order_by("-stay", "-id")
    return qs.order_by("-stay", "-id")


def booking_pages(
    *,
    business: Business,
    today: date,
    cap: int,
    query: str = "",
    filters: dict[str, Any] | None = None,
    scope: Scope | None = WHOLE,
) -> UpcomingFirst | Counted:
    """`booking_search` as the bookings page reads it, a page at a time and counted no
    further than `cap` + 1: the upcoming list as `UpcomingFirst`, any other as
    `Counted`."""
    matching, when = _matching(business, query, filters, scope)
    if when == "upcoming":
        return upcoming_first(
            business=business, today=today, cap=cap, query=query, filters=filters, scope=scope
        )
    listed = booking_search(
        business=business, today=today, query=query, filters=filters, scope=scope
    )
    return Counted(listed, _dated(matching, when, today), cap)


class Counted:
    """A search's rows for the bookings page, counted without the join to each row's
    property: for a count PostgreSQL hashed a chain's 32,000 properties in each of its
    workers, which took longer than matching the bookings."""

    ordered = True

    def __init__(self, rows: QuerySet[Booking], counted: QuerySet[Booking], cap: int) -> None:
        self.rows, self.counted, self.cap = rows, counted, cap

    def count(self) -> int:
        return int(self.counted.order_by()[: self.cap + 1].count())

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, part: slice) -> list[Booking]:
        if not isinstance(part, slice):
            raise TypeError("Counted takes a slice")
        return list(self.rows[part])


def upcoming_first(
    *,
    business: Business,
    today: date,
    cap: int,
    query: str = "",
    filters: dict[str, Any] | None = None,
    scope: Scope | None = WHOLE,
) -> UpcomingFirst:
    """`booking_search(when="upcoming")` as the bookings page reads it (see
    `UpcomingFirst`)."""
    filters = {**(filters or {}), "when": "upcoming"}
    ranked, _ = _matching(business, query, filters, scope)
    upcoming = booking_search(
        business=business, today=today, query=query, filters=filters, scope=scope
    )
    return UpcomingFirst(upcoming, today, cap, ranked=ranked.filter(stay__endswith__gte=today))


def _matching(
    business: Business, query: str, filters: dict[str, Any] | None, scope: Scope | None
) -> tuple[QuerySet[Booking], str]:
    """The search's bookings in no order, and which dates it asks for (`when`)."""
    filters = dict(filters or {})
    when = filters.pop("when", "") or "upcoming"
    group = filters.pop("group", "") or ""
    qs = _scoped(booking_list(business=business, filters=filters), scope)
    if group == "none":
        qs = qs.filter(property__group__isnull=True)
    elif group.isdigit():
        qs = qs.filter(property__group_id=int(group))
    if not filters.get("status"):
        qs = qs.exclude(status=Booking.Status.EXPIRED)
    query = query.strip()
    if query:
        qs = qs.filter(
            Q(reference__icontains=query)
            | Q(guest_name__icontains=query)
            | Q(guest_email__icontains=query)
        )
    if filters.get("start") or filters.get("end"):
        when = "all"
    return qs.order_by(), when


def _from(day: date) -> Range[date]:
    """In the order of ranges, the stays from `day` on sort at or after this one."""
    return Range(day, day + timedelta(days=1), "[)")


class UpcomingFirst:
    """The upcoming list (`booking_search(when="upcoming")`) for the bookings page, in
    two parts: the stays under way (over last night) come first in the list's order,
    then the ones from today on, which the (business, stay, id) btree hands over in
    order, a page at a time. As one query PostgreSQL sorted every upcoming stay of the
    business to show the first 50: a chain's million took seconds.

    The stays under way are one a room at most, but a chain's 22,000 rows scattered over
    the table took 400 ms to read and sort. They are ranked on the (business, stay) GiST
    index alone (it carries id, property and status: an index-only scan), from `ranked`,
    the same search without the join to each row's property, and only the page's rows
    are read whole.

    Sliced and counted like a queryset (for `Paginator`), in the same four queries on
    every page (two counts, the page's rows of each part); `count` goes no further
    than `cap` + 1."""

    ordered = True

    def __init__(
        self,
        upcoming: QuerySet[Booking],
        today: date,
        cap: int,
        ranked: QuerySet[Booking] | None = None,
    ) -> None:
        self.cap = cap
        self._under_way: int | None = None  # counted by `count`, up to the cap
        # Ordered by the range's bounds, which is the order of `stay`, but not through
        # the btree: walked in order from the oldest stay, it read the whole history
        # before reaching the ones under way.
        in_order = (F("stay__startswith"), F("stay__endswith"), "id")
        under_way = Q(stay__contains=today - timedelta(days=1))
        self.current = upcoming.filter(under_way).order_by(*in_order)
        ranked = upcoming if ranked is None else ranked
        self.ranked = ranked.filter(under_way).order_by(*in_order)
        self.rows = upcoming.model.objects.select_related("property").order_by(*in_order)
        self.coming = upcoming.filter(stay__gte=_from(today))
        self.ranked_coming = ranked.filter(stay__gte=_from(today))

    def count(self) -> int:
        # Counted on the (business, stay, id) btree alone (it carries status and
        # property too): read from the table, the 10,000 rows took 30 ms.
        coming = self.ranked_coming.order_by()[: self.cap + 1].count()
        # The stays under way, up to the cap: the page's slice needs them too.
        self._under_way = self.ranked.order_by()[: self.cap + 1].count()
        return min(self.cap + 1, self._under_way + coming)

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, part: slice) -> list[Booking]:
        if not isinstance(part, slice) or part.step is not None or part.stop is None:
            raise TypeError("UpcomingFirst takes a plain slice")
        start, stop = part.start or 0, part.stop
        # The stays under way, up to the page's end: as `count` found them (a
        # paginator counts first), else counted.
        if self._under_way is not None and stop <= self.cap + 1:
            under_way = min(self._under_way, stop)
        else:
            under_way = self.ranked.order_by()[:stop].count()
        # Each part is asked for at least one row, so that every page costs the same
        # queries; the extra row is dropped.
        first = min(start, under_way)
        page = self.ranked.values("id")[first : max(min(stop, under_way), first + 1)]
        rows = list(self.rows.filter(id__in=page))
        rows = rows[: max(0, min(stop, under_way) - start)]
        after = max(0, start - under_way)
        wanted = (stop - start) - len(rows)
        more = list(self.coming[after : after + max(wanted, 1)])
        return rows + more[:wanted]


# --- One booking ------------------------------------------------------------------------


def booking_detail(
    *, business: Business, reference: str, scope: Scope | None = WHOLE
) -> Booking | None:
    """A booking of this business (in the member's scope) by reference, with its
    payments and refunds."""
    return (
        _scoped(Booking.objects.filter(business=business, reference=reference.upper()), scope)
        .select_related("property", "property__business", "guest_user")
        .prefetch_related(
            Prefetch("payments", queryset=Payment.objects.order_by("created_at")),
            Prefetch("refunds", queryset=Refund.objects.order_by("created_at")),
        )
        .first()
    )


def stay_actions(booking: Booking, lock_reason: str) -> dict[str, Any]:
    """Which of these actions the booking page offers, and the amounts they start from
    (permissions are the caller's: every action needs `bookings.manage`)."""
    open_stay = (
        not lock_reason and not booking.is_block and booking.status == Booking.Status.CONFIRMED
    )
    refundable_now = refundable(booking=booking) if not lock_reason else Decimal(0)
    due = amount_due(booking) if not lock_reason else Decimal(0)
    return {
        "can_change_dates": open_stay,
        "can_refund": not lock_reason and not booking.is_block and refundable_now > 0,
        "can_record_payment": open_stay and due > 0,
        "refundable": refundable_now,
        "due": due,
    }


def partner_lock_reason(booking: Booking) -> str:
    """Why the owner cannot change this booking here, or "" when they can."""
    label = booking.get_source_display()
    if booking.source == Booking.Source.ICAL:
        return (
            "Imported from a partner's iCal feed: it follows that calendar. Free the dates "
            "on the partner's side and the next fetch removes it here."
        )
    if booking.source in PARTNER_SOURCES:
        return (
            f"Made on {label}: change or cancel it on {label}. Holidesk applies the change "
            f"as soon as {label} sends it, so both calendars stay the same."
        )
    return ""


@dataclass(frozen=True)
class PriceLine:
    label: str
    amount: str


def price_lines(booking: Booking) -> list[PriceLine]:
    """The stored breakdown as table rows (partner stays carry only their total)."""
    lines = (booking.price_breakdown or {}).get("lines") or []
    return [
        PriceLine(label=str(line.get("label", "")), amount=str(line.get("amount", "")))
        for line in lines
        if isinstance(line, dict)
    ]


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(month: date, step: int) -> date:
    index = month.year * 12 + month.month - 1 + step
    return date(index // 12, index % 12 + 1, 1)


def month_end(month: date) -> date:
    return add_months(month, 1)


def nights_between(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days)]
