"""Today's panels from the bookings app: who arrives, leaves and stays, and refunds
the payment provider refused."""

from __future__ import annotations

from django.db.models import Q
from django.urls import reverse

from bookings.dashboard.grid import source_label
from bookings.dashboard.selectors import (
    StaysAround,
    any_refund_refused,
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


def _facts(acting: Acting) -> dict[int, list[Badge]]:
    """Key codes and cleaners of today's arrivals and guests in the house, asked once
    for both panels. Departing guests need none: that is the next guest's story."""

    def read() -> dict[int, list[Badge]]:
        around = _around(acting)
        return booking_facts(acting, [*around.arriving, *around.in_house])

    facts: dict[int, list[Badge]] = acting.once("bookings.stay_facts", read)
    return facts


def _items(acting: Acting, stays: list[Booking], meta: str) -> list[Item]:
    facts = _facts(acting) if meta != "out" else {}
    items = []
    for stay in stays:
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
    return Panel(items=_items(acting, stays, "in"), empty=empty)


def departures(acting: Acting) -> Panel:
    stays = _around(acting).departing
    return Panel(items=_items(acting, stays, "out"), empty="No departures today.")


def in_house(acting: Acting) -> Panel:
    stays = _around(acting).in_house
    return Panel(
        items=_items(acting, stays, "stay"),
        empty="No guests in the house besides today's arrivals.",
    )


def any_refund(acting: Acting) -> Q:
    return any_refund_refused(business=acting.business, scope=acting.scope)


def refunds(acting: Acting) -> Panel:
    rows, total = refunds_refused(business=acting.business, scope=acting.scope)
    items = [
        Item(
            title=f"{format_money(r.amount, r.currency)} to {r.booking.guest_name or 'a guest'}",
            url=_url(r.booking),
            detail=f"{r.booking.reference} · {r.booking.property.name} · {r.error or 'refused'}",
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


def stripe_connected(business: Business) -> Q:
    return has_stripe_account(business=business)
