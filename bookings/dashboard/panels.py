"""Today's panels from the bookings app: who arrives, leaves and stays, and refunds
the payment provider refused."""

from __future__ import annotations

from django.db.models.expressions import RawSQL
from django.urls import reverse

from bookings.dashboard.grid import source_label
from bookings.dashboard.selectors import (
    StaysAround,
    has_stripe_account,
    next_arrival,
    refunds_refused,
    stays_around,
)
from bookings.dashboard.slots import booking_facts
from bookings.models import Booking
from properties.dashboard.access import Acting
from properties.dashboard.registry import Badge, Item, Panel
from properties.dashboard.text import plural
from properties.models import Business
from properties.money import format_money


def _url(booking: Booking) -> str:
    return reverse("dashboard:booking-detail", args=[booking.reference])


def _around(acting: Acting) -> StaysAround:
    """Today's stays, read once for the three panels that list them."""

    def read() -> StaysAround:
        return stays_around(business=acting.business, day=acting.today, scope=acting.scope)

    around: StaysAround = acting.once("bookings.stays_around", read)
    return around


# A day panel lists this many stays; a hotel's day has more, and the panel says how many
# in all and links to the full list.
DAY_LIMIT = 12


def _facts(acting: Acting) -> dict[int, list[Badge]]:
    """Key codes and cleaners of the arrivals and guests in the house that the panels
    list, asked once for both. Departing guests need none: that is the next guest's
    story."""

    def read() -> dict[int, list[Badge]]:
        around = _around(acting)
        listed = [*around.arriving[:DAY_LIMIT], *around.in_house[:DAY_LIMIT]]
        return booking_facts(acting, listed)

    facts: dict[int, list[Badge]] = acting.once("bookings.stay_facts", read)
    return facts


def _items(acting: Acting, stays: list[Booking], meta: str) -> list[Item]:
    facts = _facts(acting) if meta != "out" else {}
    items = []
    for stay in stays[:DAY_LIMIT]:
        time = stay.property.check_in_time if meta == "in" else stay.property.check_out_time
        items.append(
            Item(
                title=stay.guest_name or "Guest",
                url=_url(stay),
                detail=(
                    f"{stay.property.name} · {plural(stay.nights, 'night')} · "
                    f"{plural(stay.guests, 'guest')} · until {stay.check_out:%a %-d %b}"
                    if meta != "out"
                    else f"{stay.property.name} · {plural(stay.nights, 'night')}"
                ),
                meta=(f"{'in' if meta == 'in' else 'out'} {time:%H:%M}" if meta != "stay" else ""),
                badges=(Badge(source_label(stay)), *facts.get(stay.pk, [])),
            )
        )
    return items


def _day_panel(acting: Acting, stays: list[Booking], meta: str, *, empty: str, more: str) -> Panel:
    """A day panel of `stays`: the first DAY_LIMIT, and beyond that how many there are
    and the calendar of the day, where every one of them is."""
    if len(stays) <= DAY_LIMIT:
        return Panel(items=_items(acting, stays, meta), empty=empty)
    calendar = reverse("dashboard:calendar") + f"?month={acting.today:%Y-%m}#today"
    return Panel(
        items=_items(acting, stays, meta),
        empty=empty,
        total=len(stays),
        more_url=calendar,
        more_label=more.format(n=len(stays)),
    )


def arrivals(acting: Acting) -> Panel:
    stays = _around(acting).arriving
    empty = "No arrivals today."
    if not stays:
        upcoming = next_arrival(business=acting.business, after=acting.today, scope=acting.scope)
        if upcoming:
            empty += (
                f" Next: {upcoming.guest_name or 'a guest'} at {upcoming.property.name} "
                f"on {upcoming.check_in:%a %-d %b}."
            )
    return _day_panel(acting, stays, "in", empty=empty, more="All {n} arrivals on the calendar")


def departures(acting: Acting) -> Panel:
    stays = _around(acting).departing
    return _day_panel(
        acting, stays, "out", empty="No departures today.", more="All {n} on the calendar"
    )


def in_house(acting: Acting) -> Panel:
    stays = _around(acting).in_house
    return _day_panel(
        acting,
        stays,
        "stay",
        empty="No guests in the house besides today's arrivals.",
        more="All {n} on the calendar",
    )


def refunds(acting: Acting) -> Panel:
    rows, total = refunds_refused(business=acting.business, scope=acting.scope)
    items = [
        Item(
            title=f"{format_money(r.amount, r.currency)} to {r.guest_name or 'a guest'}",
            url=reverse("dashboard:booking-detail", args=[r.reference]),
            detail=f"{r.reference} · {r.property_name} · {r.error or 'refused'}",
            meta=f"{r.created_at.astimezone(acting.business.tz):%-d %b}",
            badges=(Badge("Refund refused", "bad"),),
        )
        for r in rows
    ]
    return Panel(
        items=items,
        total=total,
        empty="No refused refunds.",
        more_url=reverse("admin:payments_refund_changelist") + "?status__exact=failed",
        more_label="All refused refunds",
    )


def stripe_connected(business: Business) -> RawSQL:
    return has_stripe_account(business=business)
