"""Integrations on Today and on the bookings pages: open conflicts, channel trouble,
conflict marks on the calendar, where a partner stay came from."""

from __future__ import annotations

from datetime import date

from django.db.models.expressions import RawSQL
from django.urls import reverse

from bookings.dashboard.slots import CalendarMark, DetailSection
from bookings.models import Booking
from integrations.dashboard.selectors import (
    channel_problems,
    conflicts_over,
    has_channel,
    open_conflicts_brief,
    partner_origin,
)
from integrations.models import BookingConflict, Platform
from properties.dashboard.access import Acting
from properties.dashboard.registry import Badge, Item, Panel
from properties.dashboard.text import plural
from properties.models import Business, Property


def conflict_source(conflict: BookingConflict) -> str:
    if conflict.channel is not None:
        return conflict.channel.get_platform_display()
    if conflict.feed is not None:
        return f"{conflict.feed.get_platform_display()} (iCal)"
    return "Partner"


def conflict_guest(conflict: BookingConflict) -> str:
    return str((conflict.partner_data or {}).get("guest_name") or "a guest")


def conflict_url(conflict: BookingConflict) -> str:
    return reverse("dashboard:conflict", args=[conflict.public_id])


def conflicts_panel(acting: Acting) -> Panel:
    rows, total = open_conflicts_brief(business=acting.business, limit=5, scope=acting.scope)
    items = []
    for c in rows:
        # The row's columns as `open_conflicts_brief` names them.
        if c.channel_platform:
            source = Platform(c.channel_platform).label
        elif c.feed_platform:
            source = f"{Platform(c.feed_platform).label} (iCal)"
        else:
            source = "Partner"
        against = (
            c.existing_guest_name or c.existing_reference
            if c.existing_booking_id is not None
            else "another stay"
        )
        items.append(
            Item(
                title=f"{source} stay of {conflict_guest(c)} overlaps {against}",
                url=conflict_url(c),
                detail=f"{c.property_name} · {c.check_in:%-d %b} \u2013 {c.check_out:%-d %b %Y}",
                badges=(Badge("Double booking", "bad"),),
            )
        )
    return Panel(
        items=items,
        total=total,
        empty="No conflicts.",
        more_url=reverse("dashboard:conflicts"),
        more_label="All conflicts",
    )


def channels_panel(acting: Acting) -> Panel:
    channels_url = reverse("dashboard:channels")
    items = []
    for row in channel_problems(business=acting.business):
        platform = Platform(row["platform"]).label
        if row["kind"] == "channel":
            badges = []
            if row["dead"]:
                badges.append(Badge(f"{plural(row['dead'], 'push', 'pushes')} gave up", "bad"))
            if row["failing"]:
                badges.append(Badge("Last push failed", "warn"))
            items.append(
                Item(
                    # As `Channel.__str__`.
                    title=row["name"] or f"{platform} ({row['public_id']})",
                    url=f"{channels_url}#channel-{row['public_id']}",
                    detail=(row["error"] or "Availability updates are not reaching it.")[:160],
                    badges=tuple(badges),
                )
            )
            continue
        failures = plural(row["consecutive_failures"], "time")
        items.append(
            Item(
                title=f"iCal feed of {row['property_name']} ({platform})",
                url=f"{channels_url}#feed-{row['id']}",
                detail=(row["error"] or "The last fetch failed.")[:160],
                badges=(Badge(f"Failing {failures} in a row", "warn"),),
            )
        )
    return Panel(
        items=items, empty="Every channel is in sync.", more_url=channels_url, more_label="Channels"
    )


def calendar_marks(
    acting: Acting, properties: list[Property], start: date, end: date
) -> list[CalendarMark]:
    return [
        CalendarMark(
            property_id=c.property_id,
            start=c.check_in,
            end=c.check_out,
            label=f"{conflict_source(c)}: {conflict_guest(c)}",
            url=conflict_url(c),
            booking_ids=(c.existing_booking_id,) if c.existing_booking_id else (),
        )
        for c in conflicts_over(
            business=acting.business,
            property_ids=[p.pk for p in properties],
            start=start,
            end=end,
        )
    ]


PARTNER_SOURCES = (
    Booking.Source.AIRBNB,
    Booking.Source.BOOKING,
    Booking.Source.VRBO,
    Booking.Source.ICAL,
    Booking.Source.API,
)


def booking_sections(acting: Acting, booking: Booking) -> list[DetailSection]:
    if booking.source not in PARTNER_SOURCES:
        return []
    origin = partner_origin(booking)
    if origin.reservation is None and origin.ical_event is None:
        return []
    # The guest's messages are in the inbox (messaging adds them to this page).
    return [
        DetailSection(
            key="partner",
            title="From the partner",
            template="dashboard/integrations/_booking_partner.html",
            context={"origin": origin},
            order=20,
            side=True,
        )
    ]


def lock_reason(booking: Booking) -> str:
    """A stay a channel made (its source says only "API" for a generic channel)."""
    if booking.source != Booking.Source.API:
        return ""
    reservation = partner_origin(booking).reservation
    if reservation is None:
        return ""
    name = str(reservation.channel)
    return (
        f"Made through the channel {name}: change or cancel it there. Holidesk applies "
        "the change as soon as the channel sends it."
    )


def channel_connected(business: Business) -> RawSQL:
    return has_channel(business=business)
