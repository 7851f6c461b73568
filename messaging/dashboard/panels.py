"""Messaging's parts of the dashboard: cleaning jobs and troubled emails on Today, key
codes and cleaners next to arrivals, emails and cleaning on a booking's page."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.urls import reverse
from django.utils import timezone

from bookings.dashboard.panels import DAY_LIMIT
from bookings.dashboard.slots import DetailSection
from bookings.models import Booking
from messaging.dashboard.selectors import (
    arrival_codes,
    booking_messages,
    booking_turnovers,
    messages_in_trouble,
    turnovers_before,
    turnovers_on,
)
from messaging.models import ScheduledMessage, Turnover
from properties.dashboard.access import Acting
from properties.dashboard.registry import Badge, Item, Panel
from properties.permissions import MANAGE_MESSAGES

TURNOVER_BADGES: dict[str, Badge] = {
    Turnover.State.PENDING: Badge("Cleaner has not accepted", "warn"),
    Turnover.State.ACCEPTED: Badge("Cleaner accepted", "ok"),
    Turnover.State.DONE: Badge("Cleaned", "ok"),
    Turnover.State.PROBLEM: Badge("Cleaner reported a problem", "bad"),
}
STATE_TONES: dict[str, str] = {
    ScheduledMessage.State.SCHEDULED: "info",
    ScheduledMessage.State.SENDING: "info",
    ScheduledMessage.State.SENT: "ok",
    ScheduledMessage.State.FAILED: "bad",
    ScheduledMessage.State.CANCELLED: "neutral",
    ScheduledMessage.State.SKIPPED: "neutral",
}


def turnover_badge(turnover: Turnover) -> Badge:
    if turnover.cleaner_id is None:
        return Badge("No cleaner assigned", "bad")
    return TURNOVER_BADGES.get(turnover.state, Badge(turnover.get_state_display()))


def booking_url(booking: Booking) -> str:
    return reverse("dashboard:booking-detail", args=[booking.reference])


# --- Facts next to arrivals and guests in the house --------------------------------------


def stay_facts(acting: Acting, bookings: list[Booking]) -> dict[int, list[Badge]]:
    stays = [b for b in bookings if not b.is_block]
    codes = arrival_codes(stays)
    before = turnovers_before(stays)
    facts: dict[int, list[Badge]] = {}
    for stay in stays:
        badges = []
        code = codes.get(stay.pk)
        if code is None:
            badges.append(Badge("No key code", "warn"))
        elif code.confirmed_at is None:
            badges.append(Badge(f"Key code {code.code}, not confirmed on the box", "warn"))
        else:
            badges.append(Badge(f"Key code {code.code}", "info"))
        turnover = before.get(stay.pk)
        if turnover is not None:
            badges.append(turnover_badge(turnover))
        facts[stay.pk] = badges
    return facts


# --- Today -------------------------------------------------------------------------------


def cleaning_today(acting: Acting) -> Panel:
    items = []
    jobs = turnovers_on(business=acting.business, day=acting.today, scope=acting.scope)
    for job in jobs[:DAY_LIMIT]:
        tz = ZoneInfo(job["timezone"])
        local = job["starts_at"].astimezone(tz)
        if job["next_booking_id"] is not None and job["ends_at"] is not None:
            ready_by = f"next guest {job['ends_at'].astimezone(tz):%a %H:%M}"
        else:
            ready_by = "no next guest yet"
        if job["cleaner_id"] is None:
            badges = [Badge("No cleaner assigned", "bad")]
        else:
            badges = [TURNOVER_BADGES.get(job["state"], Badge(Turnover.State(job["state"]).label))]
        if job["code"] is not None and job["code_retired_at"] is None:
            badges.append(Badge(f"Set code {job['code']}", "info"))
        cleaner = job["cleaner_name"] or "nobody yet"
        items.append(
            Item(
                title=job["property_name"],
                url=reverse("dashboard:booking-detail", args=[job["reference"]]),
                detail=f"Cleaner: {cleaner} · from {local:%H:%M}, {ready_by}",
                meta=f"{local:%H:%M}",
                badges=tuple(badges),
            )
        )
    if len(jobs) <= DAY_LIMIT:
        return Panel(items=items, empty="No cleaning jobs today.")
    return Panel(
        items=items,
        empty="No cleaning jobs today.",
        total=len(jobs),
        more_url=reverse("dashboard:staff-keys"),
        more_label=f"All {len(jobs)} jobs on the staff page",
    )


def emails_in_trouble(acting: Acting) -> Panel:
    now = timezone.now()
    rows, total = messages_in_trouble(business=acting.business, now=now, scope=acting.scope)
    items = []
    for message in rows:
        if message.state == ScheduledMessage.State.FAILED or message.needs_review:
            badge = Badge("Needs review" if message.needs_review else "Failed", "bad")
        else:
            badge = Badge("Stuck", "warn")
        url = (
            reverse("dashboard:booking-detail", args=[message.booking_reference]) + "#emails"
            if message.booking_id is not None
            else reverse("admin:messaging_scheduledmessage_change", args=[message.pk])
        )
        to = message.recipient_name or message.recipient
        items.append(
            Item(
                title=f"{message.get_kind_display()} to {to}",
                url=url,
                detail=(message.last_error or "Not sent yet.")[:160],
                meta=f"{message.send_at.astimezone(acting.business.tz):%-d %b %H:%M}",
                badges=(badge,),
            )
        )
    return Panel(
        items=items,
        total=total,
        empty="Every email went out.",
        more_url=reverse("admin:messaging_scheduledmessage_changelist") + "?state__exact=failed",
        more_label="All failed emails",
    )


# --- The booking page --------------------------------------------------------------------


def booking_sections(acting: Acting, booking: Booking) -> list[DetailSection]:
    if booking.is_block:
        return []
    rows = list(booking_messages(booking))
    emails = DetailSection(
        key="emails",
        title="Emails",
        template="dashboard/messaging/_booking_emails.html",
        context={
            "emails": [
                {
                    "message": m,
                    "tone": STATE_TONES.get(m.state, "neutral"),
                    "can_resend": m.state
                    in (ScheduledMessage.State.FAILED, ScheduledMessage.State.SKIPPED)
                    and acting.may(MANAGE_MESSAGES),
                }
                for m in rows
            ],
        },
        order=30,
    )
    before, after = booking_turnovers(booking)
    code = arrival_codes([booking]).get(booking.pk)
    cleaning = DetailSection(
        key="cleaning",
        title="Key code and cleaning",
        template="dashboard/messaging/_booking_cleaning.html",
        context={
            "code": code,
            "keys_url": reverse("dashboard:staff-keys") + f"#keys-{booking.property_id}",
            "before": before,
            "before_badge": turnover_badge(before) if before else None,
            "after": after,
            "after_badge": turnover_badge(after) if after else None,
        },
        order=10,
        side=True,
    )
    return [cleaning, emails]
