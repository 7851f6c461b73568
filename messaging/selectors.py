"""Reads of the messaging app: effective settings, key codes, outbox figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet

from bookings.models import Booking
from messaging.models import (
    Broadcast,
    BusinessMessaging,
    KeyCode,
    PropertyMessaging,
    ScheduledMessage,
    Staff,
    Turnover,
)
from properties.models import Business, Property

QUIET_START = time(21, 0)
QUIET_END = time(8, 0)


@dataclass(frozen=True)
class Timing:
    """The effective message settings of one property (its own, else its business's)."""

    quiet_hours: bool
    reminder_days_before: int
    reminder_time: time
    welcome_hours_before: int
    checkout_reminder_time: time
    thank_you_time: time
    cleaner_notice_time: time
    accept_deadline_hours: int
    key_code_length: int
    owner_email: str
    directions: str
    key_box_location: str
    default_cleaner_id: int | None


def business_settings(business: Business) -> BusinessMessaging:
    """The saved settings, or unsaved defaults (settings rows are created lazily)."""
    found = BusinessMessaging.objects.filter(business=business).first()
    return found or BusinessMessaging(business=business)


def property_settings(prop: Property) -> PropertyMessaging:
    found = PropertyMessaging.objects.filter(property=prop).first()
    return found or PropertyMessaging(property=prop, business_id=prop.business_id)


def timing_for(prop: Property) -> Timing:
    biz = business_settings(prop.business)
    own = property_settings(prop)

    def pick(value: Any, fallback: Any) -> Any:
        return fallback if value is None else value

    return Timing(
        quiet_hours=pick(own.quiet_hours, biz.quiet_hours),
        reminder_days_before=pick(own.reminder_days_before, biz.reminder_days_before),
        reminder_time=biz.reminder_time,
        welcome_hours_before=pick(own.welcome_hours_before, biz.welcome_hours_before),
        checkout_reminder_time=biz.checkout_reminder_time,
        thank_you_time=biz.thank_you_time,
        cleaner_notice_time=biz.cleaner_notice_time,
        accept_deadline_hours=biz.accept_deadline_hours,
        key_code_length=pick(own.key_code_length, biz.key_code_length),
        owner_email=biz.owner_email or prop.business.contact_email,
        directions=own.directions,
        key_box_location=own.key_box_location,
        default_cleaner_id=own.default_cleaner_id,
    )


def owner_email(business: Business) -> str:
    return business_settings(business).owner_email or business.contact_email


# --- Local time ------------------------------------------------------------------------


def local_moment(prop: Property, day: date, at: time) -> datetime:
    """`day` at wall-clock `at` where the property is, as an aware datetime.

    A wall-clock time that does not exist (the spring-forward gap) resolves to the
    same instant zoneinfo gives for fold=0, i.e. one hour later on the clock."""
    return datetime.combine(day, at, tzinfo=prop.tz)


def hours_before(prop: Property, moment: datetime, hours: int) -> datetime:
    """`hours` before a local moment in wall-clock terms: "24 hours before a 16:00
    check-in" is 16:00 on the day before, also across a DST change."""
    local = moment.astimezone(prop.tz).replace(tzinfo=None) - timedelta(hours=hours)
    return local.replace(tzinfo=prop.tz)


def out_of_quiet_hours(prop: Property, moment: datetime) -> datetime:
    """The first moment at or after `moment` outside 21:00-08:00 property time."""
    local = moment.astimezone(prop.tz)
    if local.time() >= QUIET_START:
        return local_moment(prop, local.date() + timedelta(days=1), QUIET_END)
    if local.time() < QUIET_END:
        return local_moment(prop, local.date(), QUIET_END)
    return moment


def check_in_moment(booking: Booking) -> datetime:
    return local_moment(booking.property, booking.check_in, booking.property.check_in_time)


def check_out_moment(booking: Booking) -> datetime:
    return local_moment(booking.property, booking.check_out, booking.property.check_out_time)


# --- Key codes ---------------------------------------------------------------------------


def effective_codes(prop: Property) -> QuerySet[KeyCode]:
    """Codes that are (or will be) on the box, newest first; cancelled jobs' codes are
    kept for history but never in effect."""
    return KeyCode.objects.filter(property=prop, retired_at__isnull=True).order_by(
        "-valid_from", "-id"
    )


def code_for_arrival(booking: Booking) -> KeyCode | None:
    """The code on the box when this guest arrives: the newest code whose turnover
    comes on or before the check-in day (none yet: the property's first code)."""
    return effective_codes(booking.property).filter(valid_from__lte=booking.check_in).first()


def arrival_details(booking: Booking) -> dict[str, str]:
    """What a guest's welcome or correction tells them: the code on the box at their
    arrival and their dates. Recorded on the sent row, so a later change is noticed."""
    code = code_for_arrival(booking)
    return {
        "key_code": code.code if code else "",
        "check_in": booking.check_in.isoformat(),
        "check_out": booking.check_out.isoformat(),
    }


def key_codes_for_owner(prop: Property, *, today: date | None = None) -> dict[str, Any]:
    today = today or prop.local_today()
    codes = list(effective_codes(prop))
    current = next((c for c in codes if c.valid_from <= today), None)
    upcoming = [c for c in codes if c.valid_from > today]
    previous = [c for c in codes if current and c.valid_from <= today and c.pk != current.pk]
    return {"current": current, "upcoming": list(reversed(upcoming)), "previous": previous}


# --- Staff, turnovers, outbox -------------------------------------------------------------


def staff_list(*, business: Business, kind: str | None = None) -> QuerySet[Staff]:
    qs = Staff.objects.filter(business=business, active=True)
    return qs.filter(kind=kind) if kind else qs


def turnovers_open(*, business: Business) -> QuerySet[Turnover]:
    return Turnover.objects.filter(
        business=business,
        state__in=[Turnover.State.PENDING, Turnover.State.ACCEPTED, Turnover.State.PROBLEM],
    ).select_related("property", "cleaner")


def broadcast_progress(broadcast: Broadcast) -> dict[str, int]:
    counts = ScheduledMessage.objects.filter(broadcast=broadcast).aggregate(
        total=Count("id"),
        sent=Count("id", filter=Q(state=ScheduledMessage.State.SENT)),
        skipped=Count("id", filter=Q(state=ScheduledMessage.State.SKIPPED)),
        failed=Count("id", filter=Q(state=ScheduledMessage.State.FAILED)),
    )
    return {key: int(value or 0) for key, value in counts.items()}


def outbox_counts(*, business: Business) -> dict[str, int]:
    rows = (
        ScheduledMessage.objects.filter(business=business)
        .values("state")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {row["state"]: row["n"] for row in rows}
