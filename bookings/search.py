"""Search: which of a business's places are free for these dates and guests, with the
total for that stay. The visitor site's search page and the visitor API both read it.

One query plan, whatever the number of properties: availability is a `NOT EXISTS` over
the place's active stays (booking_property_stay_end_idx, read alone), every booking
rule a stay must meet (guests, minimum and maximum stay including the arrival night's
seasonal minimum, advance notice and booking horizon, each in the property's own time
zone) is a condition on the row, and an estimated total (nightly rates with seasonal
prices, the length discount, cleaning fee and tax) is computed beside it, so PostgreSQL
filters, sorts and paginates. The page's rows are then priced exactly by
`bookings.pricing.quote` with their seasonal rates prefetched in one more query: the
number shown is the number charged at checkout.

A business with hotels sees one row per hotel and room type (a hotel's units with the
same bedrooms and capacity), a page at a time (`search_groups_page`): the room types
are listed from an index without reading the rooms (`room_types`, in a stable order:
hotel name, bedrooms, capacity), paginated, and only the page's room types are checked
and priced (`room_types_priced`: its free units and lowest total, one aggregate query).
A room type with nothing bookable stays on its page, sold out, so the rows and the page
count do not depend on the dates, and the rooms checked are those of one page's room
types, however many the chain has.
`search_groups` is the whole chain in one aggregate, cheapest first (the visitor API's
`group_by=room_type`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import (
    BooleanField,
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    Window,
)
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from bookings.errors import BookingError, InvalidDates, TooManyGuests
from bookings.models import Booking
from bookings.pricing import MONTH, WEEK, Quote, quote
from bookings.rules import REACH_DAYS, stay_span_check
from properties.models import Business, Property, SeasonalRate
from properties.photos.selectors import prefetch_public_photos
from properties.selectors import RoomType, SearchFilters, room_types, search_filters

__all__ = ["RoomType", "SearchFilters", "room_types", "search_filters"]

SORTS = {
    "price": ("est_total", "name", "id"),
    "-price": ("-est_total", "name", "id"),
    "name": ("name", "id"),
    "-bedrooms": ("-bedrooms", "est_total", "id"),
}
SORT_LABELS = {
    "price": gettext_lazy("Lowest price"),
    "-price": gettext_lazy("Highest price"),
    "name": gettext_lazy("Name"),
    "-bedrooms": gettext_lazy("Most bedrooms"),
}
PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_GUESTS = 500


@dataclass(frozen=True)
class SearchQuery:
    check_in: date
    check_out: date
    guests: int = 1
    bedrooms: int = 0  # at least this many; 0 for any
    group: int | None = None  # one hotel (PropertyGroup id) of the business
    sort: str = "price"

    @property
    def nights(self) -> int:
        return (self.check_out - self.check_in).days

    def params(self) -> dict[str, str]:
        """The query string that names this search (and keeps the dates on a link)."""
        out = {
            "check_in": self.check_in.isoformat(),
            "check_out": self.check_out.isoformat(),
            "guests": str(self.guests),
        }
        if self.bedrooms:
            out["bedrooms"] = str(self.bedrooms)
        if self.group:
            out["group"] = str(self.group)
        if self.sort != "price":
            out["sort"] = self.sort
        return out


@dataclass(frozen=True)
class SearchResult:
    property: Property
    quote: Quote


@dataclass(frozen=True)
class SearchGroup:
    group_id: int | None
    group_name: str
    bedrooms: int
    max_guests: int
    free_units: int
    lowest_total: Decimal | None  # None when sold out

    @property
    def sold_out(self) -> bool:
        return self.free_units == 0


def search_query_check(
    *,
    business: Business,
    check_in: date,
    check_out: date,
    guests: int = 1,
    bedrooms: int = 0,
    group: int | None = None,
    sort: str = "price",
) -> SearchQuery:
    """The search, or the BookingError (400) naming what is wrong with it. The limits a
    single property adds (notice, horizon, stay length) filter results rather than
    refuse the search."""
    today = timezone.now().astimezone(business.tz).date()
    stay_span_check(check_in=check_in, check_out=check_out, today=today)
    if check_in < today:
        raise InvalidDates(
            gettext("Check-in cannot be in the past."), fields={"check_in": ["in the past"]}
        )
    if not 1 <= guests <= MAX_GUESTS:
        raise TooManyGuests(
            f"Guests must be between 1 and {MAX_GUESTS}.",
            fields={"guests": [f"between 1 and {MAX_GUESTS}"]},
        )
    if bedrooms < 0 or bedrooms > 100:
        raise InvalidDates(
            "Bedrooms must be between 0 and 100.", fields={"bedrooms": ["between 0 and 100"]}
        )
    if sort not in SORTS:
        raise InvalidDates(
            f"Sort must be one of {', '.join(SORTS)}.", fields={"sort": [f"one of {list(SORTS)}"]}
        )
    return SearchQuery(check_in, check_out, guests, bedrooms, group, sort)


# Each property's "today" in its own zone, or the business's today (computed once, here
# in Python) for the many that keep the business's zone: looking a zone up by name
# costs some 2 microseconds a row, and a hotel has hundreds of rooms.
_LOCAL_TODAY = (
    "(CASE WHEN {t}.timezone = '' THEN %s::date"
    " ELSE (%s::timestamptz AT TIME ZONE {t}.timezone)::date END)"
)

# The sum of each night's price: the seasonal rule that starts latest among those
# covering the night (bookings.pricing.rate_for), else the base price. The nights come
# as an array literal, so the planner knows their number (a generate_series is
# estimated at 1,000 rows, which prices the plan high enough to trigger JIT
# compilation: 200 ms for nothing).
_SUBTOTAL = """
(SELECT coalesce(sum(coalesce(
    (SELECT r.nightly_price FROM properties_seasonalrate r
     WHERE r.property_id = {t}.id AND r.start <= n.night AND n.night < r."end"
     ORDER BY r.start DESC, r.id DESC LIMIT 1),
    {t}.base_price)), 0)
 FROM unnest(%s::date[]) AS n(night))
"""

# The minimum stay for an arrival on check-in: the property's, or the arrival night's
# seasonal rule's when that is longer.
_MINIMUM = """
greatest({t}.min_nights, coalesce(
    (SELECT r.min_nights FROM properties_seasonalrate r
     WHERE r.property_id = {t}.id AND r.start <= %s::date AND %s::date < r."end"
     ORDER BY r.start DESC, r.id DESC LIMIT 1), 0))
"""


# Check-in no earlier than the property's advance notice allows, check-out within its
# booking horizon (bookings.pricing.check_rules, bookings.rules.horizon_end).
_BOOKABLE = """
(%s::date >= {today} + {t}.advance_notice_days
 AND %s::date <= {today} + least({t}.booking_horizon_days, {reach}))
"""


def _free_places(*, business: Business, search: SearchQuery, now: datetime) -> QuerySet[Property]:
    """The business's published places that sleep the party, allow the stay's length
    and are free for its dates, annotated with what `_rules` checks."""
    t = Property._meta.db_table
    ci, co, nights = search.check_in, search.check_out, search.nights
    # The stay's end after check-in is implied by the overlap; said, it lets the check
    # read booking_property_stay_end_idx alone.
    taken = (
        Booking.objects.active(now=now)
        .filter(property=OuterRef("pk"), stay__endswith__gt=ci)
        .overlapping(ci, co)
    )
    today = now.astimezone(business.tz).date()
    qs = (
        Property.objects.for_business(business)
        .filter(published=True, max_guests__gte=search.guests, max_nights__gte=nights)
        .annotate(
            min_stay=RawSQL(_MINIMUM.format(t=t), (ci, ci)),  # noqa: S611 (constant SQL)
            bookable=RawSQL(  # noqa: S611
                _BOOKABLE.format(t=t, today=_LOCAL_TODAY.format(t=t), reach=REACH_DAYS),
                (ci, today, now, co, today, now),
                output_field=BooleanField(),
            ),
        )
        .filter(~Exists(taken))
    )
    if search.bedrooms:
        qs = qs.filter(bedrooms__gte=search.bedrooms)
    if search.group:
        qs = qs.filter(group_id=search.group)
    return qs


def _rules(search: SearchQuery) -> Q:
    """The booking rules a free place must meet too: the minimum stay for the arrival
    night, advance notice and booking horizon."""
    return Q(min_stay__lte=search.nights, bookable=True)


def _with_total(qs: QuerySet[Property], search: SearchQuery) -> QuerySet[Property]:
    """`est_total`: the stay's estimated total, as `bookings.pricing.quote` computes it."""
    t = Property._meta.db_table
    nights = search.nights
    money = DecimalField(max_digits=14, decimal_places=4)
    if nights >= MONTH:
        discount: Any = F("monthly_discount_percent")
    elif nights >= WEEK:
        discount = F("weekly_discount_percent")
    else:
        discount = Value(Decimal(0))
    nights_list = [search.check_in + timedelta(days=i) for i in range(nights)]
    return qs.annotate(
        subtotal=RawSQL(_SUBTOTAL.format(t=t), (nights_list,), output_field=money),  # noqa: S611
    ).annotate(
        est_total=ExpressionWrapper(
            (F("subtotal") * (Value(Decimal(100)) - discount) / Value(Decimal(100)))
            + F("cleaning_fee"),
            output_field=money,
        )
        * (Value(Decimal(100)) + F("tax_percent"))
        / Value(Decimal(100)),
    )


def available_properties(
    *,
    business: Business,
    search: SearchQuery,
    now: datetime | None = None,
    priced: bool = True,
) -> QuerySet[Property]:
    """The business's published places that a guest could book for the search right
    now, annotated with `est_total` and sorted. Lazy: paginate it. Without `priced`,
    no total is computed (for counting)."""
    qs = _free_places(business=business, search=search, now=now or timezone.now()).filter(
        _rules(search)
    )
    if not priced:
        return qs.order_by()
    return _with_total(qs, search).order_by(*SORTS[search.sort])


def search_page(
    *,
    business: Business,
    search: SearchQuery,
    page: int | str | None = 1,
    per_page: int = PAGE_SIZE,
    now: datetime | None = None,
) -> tuple[Page[Property], list[SearchResult]]:
    """One page of results, each priced exactly. Queries: the page (with the count), the
    page's seasonal rates, its photos (and their renditions), whatever the business's
    size."""
    per_page = max(1, min(per_page, MAX_PAGE_SIZE))
    qs = (
        available_properties(business=business, search=search, now=now)
        .select_related("business", "group")
        .prefetch_related(
            Prefetch(
                "rates",
                queryset=SeasonalRate.objects.filter(
                    start__lt=search.check_out, end__gt=search.check_in
                ),
                to_attr="stay_rates",
            ),
            prefetch_public_photos(),
        )
    )
    try:
        number = max(1, int(page or 1))
    except (TypeError, ValueError):
        number = 1
    # The page's rows carry the number of all results (a window count over the same
    # plan), so no second pass over the availability is needed to count them.
    counted = qs.annotate(full_count=Window(Count("pk")))
    start = (number - 1) * per_page
    rows: list[Any] = list(counted[start : start + per_page])
    paginator: Paginator[Property] = Paginator(qs, per_page)
    if rows:
        paginator.__dict__["count"] = rows[0].full_count
        current = paginator.page(number)
        current.object_list = rows
    else:
        # Past the last page (or nothing free): count without prices, show the last.
        paginator.__dict__["count"] = available_properties(
            business=business, search=search, now=now, priced=False
        ).count()
        current = paginator.get_page(number)
    return current, priced(list(current.object_list), search)


def priced(props: Sequence[Property], search: SearchQuery) -> list[SearchResult]:
    results = []
    for prop in props:
        try:
            exact = quote(
                prop,
                search.check_in,
                search.check_out,
                search.guests,
                rates=getattr(prop, "stay_rates", None),
            )
        except BookingError:
            continue  # a rule the set-based filter does not model: not bookable
        results.append(SearchResult(property=prop, quote=exact))
    return results


def search_groups(
    *, business: Business, search: SearchQuery, now: datetime | None = None
) -> list[SearchGroup]:
    """Free units per hotel and room type (same group, bedrooms and capacity), cheapest
    first: one aggregate query over the same availability plan."""
    rows = (
        available_properties(business=business, search=search, now=now)
        .order_by()
        .values("group_id", "group__name", "bedrooms", "max_guests")
        .annotate(free_units=Count("id"), lowest_total=Min("est_total"))
        .order_by("lowest_total", "group__name", "bedrooms")
    )
    return [
        SearchGroup(
            group_id=row["group_id"],
            group_name=row["group__name"] or "",
            bedrooms=row["bedrooms"],
            max_guests=row["max_guests"],
            free_units=row["free_units"],
            lowest_total=row["lowest_total"],
        )
        for row in rows
    ]


def room_types_priced(
    *,
    business: Business,
    search: SearchQuery,
    kinds: Sequence[RoomType],
    now: datetime | None = None,
) -> list[SearchGroup]:
    """These room types for the search, in their order: the units free and bookable
    for the stay, and the lowest estimated total among them (a room type with none is
    sold out). One aggregate query over the availability plan, its rooms only."""
    if not kinds:
        return []
    # One row comparison (which property_room_type_idx answers) rather than a Q per room
    # type, which would cost more to build than the database takes to read the rooms.
    t = Property._meta.db_table
    chosen = RawSQL(  # noqa: S611 (placeholders only)
        f"(coalesce({t}.group_id, 0), {t}.bedrooms, {t}.max_guests) IN ("
        + ", ".join(["(%s, %s, %s)"] * len(kinds))
        + ")",
        [v for k in kinds for v in (k.group_id or 0, k.bedrooms, k.max_guests)],
        output_field=BooleanField(),
    )
    free = _free_places(business=business, search=search, now=now or timezone.now())
    # The rules filter the aggregate rather than the rooms, so that the rooms' table
    # is read and the free ones found first: the rules (a seasonal lookup a room) and
    # the totals are then worked out for the free rooms only.
    bookable = _rules(search)
    rows = (
        _with_total(free.filter(chosen), search)
        .order_by()
        .values("group_id", "bedrooms", "max_guests")
        .annotate(
            free_units=Count("id", filter=bookable),
            lowest_total=Min("est_total", filter=bookable),
        )
    )
    found: dict[tuple[int | None, int, int], Any] = {
        (row["group_id"], row["bedrooms"], row["max_guests"]): row for row in rows
    }
    priced_kinds = []
    for kind in kinds:
        row = found.get((kind.group_id, kind.bedrooms, kind.max_guests))
        priced_kinds.append(
            SearchGroup(
                group_id=kind.group_id,
                group_name=kind.group_name,
                bedrooms=kind.bedrooms,
                max_guests=kind.max_guests,
                free_units=row["free_units"] if row else 0,
                lowest_total=row["lowest_total"] if row and row["free_units"] else None,
            )
        )
    return priced_kinds


def search_groups_page(
    *,
    business: Business,
    search: SearchQuery,
    page: int | str | None = 1,
    per_page: int = PAGE_SIZE,
    now: datetime | None = None,
    kinds: Sequence[RoomType] | None = None,
) -> Page[SearchGroup]:
    """A page of the room types that sleep the party (`page.paginator.count` in all,
    whatever the dates), the page's rows checked and priced, sold-out ones included.
    `kinds`: the business's room types when the caller has them (`search_filters`).
    Two queries, one with `kinds`, whatever the page and the size of the chain."""
    if kinds is None:
        kinds = room_types(business=business)
    fitting = [
        kind
        for kind in kinds
        if kind.max_guests >= search.guests
        and kind.bedrooms >= search.bedrooms
        and (not search.group or kind.group_id == search.group)
    ]
    per_page = max(1, min(per_page, MAX_PAGE_SIZE))
    paginator: Paginator[RoomType] = Paginator(fitting, per_page)
    current: Page[Any] = paginator.get_page(page)
    current.object_list = room_types_priced(
        business=business, search=search, kinds=list(current.object_list), now=now
    )
    return current
