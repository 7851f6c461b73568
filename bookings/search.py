"""Search: which of a business's places are free for these dates and guests, with the
total for that stay. The visitor site's search page and the visitor API both read it.

One query plan, whatever the number of properties: availability is a `NOT EXISTS` over
the bookings' GiST-indexed stay ranges, every booking rule a stay must meet (guests,
minimum and maximum stay including the arrival night's seasonal minimum, advance
notice and booking horizon, each in the property's own time zone) is a condition on
the row, and an estimated total (nightly rates with seasonal prices, the length
discount, cleaning fee and tax) is computed beside it, so PostgreSQL filters, sorts and
paginates. The page's rows are then priced exactly by `bookings.pricing.quote` with
their seasonal rates prefetched in one more query: the number shown is the number
charged at checkout.

A large business (a hotel chain) gets `search_groups`: one row per hotel and room type
(a group of units with the same bedrooms and capacity), its free units counted and its
lowest total, from one aggregate query.
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
from properties.selectors import SearchFilters, search_filters

__all__ = ["SearchFilters", "search_filters"]

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
    lowest_total: Decimal


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


# Each property's "today" in its own zone (or the business's), from one instant.
_LOCAL_TODAY = "((%s::timestamptz AT TIME ZONE coalesce(nullif({t}.timezone, ''), %s))::date)"

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
    now = now or timezone.now()
    t = Property._meta.db_table
    ci, co, nights = search.check_in, search.check_out, search.nights
    taken = Booking.objects.active(now=now).filter(property=OuterRef("pk")).overlapping(ci, co)
    money = DecimalField(max_digits=14, decimal_places=4)
    if nights >= MONTH:
        discount: Any = F("monthly_discount_percent")
    elif nights >= WEEK:
        discount = F("weekly_discount_percent")
    else:
        discount = Value(Decimal(0))
    qs = (
        Property.objects.for_business(business)
        .filter(published=True, max_guests__gte=search.guests, max_nights__gte=nights)
        .annotate(
            min_stay=RawSQL(_MINIMUM.format(t=t), (ci, ci)),  # noqa: S611 (constant SQL)
            bookable=RawSQL(  # noqa: S611
                _BOOKABLE.format(t=t, today=_LOCAL_TODAY.format(t=t), reach=REACH_DAYS),
                (ci, now, business.timezone, co, now, business.timezone),
                output_field=BooleanField(),
            ),
        )
        .filter(min_stay__lte=nights, bookable=True)
        .filter(~Exists(taken))
    )
    if search.bedrooms:
        qs = qs.filter(bedrooms__gte=search.bedrooms)
    if search.group:
        qs = qs.filter(group_id=search.group)
    if not priced:
        return qs.order_by()
    nights_list = [ci + timedelta(days=i) for i in range(nights)]
    qs = qs.annotate(
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
    return qs.order_by(*SORTS[search.sort])


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


@dataclass(frozen=True)
class GroupsPage:
    """One page of `search_groups`, and the free units over every page."""

    page: Page[SearchGroup]
    free_units: int


def search_groups_page(
    *,
    business: Business,
    search: SearchQuery,
    page: int | str | None = 1,
    per_page: int = PAGE_SIZE,
    now: datetime | None = None,
) -> GroupsPage:
    """A page of hotels and room types: the aggregate is one query whatever the page
    (a row per hotel and room type, some hundreds for a chain), the page is cut here."""
    rows = search_groups(business=business, search=search, now=now)
    per_page = max(1, min(per_page, MAX_PAGE_SIZE))
    paginator: Paginator[SearchGroup] = Paginator(rows, per_page)
    return GroupsPage(page=paginator.get_page(page), free_units=sum(row.free_units for row in rows))
