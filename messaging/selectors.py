"""Reads of the messaging app: effective settings, key codes, outbox figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from bookings.models import Booking
from messaging.models import (
    Broadcast,
    BusinessMessaging,
    KeyBox,
    KeyCode,
    Kind,
    PropertyMessaging,
    ScheduledMessage,
    Staff,
    Turnover,
)
from properties.models import Business, Property
from properties.permissions import Scope

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
    return timing_from(prop, business_settings(prop.business), property_settings(prop))


def timing_from(prop: Property, biz: BusinessMessaging, own: PropertyMessaging) -> Timing:
    """The effective settings from rows already read (several properties at once)."""

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
#
# A cleaner is told to set their job's code ("planned"); it is on the box only once
# someone confirms it (`KeyBox`). Guests are sent the code confirmed on the box, and a
# later confirmation sends them the new one (docs/scheduling.md, "Turnovers and key codes").

# Rows whose email the recipient may already have: sent, being sent, or interrupted
# mid-send (delivery unknown). What they told is what the recipient knows.
TOLD = Q(state__in=(ScheduledMessage.State.SENT, ScheduledMessage.State.SENDING)) | Q(
    state=ScheduledMessage.State.FAILED, needs_review=True
)

# A due welcome waits for the confirmation of a changeover that starts after it at most
# until this long before check-in; then it goes with the code on the box.
WELCOME_WAIT_LIMIT = timedelta(hours=2)


def effective_codes(prop: Property) -> QuerySet[KeyCode]:
    """Codes planned for the box (confirmed or not), newest first; cancelled jobs' and
    replaced codes are kept for history but never planned."""
    return KeyCode.objects.filter(property=prop, retired_at__isnull=True).order_by(
        "-valid_from", "-id"
    )


def planned_code_for_arrival(booking: Booking) -> KeyCode | None:
    """The code the cleaner before this arrival is told to set: the newest planned code
    whose turnover comes on or before the check-in day (none: the first code)."""
    return (
        effective_codes(booking.property)
        .filter(valid_from__lte=booking.check_in)
        .select_related("turnover__cleaner")
        .first()
    )


def box_code(prop: Property) -> KeyCode | None:
    """The code confirmed on the box now (None until anyone confirmed one)."""
    box = KeyBox.objects.filter(property=prop).select_related("key_code").first()
    return box.key_code if box else None


def code_for_arrival(booking: Booking) -> KeyCode | None:
    """The code a guest is sent now: the code confirmed on the box. Before anything was
    ever confirmed for the property, the code planned for their arrival (the owner is
    alerted when a welcome goes out with it)."""
    return box_code(booking.property) or planned_code_for_arrival(booking)


def arrival_details(booking: Booking) -> dict[str, str]:
    """What a guest's welcome or correction tells them: the code to use on arrival and
    their dates. Recorded on the sent row, so a later change is noticed."""
    code = code_for_arrival(booking)
    return {
        "key_code": code.code if code else "",
        "check_in": booking.check_in.isoformat(),
        "check_out": booking.check_out.isoformat(),
    }


def welcome_due_at(booking: Booking, timing: Timing | None = None) -> datetime:
    timing = timing or timing_for(booking.property)
    return hours_before(booking.property, check_in_moment(booking), timing.welcome_hours_before)


def welcome_wait_until(
    booking: Booking,
    *,
    now: datetime,
    planned: KeyCode | None = None,
    timing: Timing | None = None,
) -> datetime | None:
    """Until when a due welcome waits for the cleaner's confirmation, or None: send now.

    It waits only when the arrival's new code could not be confirmed by the welcome's
    time, because the cleaning before the arrival starts after it (a same-day
    changeover), and the cleaner has not said they could not change the code; and at
    most until WELCOME_WAIT_LIMIT before check-in. A confirmation releases it at once."""
    planned = planned or planned_code_for_arrival(booking)
    if planned is None or planned.confirmed_at is not None:
        return None
    job = planned.turnover
    if (
        job is None
        or job.state == Turnover.State.CANCELLED
        or job.code_outcome == Turnover.CodeOutcome.NOT_SET
    ):
        return None
    deadline = check_in_moment(booking) - WELCOME_WAIT_LIMIT
    if now >= deadline or job.starts_at <= welcome_due_at(booking, timing):
        return None
    return deadline


def job_email(job: Turnover) -> ScheduledMessage | None:
    """The latest job email to the job's cleaner (None: no cleaner, or never emailed)."""
    if job.cleaner is None:
        return None
    return (
        ScheduledMessage.objects.filter(
            turnover=job,
            kind__in=[Kind.CLEANER_JOB, Kind.CLEANER_UPDATE],
            recipient__iexact=job.cleaner.email,
        )
        .order_by("-created_at", "-id")
        .first()
    )


def cleaner_state(job: Turnover | None) -> str:
    """How far the cleaner of a job got, in words for the owner."""
    return cleaner_words(job, job_email(job) if job is not None else None)


def cleaner_words(job: Turnover | None, email: ScheduledMessage | None) -> str:
    """`cleaner_state` from the job's latest email to its cleaner, already read."""
    if job is None:
        return "No cleaning job before this arrival."
    if job.state == Turnover.State.CANCELLED:
        return "The cleaning job was cancelled."
    who = job.cleaner.name if job.cleaner else "No cleaner"
    if job.cleaner is None:
        return "No cleaner is assigned to the job."
    if email is None:
        told = "has no job email"
    elif email.state == ScheduledMessage.State.FAILED:
        told = "was not reached: the job email failed"
    elif email.state in (ScheduledMessage.State.SENT, ScheduledMessage.State.SENDING):
        told = "was emailed the job"
    elif email.state == ScheduledMessage.State.SCHEDULED:
        told = "will be emailed the job"
    else:
        told = f"has no job email ({email.get_state_display().lower()})"
    steps = [f"{who} {told}"]
    if job.code_outcome == Turnover.CodeOutcome.NOT_SET:
        steps.append("said they could not change the code")
    elif job.state == Turnover.State.DONE:
        steps.append("marked it done")
    elif job.state == Turnover.State.ACCEPTED:
        steps.append("accepted it, not done yet")
    elif job.state == Turnover.State.PROBLEM:
        steps.append(f"reported a problem: {job.problem[:200]}")
    else:
        steps.append("has not accepted it")
    return ", ".join(steps) + "."


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


def staff_in_scope(qs: QuerySet[Staff], scope: Scope) -> QuerySet[Staff]:
    """The staff of `qs` a member with `scope` works with: everyone for the whole
    business; for a group scope, whoever cleans or has a job at one of its properties."""
    if scope.whole_business:
        return qs
    groups = sorted(scope.group_ids or ())
    cleans = PropertyMessaging.objects.filter(
        default_cleaner=OuterRef("pk"), property__group_id__in=groups
    )
    jobs = Turnover.objects.filter(cleaner=OuterRef("pk"), property__group_id__in=groups)
    return qs.filter(Q(Exists(cleans)) | Q(Exists(jobs)))
