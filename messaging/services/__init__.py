"""Writes of the messaging app: the outbox, turnovers, key codes, broadcasts, staff links.

Scheduling runs inside the booking service's transaction (via `calendar_written`), so
a booking change and its messages commit or roll back together. The booking service
holds the property's row lock then, which also serialises turnover and key-code work
per property.

Sending (see docs/scheduling.md for the guarantees):

    scheduled --claim (lease)--> scheduled+claimed --task--> sending --> sent
                                                           \\-> scheduled (retry) | failed
    sending for too long (process died mid-send) --> failed, needs review (not re-sent)
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import get_connection
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from psycopg.types.range import Range

from bookings.models import Booking
from messaging.errors import InvalidBroadcast, JobClosed, LinkOutdated, NotFound
from messaging.models import (
    AUDIENCE,
    KIND_PRIORITY,
    PRIORITY_SAME_DAY,
    Audience,
    Broadcast,
    BusinessMessaging,
    GuestOptOut,
    KeyCode,
    Kind,
    PropertyMessaging,
    ScheduledMessage,
    SentEmail,
    Staff,
    Turnover,
)
from messaging.ratelimit import SendRateLimiter
from messaging.rendering import build_email, message_id_for
from messaging.selectors import (
    Timing,
    check_in_moment,
    check_out_moment,
    code_for_arrival,
    hours_before,
    local_moment,
    out_of_quiet_hours,
    owner_email,
    timing_for,
)
from properties.db import claim_due
from properties.models import Business, Property

log = logging.getLogger(__name__)

State = ScheduledMessage.State
GUEST_STAY_KINDS = (
    Kind.CONFIRMATION,
    Kind.REMINDER,
    Kind.WELCOME,
    Kind.CHECKOUT_REMINDER,
    Kind.THANK_YOU,
)
# Sources whose payment is collected outside Holidesk (the platform, or the owner).
PAID_ELSEWHERE = (
    Booking.Source.AIRBNB,
    Booking.Source.BOOKING,
    Booking.Source.VRBO,
    Booking.Source.ICAL,
    Booking.Source.OWNER,
    Booking.Source.API,
)
# States in which the recipient may already have the email.
TOLD_STATES = (State.SENT, State.SENDING)
BASE_CODE_DAY = date(2000, 1, 1)


# --- Settings rows ---------------------------------------------------------------------


def business_messaging_get_or_create(*, business: Business) -> BusinessMessaging:
    found, _ = BusinessMessaging.objects.get_or_create(business=business)
    return found


def property_messaging_get_or_create(*, prop: Property) -> PropertyMessaging:
    found, _ = PropertyMessaging.objects.get_or_create(
        property=prop, defaults={"business_id": prop.business_id}
    )
    return found


def staff_create(
    *,
    business: Business,
    name: str,
    email: str,
    kind: str = Staff.StaffKind.CLEANER,
    phone: str = "",
) -> Staff:
    return Staff.objects.create(business=business, name=name, email=email, kind=kind, phone=phone)


def property_set_default_cleaner(*, prop: Property, cleaner: Staff | None) -> PropertyMessaging:
    if cleaner is not None and cleaner.business_id != prop.business_id:
        raise NotFound("No such staff member.")
    settings_row = property_messaging_get_or_create(prop=prop)
    settings_row.default_cleaner = cleaner
    settings_row.save(update_fields=["default_cleaner"])
    return settings_row


# --- Scheduling primitives ---------------------------------------------------------------


def _plan(
    *,
    prop: Property | None,
    timing: Timing | None,
    kind: str,
    wanted_at: datetime,
    expires_at: datetime | None,
    now: datetime,
) -> tuple[str, datetime, str]:
    """(state, send_at, reason) for a message wanted at `wanted_at`.

    Past due: sent at once while still useful, else skipped with the reason. Guests
    get nothing in quiet hours, unless waiting for morning would make it useless
    (usefulness wins: a late-night booking for tomorrow still gets its key code)."""
    at = max(wanted_at, now)
    if (
        prop is not None
        and timing is not None
        and timing.quiet_hours
        and AUDIENCE[kind] == Audience.GUEST
    ):
        morning = out_of_quiet_hours(prop, at)
        if expires_at is None or morning < expires_at:
            at = morning
    if expires_at is not None and at >= expires_at:
        local = expires_at.astimezone(prop.tz) if prop else expires_at
        return (
            State.SKIPPED,
            wanted_at,
            f"Too late: it was due {wanted_at:%Y-%m-%d %H:%M} UTC and is only useful "
            f"until {local:%Y-%m-%d %H:%M} (property time).",
        )
    return State.SCHEDULED, at, ""


def _priority(kind: str, booking: Booking | None, send_at: datetime) -> int:
    priority = KIND_PRIORITY[kind]
    if (
        booking is not None
        and priority > PRIORITY_SAME_DAY
        and AUDIENCE[kind] == Audience.GUEST
        and send_at.astimezone(booking.property.tz).date() == booking.check_in
    ):
        priority = PRIORITY_SAME_DAY
    return priority


def message_schedule(
    *,
    business: Business,
    kind: str,
    recipient: str,
    key: str,
    wanted_at: datetime,
    now: datetime,
    expires_at: datetime | None = None,
    prop: Property | None = None,
    booking: Booking | None = None,
    turnover: Turnover | None = None,
    broadcast: Broadcast | None = None,
    recipient_name: str = "",
    context: dict[str, Any] | None = None,
    timing: Timing | None = None,
) -> ScheduledMessage:
    """Create the outbox row for `key`, or re-time it if it has not gone out yet.

    Idempotent: the key is unique, so scheduling twice never makes two messages.
    `timing` is the property's (looked up when not given)."""
    if timing is None and prop is not None:
        timing = timing_for(prop)
    state, send_at, reason = _plan(
        prop=prop, timing=timing, kind=kind, wanted_at=wanted_at, expires_at=expires_at, now=now
    )
    priority = _priority(kind, booking, send_at)
    with transaction.atomic():
        existing = ScheduledMessage.objects.select_for_update().filter(key=key).first()
        if existing is not None:
            if existing.state in (State.SCHEDULED, State.SKIPPED):
                existing.state = state
                existing.send_at = send_at
                existing.expires_at = expires_at
                existing.priority = priority
                existing.last_error = reason
                existing.claimed_until = None
                if context:
                    existing.context = {**existing.context, **context}
                existing.save()
            return existing
        row = ScheduledMessage(
            business=business,
            booking=booking,
            turnover=turnover,
            broadcast=broadcast,
            kind=kind,
            recipient=recipient,
            recipient_name=recipient_name[:150],
            key=key,
            send_at=send_at,
            expires_at=expires_at,
            priority=priority,
            state=state,
            last_error=reason,
            context=context or {},
        )
        try:
            with transaction.atomic():
                row.save()
        except IntegrityError:
            # Scheduled concurrently by someone else (outside a property lock).
            return ScheduledMessage.objects.get(key=key)
        return row


def _cancel_pending(qs: Any, reason: str) -> int:
    return int(
        qs.filter(state=State.SCHEDULED).update(
            state=State.CANCELLED, last_error=reason, claimed_until=None, updated_at=timezone.now()
        )
    )


def outbox_kick() -> None:
    """Wake the dispatcher now (after commit) instead of at its next beat."""
    if not settings.MESSAGING_KICK_DISPATCHER:
        return
    from messaging.tasks import dispatch_due

    try:
        dispatch_due.delay()
    except Exception:  # the beat picks the rows up anyway
        log.warning("Could not wake the message dispatcher", exc_info=True)


# --- Bookings ---------------------------------------------------------------------------


def _guest_key(booking: Booking, kind: str) -> str:
    return f"booking:{booking.pk}:{kind}:{booking.guest_email.lower()}"


def _guest_plan(
    booking: Booking, timing: Timing, now: datetime
) -> dict[str, tuple[datetime, datetime]]:
    prop = booking.property
    arrive = check_in_moment(booking)
    leave = check_out_moment(booking)
    return {
        Kind.CONFIRMATION: (now, leave),
        Kind.REMINDER: (
            local_moment(
                prop,
                booking.check_in - timedelta(days=timing.reminder_days_before),
                timing.reminder_time,
            ),
            arrive,
        ),
        Kind.WELCOME: (hours_before(prop, arrive, timing.welcome_hours_before), arrive),
        Kind.CHECKOUT_REMINDER: (
            local_moment(
                prop, booking.check_out - timedelta(days=1), timing.checkout_reminder_time
            ),
            leave,
        ),
        Kind.THANK_YOU: (
            local_moment(prop, booking.check_out + timedelta(days=1), timing.thank_you_time),
            leave + timedelta(days=14),
        ),
    }


def _schedule_guest_stay_messages(
    booking: Booking, *, now: datetime, kinds: tuple[str, ...]
) -> None:
    if not booking.guest_email:
        return
    prop = booking.property
    timing = timing_for(prop)
    plan = _guest_plan(booking, timing, now)
    for kind in kinds:
        wanted_at, expires_at = plan[kind]
        message_schedule(
            business=booking.business,
            kind=kind,
            recipient=booking.guest_email,
            recipient_name=booking.guest_name,
            key=_guest_key(booking, kind),
            wanted_at=wanted_at,
            expires_at=expires_at,
            now=now,
            prop=prop,
            booking=booking,
            timing=timing,
        )


def _owner_notice(
    *, business: Business, kind: str, key: str, now: datetime, **fields: Any
) -> ScheduledMessage:
    email = owner_email(business)
    return message_schedule(
        business=business,
        kind=kind,
        recipient=email,
        key=f"{key}:{kind}:{email.lower()}",
        wanted_at=now,
        now=now,
        **fields,
    )


def booking_messages_confirmed(*, booking: Booking, now: datetime) -> None:
    _schedule_guest_stay_messages(booking, now=now, kinds=GUEST_STAY_KINDS)
    _owner_notice(
        business=booking.business,
        kind=Kind.OWNER_NEW_BOOKING,
        key=f"booking:{booking.pk}",
        now=now,
        booking=booking,
    )


def booking_messages_changed(*, booking: Booking, now: datetime) -> None:
    """Re-time what has not gone out; what has is corrected by `_arrivals_reconcile`."""
    _schedule_guest_stay_messages(
        booking, now=now, kinds=tuple(k for k in GUEST_STAY_KINDS if k != Kind.CONFIRMATION)
    )


def booking_messages_cancelled(*, booking: Booking, was_confirmed: bool, now: datetime) -> None:
    _cancel_pending(
        ScheduledMessage.objects.filter(booking=booking).exclude(
            kind__in=[Kind.CANCELLATION, Kind.OWNER_CANCELLATION]
        ),
        "The booking was cancelled.",
    )
    if not was_confirmed:
        return
    if booking.guest_email:
        message_schedule(
            business=booking.business,
            kind=Kind.CANCELLATION,
            recipient=booking.guest_email,
            recipient_name=booking.guest_name,
            key=_guest_key(booking, Kind.CANCELLATION),
            wanted_at=now,
            expires_at=check_out_moment(booking),
            now=now,
            prop=booking.property,
            booking=booking,
        )
    _owner_notice(
        business=booking.business,
        kind=Kind.OWNER_CANCELLATION,
        key=f"booking:{booking.pk}",
        now=now,
        booking=booking,
    )


def calendar_changed(
    *, booking: Booking, action: str, previous: dict[str, Any] | None, now: datetime | None = None
) -> None:
    """Everything messaging keeps in step with the calendar, in the booking's transaction."""
    if booking.is_block or action == "held":
        return
    now = now or timezone.now()
    if action == "confirmed":
        booking_messages_confirmed(booking=booking, now=now)
    elif action == "changed":
        booking_messages_changed(booking=booking, now=now)
    elif action in ("cancelled", "expired"):
        was_confirmed = (previous or {}).get("status") == Booking.Status.CONFIRMED
        booking_messages_cancelled(booking=booking, was_confirmed=was_confirmed, now=now)
    else:
        return
    prop = Property.objects.select_related("business").get(pk=booking.property_id)
    # Only the stays around the booking's old and new dates can see their job change.
    window = [booking.check_in, booking.check_out]
    if previous and previous.get("check_in") and previous.get("check_out"):
        window += [previous["check_in"], previous["check_out"]]
    turnovers_sync(prop=prop, now=now, around=(min(window), max(window)), changed=booking.pk)
    arrivals_reconcile(prop=prop, now=now)


# --- Turnovers and key codes ---------------------------------------------------------------


def _new_code(prop: Property, length: int) -> str:
    """A fresh code, equal to none of the property's kept codes (so never to any of the
    last four: codes are kept until four newer ones are in effect)."""
    taken = set(KeyCode.objects.filter(property=prop).values_list("code", flat=True))
    while True:
        code = f"{secrets.randbelow(10**length):0{length}d}"
        if code not in taken:
            return code


def key_code_ensure_first(*, prop: Property, timing: Timing | None = None) -> KeyCode:
    """The property's first code (on the box before any turnover we know of)."""
    first = KeyCode.objects.filter(property=prop).order_by("valid_from", "id").first()
    if first is not None:
        return first
    timing = timing or timing_for(prop)
    return KeyCode.objects.create(
        business_id=prop.business_id,
        property=prop,
        code=_new_code(prop, timing.key_code_length),
        valid_from=BASE_CODE_DAY,
    )


def key_codes_prune(*, prop: Property, today: date) -> int:
    """Delete codes that four newer, already effective codes have replaced."""
    codes = list(KeyCode.objects.filter(property=prop).order_by("-valid_from", "-id"))
    in_effect = [c for c in codes if c.valid_from <= today and c.retired_at is None]
    doomed = []
    for code in codes:
        if code.valid_from > today:
            continue
        newer = sum(1 for c in in_effect if (c.valid_from, c.pk) > (code.valid_from, code.pk))
        if newer >= 4:
            doomed.append(code.pk)
    if doomed:
        KeyCode.objects.filter(pk__in=doomed).delete()
    return len(doomed)


def _fmt(prop: Property, moment: datetime | None) -> str:
    if moment is None:
        return "no next arrival"
    local = moment.astimezone(prop.tz)
    return f"{local:%a} {local.day} {local:%b} {local:%H:%M}"


def _job_messages(turnover: Turnover) -> Any:
    return ScheduledMessage.objects.filter(turnover=turnover)


def _cleaner_was_told(turnover: Turnover) -> bool:
    return (
        _job_messages(turnover)
        .filter(kind__in=[Kind.CLEANER_JOB, Kind.CLEANER_UPDATE])
        .filter(Q(state__in=TOLD_STATES) | Q(state=State.FAILED, needs_review=True))
        .exists()
    )


def _schedule_cleaner_job(turnover: Turnover, timing: Timing, now: datetime) -> None:
    cleaner = turnover.cleaner
    if cleaner is None or not cleaner.active:
        return
    prop = turnover.property
    day_before = turnover.starts_at.astimezone(prop.tz).date() - timedelta(days=1)
    message_schedule(
        business=prop.business,
        kind=Kind.CLEANER_JOB,
        recipient=cleaner.email,
        recipient_name=cleaner.name,
        key=f"turnover:{turnover.pk}:{Kind.CLEANER_JOB}:{cleaner.email.lower()}",
        wanted_at=local_moment(prop, day_before, timing.cleaner_notice_time),
        expires_at=turnover.ends_at or turnover.starts_at + timedelta(days=1),
        now=now,
        prop=prop,
        turnover=turnover,
        timing=timing,
    )


def _schedule_cleaner_update(turnover: Turnover, changes: str, now: datetime) -> None:
    cleaner = turnover.cleaner
    if cleaner is None:
        return
    pending = list(_job_messages(turnover).filter(kind=Kind.CLEANER_UPDATE, state=State.SCHEDULED))
    earlier = " ".join(str(p.context.get("changes", "")) for p in pending)
    _cancel_pending(
        _job_messages(turnover).filter(kind=Kind.CLEANER_UPDATE), "Replaced by a newer update."
    )
    message_schedule(
        business=turnover.property.business,
        kind=Kind.CLEANER_UPDATE,
        recipient=cleaner.email,
        recipient_name=cleaner.name,
        key=f"turnover:{turnover.pk}:{Kind.CLEANER_UPDATE}:{cleaner.email.lower()}:{turnover.revision}",
        wanted_at=now,
        now=now,
        prop=turnover.property,
        turnover=turnover,
        context={"changes": (earlier + " " + changes).strip()},
    )


def _turnover_cancel(turnover: Turnover, now: datetime) -> None:
    told = _cleaner_was_told(turnover)
    turnover.state = Turnover.State.CANCELLED
    turnover.revision += 1
    turnover.save(update_fields=["state", "revision", "updated_at"])
    KeyCode.objects.filter(turnover=turnover, retired_at__isnull=True).update(retired_at=now)
    _cancel_pending(
        _job_messages(turnover).filter(kind=Kind.CLEANER_JOB), "The cleaning job was cancelled."
    )
    if told:
        _schedule_cleaner_update(
            turnover,
            "This job is cancelled because the stay was cancelled. Do not change the key-box code.",
            now,
        )


def turnovers_sync(
    *,
    prop: Property,
    now: datetime,
    around: tuple[date, date] | None = None,
    changed: int | None = None,
) -> None:
    """Make the property's turnovers match its confirmed stays: one job per stay's
    check-out, until the next arrival; each new job gets a new key code.

    With `around` (the span of a changed booking's old and new dates, `changed` its
    id) only the jobs that change can differ are synced: the stays in that span and
    the one just before it, whose next arrival may have moved; the first stay after
    the span is read as the last one's next arrival. Without it, every future job."""
    timing = timing_for(prop)
    today = now.astimezone(prop.tz).date()
    horizon = today - timedelta(days=2)
    key_code_ensure_first(prop=prop, timing=timing)
    confirmed = Booking.objects.filter(
        property=prop,
        kind=Booking.Kind.STAY,
        status=Booking.Status.CONFIRMED,
        stay__endswith__gte=horizon,
    )
    after: Booking | None = None
    if around is None:
        stays = list(confirmed.order_by("stay"))
    else:
        start, end = around
        before = confirmed.filter(stay__endswith__lte=start).order_by("-stay").first()
        inside = list(confirmed.filter(stay__overlap=Range(start, end, "[)")).order_by("stay"))
        after = confirmed.filter(stay__startswith__gte=end).order_by("stay").first()
        stays = ([before] if before is not None else []) + inside
        if after is not None:
            after.property = prop
    for stay in stays:
        stay.property = prop  # one shared instance instead of a join per row
    turnovers = Turnover.objects.select_for_update(of=("self",)).filter(property=prop)
    if around is None:
        turnovers = turnovers.filter(
            Q(starts_at__gte=local_moment(prop, horizon, prop.check_out_time))
            | Q(booking__in=stays)
        )
    else:
        turnovers = turnovers.filter(booking_id__in=[*(s.pk for s in stays), changed])
    existing = {
        t.booking_id: t
        for t in turnovers.select_related("cleaner", "booking", "property__business")
    }
    # One query for "has this job any message yet?" instead of one per unchanged stay.
    with_messages = set(
        ScheduledMessage.objects.filter(turnover_id__in=[t.pk for t in existing.values()])
        .values_list("turnover_id", flat=True)
        .distinct()
    )
    default_cleaner = (
        Staff.objects.filter(pk=timing.default_cleaner_id, active=True).first()
        if timing.default_cleaner_id
        else None
    )
    for index, stay in enumerate(stays):
        following = stays[index + 1] if index + 1 < len(stays) else after
        starts_at = check_out_moment(stay)
        ends_at = check_in_moment(following) if following else None
        accept_by = (ends_at or starts_at + timedelta(days=1)) - timedelta(
            hours=timing.accept_deadline_hours
        )
        turnover = existing.pop(stay.pk, None)
        if turnover is None:
            turnover = Turnover.objects.create(
                business_id=prop.business_id,
                property=prop,
                booking=stay,
                next_booking=following,
                cleaner=default_cleaner,
                starts_at=starts_at,
                ends_at=ends_at,
                accept_by=accept_by,
            )
            KeyCode.objects.create(
                business_id=prop.business_id,
                property=prop,
                code=_new_code(prop, timing.key_code_length),
                turnover=turnover,
                valid_from=stay.check_out,
            )
            _schedule_cleaner_job(turnover, timing, now)
            continue
        changes = []
        if turnover.state == Turnover.State.CANCELLED:
            turnover.state = Turnover.State.PENDING
            KeyCode.objects.filter(turnover=turnover).update(retired_at=None)
            changes.append("This job is back on.")
        if turnover.starts_at != starts_at:
            changes.append(
                f"Check-out moved from {_fmt(prop, turnover.starts_at)} to {_fmt(prop, starts_at)}."
            )
        if turnover.ends_at != ends_at:
            changes.append(
                f"Next arrival is now {_fmt(prop, ends_at)} (was {_fmt(prop, turnover.ends_at)})."
            )
        if turnover.cleaner is None and default_cleaner is not None:
            turnover.cleaner = default_cleaner
        if not changes and turnover.next_booking_id == (following.pk if following else None):
            if turnover.cleaner_id and turnover.pk not in with_messages:
                turnover.save(update_fields=["cleaner", "updated_at"])
                _schedule_cleaner_job(turnover, timing, now)
            continue
        told = _cleaner_was_told(turnover)
        turnover.starts_at = starts_at
        turnover.ends_at = ends_at
        turnover.accept_by = accept_by
        turnover.next_booking = following
        if changes:
            turnover.revision += 1
            turnover.owner_alerted_at = None
        turnover.save()
        KeyCode.objects.filter(turnover=turnover).update(valid_from=stay.check_out)
        if told and changes:
            _schedule_cleaner_update(turnover, " ".join(changes), now)
        else:
            _schedule_cleaner_job(turnover, timing, now)
    for turnover in existing.values():
        if turnover.state != Turnover.State.CANCELLED and (
            turnover.booking.status != Booking.Status.CONFIRMED
        ):
            _turnover_cancel(turnover, now)
    key_codes_prune(prop=prop, today=today)


def arrivals_reconcile(*, prop: Property, now: datetime) -> None:
    """Guests who were already told their code and dates get a correction if either
    changed since (another stay moved or was cancelled, or theirs moved)."""
    today = now.astimezone(prop.tz).date()
    timing: Timing | None = None  # looked up once, when a correction is due
    told_rows = (
        ScheduledMessage.objects.filter(
            booking__property=prop,
            booking__status=Booking.Status.CONFIRMED,
            booking__stay__startswith__gte=today - timedelta(days=1),
            kind__in=[Kind.WELCOME, Kind.KEY_UPDATE],
        )
        .filter(Q(state__in=TOLD_STATES) | Q(state=State.FAILED, needs_review=True))
        .select_related("booking__property__business")
        .order_by("booking_id", "sending_at", "id")
    )
    last_told: dict[int, ScheduledMessage] = {}
    for row in told_rows:
        last_told[row.booking_id] = row  # type: ignore[index]
    for row in last_told.values():
        booking = row.booking
        assert booking is not None
        code = code_for_arrival(booking)
        current = {
            "key_code": code.code if code else "",
            "check_in": booking.check_in.isoformat(),
            "check_out": booking.check_out.isoformat(),
        }
        told = {name: row.context.get(name) for name in current}
        if told == current:
            continue
        pending = ScheduledMessage.objects.filter(
            booking=booking, kind=Kind.KEY_UPDATE, state=State.SCHEDULED
        ).exists()
        if pending:
            continue  # it renders the current code and dates when it goes
        changes = []
        if told["check_in"] != current["check_in"] or told["check_out"] != current["check_out"]:
            changes.append(
                f"Your dates are now {booking.check_in:%-d %b} to {booking.check_out:%-d %b %Y}."
            )
        if told["key_code"] != current["key_code"]:
            changes.append(
                f"The key-box code has changed: use {current['key_code']}, not {told['key_code']}."
            )
        revision = (
            ScheduledMessage.objects.filter(booking=booking, kind=Kind.KEY_UPDATE).count() + 1
        )
        timing = timing or timing_for(prop)
        message_schedule(
            business=booking.business,
            kind=Kind.KEY_UPDATE,
            recipient=booking.guest_email,
            recipient_name=booking.guest_name,
            key=f"{_guest_key(booking, Kind.KEY_UPDATE)}:{revision}",
            wanted_at=now,
            expires_at=check_in_moment(booking),
            now=now,
            prop=prop,
            booking=booking,
            context={"changes": " ".join(changes)},
            timing=timing,
        )


def property_messages_refresh(*, prop: Property, now: datetime | None = None) -> None:
    """Bring one property's jobs, codes and messages up to date (idempotent): used after
    settings change, e.g. when a default cleaner is set for existing bookings."""
    now = now or timezone.now()
    with transaction.atomic():
        prop = (
            Property.objects.select_for_update(of=("self",))
            .select_related("business")
            .get(pk=prop.pk)
        )
        for booking in Booking.objects.filter(
            property=prop,
            kind=Booking.Kind.STAY,
            status=Booking.Status.CONFIRMED,
            stay__endswith__gte=prop.local_today(),
        ).select_related("property__business"):
            _schedule_guest_stay_messages(
                booking, now=now, kinds=tuple(k for k in GUEST_STAY_KINDS if k != Kind.CONFIRMATION)
            )
        turnovers_sync(prop=prop, now=now)
        arrivals_reconcile(prop=prop, now=now)
    transaction.on_commit(outbox_kick)


def turnover_cleaner_assigned(*, turnover: Turnover, now: datetime | None = None) -> None:
    """The owner put a (different) cleaner on a job: the new cleaner gets the job email;
    a previous cleaner's unsent one is cancelled."""
    now = now or timezone.now()
    with transaction.atomic():
        turnover = Turnover.objects.select_related("property__business", "cleaner").get(
            pk=turnover.pk
        )
        email = turnover.cleaner.email.lower() if turnover.cleaner else ""
        _cancel_pending(
            _job_messages(turnover).filter(kind=Kind.CLEANER_JOB).exclude(recipient__iexact=email),
            "Another cleaner was assigned.",
        )
        if turnover.cleaner is not None and turnover.state != Turnover.State.CANCELLED:
            _schedule_cleaner_job(turnover, timing_for(turnover.property), now)
    transaction.on_commit(outbox_kick)


# --- Staff actions through email links ------------------------------------------------------


def _turnover_for_action(turnover_id: int, revision: int) -> Turnover:
    turnover = (
        Turnover.objects.select_for_update(of=("self",))
        .select_related("property__business", "cleaner")
        .filter(pk=turnover_id)
        .first()
    )
    if turnover is None:
        raise NotFound("This job no longer exists.")
    if turnover.state == Turnover.State.CANCELLED:
        raise JobClosed("This job was cancelled. Nothing to do.")
    if turnover.revision != revision:
        raise LinkOutdated(
            "This job changed after that email was sent. Please use the newest email."
        )
    return turnover


def turnover_accept(*, turnover_id: int, revision: int, now: datetime | None = None) -> Turnover:
    now = now or timezone.now()
    with transaction.atomic():
        turnover = _turnover_for_action(turnover_id, revision)
        if turnover.state == Turnover.State.PENDING:
            turnover.state = Turnover.State.ACCEPTED
            turnover.accepted_at = now
            turnover.save(update_fields=["state", "accepted_at", "updated_at"])
    return turnover


def turnover_done(*, turnover_id: int, revision: int, now: datetime | None = None) -> Turnover:
    now = now or timezone.now()
    with transaction.atomic():
        turnover = _turnover_for_action(turnover_id, revision)
        if turnover.state != Turnover.State.DONE:
            turnover.accepted_at = turnover.accepted_at or now
            turnover.state = Turnover.State.DONE
            turnover.done_at = now
            turnover.save(update_fields=["state", "accepted_at", "done_at", "updated_at"])
    return turnover


def turnover_report_problem(
    *, turnover_id: int, revision: int, note: str, now: datetime | None = None
) -> Turnover:
    now = now or timezone.now()
    note = note.strip()[:4000]
    with transaction.atomic():
        turnover = _turnover_for_action(turnover_id, revision)
        turnover.state = Turnover.State.PROBLEM
        turnover.problem = note
        turnover.save(update_fields=["state", "problem", "updated_at"])
        reports = _job_messages(turnover).filter(kind=Kind.OWNER_PROBLEM).count()
        _owner_notice(
            business=turnover.property.business,
            kind=Kind.OWNER_PROBLEM,
            key=f"turnover:{turnover.pk}:{reports + 1}",
            now=now,
            turnover=turnover,
            context={"problem": note},
        )
    transaction.on_commit(outbox_kick)
    return turnover


def turnovers_alert_unaccepted(*, now: datetime | None = None, batch: int = 500) -> int:
    """Owners hear about jobs nobody accepted by the deadline (once per job revision)."""
    now = now or timezone.now()
    count = 0
    with transaction.atomic():
        due = list(
            Turnover.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(state=Turnover.State.PENDING, accept_by__lte=now, owner_alerted_at__isnull=True)
            .filter(
                Q(ends_at__gt=now) | Q(ends_at__isnull=True, starts_at__gt=now - timedelta(days=1))
            )
            .select_related("property__business", "cleaner")[:batch]
        )
        for turnover in due:
            who = turnover.cleaner.name if turnover.cleaner else "no cleaner assigned"
            _owner_notice(
                business=turnover.property.business,
                kind=Kind.OWNER_UNACCEPTED,
                key=f"turnover:{turnover.pk}:{turnover.revision}",
                now=now,
                turnover=turnover,
                context={
                    "summary": f"Not accepted by the deadline ({who}); next arrival "
                    f"{_fmt(turnover.property, turnover.ends_at)}."
                },
            )
            turnover.owner_alerted_at = now
            turnover.save(update_fields=["owner_alerted_at", "updated_at"])
            count += 1
    if count:
        transaction.on_commit(outbox_kick)
    return count


# --- Conflicts (from integrations, on commit) ---------------------------------------------


def conflict_notice_schedule(
    *, business_id: int, conflict_id: Any, summary: str, now: datetime | None = None
) -> ScheduledMessage | None:
    now = now or timezone.now()
    business = Business.objects.filter(pk=business_id).first()
    if business is None:
        return None
    with transaction.atomic():
        row = _owner_notice(
            business=business,
            kind=Kind.OWNER_CONFLICT,
            key=f"conflict:{conflict_id}",
            now=now,
            context={"summary": str(summary)[:500]},
        )
    transaction.on_commit(outbox_kick)
    return row


def refund_notice_schedule(
    *, booking_id: int, refund_id: int, summary: str, now: datetime | None = None
) -> ScheduledMessage | None:
    """Tell the guest of a refund they did not ask for (once per refund)."""
    now = now or timezone.now()
    booking = (
        Booking.objects.select_related("business", "property__business")
        .filter(pk=booking_id)
        .first()
    )
    if booking is None or not booking.guest_email:
        return None
    with transaction.atomic():
        row = message_schedule(
            business=booking.business,
            kind=Kind.REFUND_NOTICE,
            recipient=booking.guest_email,
            recipient_name=booking.guest_name,
            key=f"refund:{refund_id}:{Kind.REFUND_NOTICE}:{booking.guest_email.lower()}",
            wanted_at=now,
            now=now,
            prop=booking.property,
            booking=booking,
            context={"summary": str(summary)[:500]},
        )
    transaction.on_commit(outbox_kick)
    return row


# --- Broadcasts and unsubscribes ------------------------------------------------------------


def broadcast_send(
    *,
    business: Business,
    property: Property,
    free_from: date,
    free_until: date,
    note: str = "",
    now: datetime | None = None,
) -> Broadcast:
    """Tell every past guest of the property (once each, unsubscribed ones excluded)
    that these dates are free. Goes through the outbox and the rate limit."""
    now = now or timezone.now()
    if property.business_id != business.pk:
        raise NotFound("No such property.")
    today = property.local_today()
    if free_until <= free_from:
        raise InvalidBroadcast(
            "The free range must end after it starts.", fields={"free_until": ["after start"]}
        )
    if free_until <= today:
        raise InvalidBroadcast(
            "These dates are in the past.", fields={"free_from": ["in the past"]}
        )
    with transaction.atomic():
        broadcast = Broadcast.objects.create(
            business=business,
            property=property,
            free_from=free_from,
            free_until=free_until,
            note=note,
        )
        opted_out = {
            e.lower()
            for e in GuestOptOut.objects.filter(business=business).values_list("email", flat=True)
        }
        guests: dict[str, str] = {}
        for email, name in (
            Booking.objects.filter(
                property=property,
                kind=Booking.Kind.STAY,
                status=Booking.Status.CONFIRMED,
                stay__endswith__lte=today,
            )
            .exclude(guest_email="")
            .order_by("-stay")
            .values_list("guest_email", "guest_name")
        ):
            address = email.strip().lower()
            if address not in opted_out:
                guests.setdefault(address, name)
        timing = timing_for(property)
        expires_at = local_moment(property, free_until - timedelta(days=1), property.check_in_time)
        state, send_at, reason = _plan(
            prop=property,
            timing=timing,
            kind=Kind.BROADCAST,
            wanted_at=now,
            expires_at=expires_at,
            now=now,
        )
        rows = [
            ScheduledMessage(
                business=business,
                broadcast=broadcast,
                kind=Kind.BROADCAST,
                recipient=email,
                recipient_name=name[:150],
                key=f"broadcast:{broadcast.pk}:{email}",
                send_at=send_at,
                expires_at=expires_at,
                priority=KIND_PRIORITY[Kind.BROADCAST],
                state=state,
                last_error=reason,
            )
            for email, name in guests.items()
        ]
        ScheduledMessage.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
        broadcast.total = len(rows)
        broadcast.save(update_fields=["total"])
    transaction.on_commit(outbox_kick)
    return broadcast


def guest_unsubscribe(*, business_id: int, email: str) -> GuestOptOut:
    email = email.strip().lower()
    with transaction.atomic():
        business = Business.objects.filter(pk=business_id).first()
        if business is None:
            raise NotFound("No such business.")
        opt_out, _ = GuestOptOut.objects.get_or_create(business=business, email=email)
        _cancel_pending(
            ScheduledMessage.objects.filter(
                business=business, kind=Kind.BROADCAST, recipient__iexact=email
            ),
            "The guest unsubscribed.",
        )
    return opt_out


# --- Dispatching and sending ------------------------------------------------------------------


def outbox_claim_due(
    *, now: datetime | None = None, limit: int | None = None
) -> list[tuple[int, int]]:
    """Claim due rows, most urgent first: (id, priority) pairs.

    See `properties.db.claim_due`: any number of dispatchers may run at once, and a
    row whose task vanished (Redis flushed, worker lost) is claimed again when its
    lease runs out."""
    now = now or timezone.now()
    limit = limit or settings.MESSAGING_DISPATCH_BATCH
    # Leave time for everything claimed to pass the rate limit before a re-claim.
    lease_seconds = settings.MESSAGING_CLAIM_LEASE_SECONDS + limit / settings.EMAIL_RATE_PER_SECOND
    lease = now + timedelta(seconds=lease_seconds)
    rows = claim_due(
        table="messaging_scheduledmessage",
        where="state = 'scheduled' AND send_at <= %(now)s",
        order_by="priority, send_at, id",
        now=now,
        limit=limit,
        lease_until=lease,
        returning=("id", "priority", "send_at"),
    )
    rows.sort(key=lambda r: (r[1], r[2], r[0]))
    return [(int(r[0]), int(r[1])) for r in rows]


def outbox_release(*, message_ids: list[int]) -> None:
    ScheduledMessage.objects.filter(pk__in=message_ids, state=State.SCHEDULED).update(
        claimed_until=None
    )


def outbox_dispatch(
    *, now: datetime | None = None, enqueue: Callable[[int, int], None] | None = None
) -> int:
    """One dispatcher run: claim what is due and hand each row to a send task."""
    if enqueue is None:
        from messaging.tasks import send_message

        def enqueue(message_id: int, priority: int) -> None:
            send_message.apply_async((message_id,), priority=priority)

    claimed = outbox_claim_due(now=now)
    for index, (message_id, priority) in enumerate(claimed):
        try:
            enqueue(message_id, priority)
        except Exception:
            outbox_release(message_ids=[m for m, _ in claimed[index:]])
            raise
    return len(claimed)


def _paid(booking: Booking) -> bool:
    if booking.source in PAID_ELSEWHERE or booking.total <= 0:
        return True
    return booking.amount_paid - booking.amount_refunded >= booking.total


def _skip_reason(row: ScheduledMessage, now: datetime) -> str:
    if row.expires_at is not None and now >= row.expires_at:
        return f"Too late: only useful until {row.expires_at:%Y-%m-%d %H:%M} UTC."
    booking = row.booking
    if booking is not None and AUDIENCE[row.kind] == Audience.GUEST:
        if row.kind != Kind.CANCELLATION and booking.status != Booking.Status.CONFIRMED:
            return f"The booking is {booking.get_status_display().lower()}."
        if row.kind in (Kind.WELCOME, Kind.KEY_UPDATE) and not _paid(booking):
            return "The stay is not paid in full: no key code is sent."
    if row.kind == Kind.KEY_UPDATE and booking is not None and not _details_changed(row, booking):
        return "Nothing changed since the last email to this guest."
    if (
        row.kind == Kind.CLEANER_JOB
        and row.turnover is not None
        and row.turnover.state == Turnover.State.CANCELLED
    ):
        return "The cleaning job was cancelled."
    if (
        row.kind == Kind.BROADCAST
        and GuestOptOut.objects.filter(business=row.business, email=row.recipient.lower()).exists()
    ):
        return "The guest unsubscribed."
    return ""


def _details_changed(row: ScheduledMessage, booking: Booking) -> bool:
    last = (
        ScheduledMessage.objects.filter(booking=booking, kind__in=[Kind.WELCOME, Kind.KEY_UPDATE])
        .filter(Q(state__in=TOLD_STATES) | Q(state=State.FAILED, needs_review=True))
        .exclude(pk=row.pk)
        .order_by("-sending_at", "-id")
        .first()
    )
    if last is None:
        return True
    code = code_for_arrival(booking)
    current = {
        "key_code": code.code if code else "",
        "check_in": booking.check_in.isoformat(),
        "check_out": booking.check_out.isoformat(),
    }
    return any(last.context.get(name) != value for name, value in current.items())


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(60 * 2 ** max(attempts - 1, 0), 3600))


def outbox_send(
    *,
    message_id: int,
    now: datetime | None = None,
    limiter: SendRateLimiter | None = None,
) -> str:
    """Send one outbox row, at most once. Returns what happened (for logs and tests).

    The order matters for the delivery guarantee (docs/scheduling.md):
    1. wait for a slot of the global rate limit (nothing written yet);
    2. lock the row and move it `scheduled -> sending` (committed) — only one task can;
    3. hand the email to the provider, outside any transaction;
    4. record `sent` with the provider's id.
    A crash before 2 leaves the row `scheduled` (claimed again later); a crash
    between 2 and 4 leaves it `sending`, which `outbox_recover_stale` marks for review
    instead of sending it again."""
    found = list(
        ScheduledMessage.objects.filter(pk=message_id).order_by().values("state", "send_at")[:1]
    )
    peek = found[0] if found else None
    clock = now or timezone.now()
    if peek is None or peek["state"] != State.SCHEDULED or peek["send_at"] > clock:
        return "not-due"
    limiter = limiter or SendRateLimiter.from_settings()
    granted_at = limiter.acquire(timeout=settings.MESSAGING_RATE_WAIT_SECONDS)
    if granted_at is None:
        outbox_release(message_ids=[message_id])
        return "rate-limited"
    clock = now or timezone.now()
    with transaction.atomic():
        # Lock only this row (a plain query: cheap to build, nothing else locked);
        # related rows are loaded lazily, only for the kinds that have them.
        rows = list(
            ScheduledMessage.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("business")
            .filter(pk=message_id, state=State.SCHEDULED, send_at__lte=clock)
            .order_by()[:1]
        )
        row = rows[0] if rows else None
        if row is None:
            return "taken"
        reason = _skip_reason(row, clock)
        if reason:
            row.state = State.SKIPPED
            row.last_error = reason
            row.save(update_fields=["state", "last_error", "updated_at"])
            return "skipped"
        if not row.message_id:
            row.message_id = message_id_for(row)
        try:
            email, told = build_email(row, now=clock)
        except Exception as exc:
            log.exception("Could not render message %s", row.pk)
            row.state = State.FAILED
            row.last_error = f"Could not render the email: {exc}"[:2000]
            row.save(update_fields=["state", "last_error", "message_id", "updated_at"])
            return "failed"
        row.state = State.SENDING
        row.attempts += 1
        row.sending_at = granted_at
        row.context = {**row.context, **told}
        row.save(
            update_fields=["state", "attempts", "sending_at", "context", "message_id", "updated_at"]
        )
    try:
        backend = get_connection()
        backend.send_messages([email])
    except Exception as exc:
        return _after_failure(message_id, exc)
    status = getattr(email, "anymail_status", None)
    provider_id = (getattr(status, "message_id", None) or "") if status else ""
    provider_id = str(provider_id or row.message_id)
    sent_at = timezone.now()
    with transaction.atomic():
        updated = ScheduledMessage.objects.filter(pk=row.pk, state=State.SENDING).update(
            state=State.SENT,
            sent_at=sent_at,
            provider_message_id=provider_id[:255],
            last_error="",
            needs_review=False,
            updated_at=sent_at,
        )
        SentEmail.objects.create(
            business_id=row.business_id,
            scheduled_message=row,
            kind=row.kind,
            to=row.recipient,
            subject=email.subject[:255],
            message_id=row.message_id,
            provider_message_id=provider_id[:255],
            backend=f"{type(backend).__module__}.{type(backend).__name__}"[:120],
            sent_at=sent_at,
        )
    return "sent" if updated else "sent-late"


def _after_failure(message_id: int, exc: Exception) -> str:
    """The provider refused or could not be reached: it did not accept the message, so
    trying again later is safe. After the last attempt the row fails for good."""
    with transaction.atomic():
        row = ScheduledMessage.objects.select_for_update().get(pk=message_id)
        error = f"{type(exc).__name__}: {exc}"[:2000]
        row.last_error = error
        row.claimed_until = None
        if row.attempts >= settings.MESSAGING_MAX_ATTEMPTS:
            row.state = State.FAILED
            outcome = "failed"
        else:
            row.state = State.SCHEDULED
            row.send_at = timezone.now() + _backoff(row.attempts)
            outcome = "retry"
        row.save(update_fields=["state", "last_error", "claimed_until", "send_at", "updated_at"])
    log.warning("Message %s not sent (%s): %s", message_id, outcome, error)
    return outcome


def outbox_recover_stale(*, now: datetime | None = None) -> int:
    """Rows left in `sending` by a process that died mid-send.

    We cannot know whether the provider accepted the email before the crash, so the
    row is not sent again automatically (that could deliver it twice): it is marked
    failed and `needs_review`, and shows up in the admin's outbox for a person to
    check (the Message-ID is in the SentEmail log and the provider's logs) and, if
    needed, "send again"."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.MESSAGING_SENDING_STALE_SECONDS)
    return int(
        ScheduledMessage.objects.filter(state=State.SENDING, sending_at__lt=cutoff).update(
            state=State.FAILED,
            needs_review=True,
            last_error=(
                "Interrupted while sending: the provider may or may not have accepted it. "
                "Not re-sent automatically; check and use 'Send now' if it did not arrive."
            ),
            updated_at=now,
        )
    )


def outbox_send_now(
    *, business: Business, message_ids: list[int], now: datetime | None = None
) -> int:
    """An owner's explicit "send now": due at once, including a failed or skipped row
    (a person decided; this is how a row marked for review is sent again)."""
    now = now or timezone.now()
    return int(
        ScheduledMessage.objects.filter(
            business=business,
            pk__in=message_ids,
            state__in=[State.SCHEDULED, State.FAILED, State.SKIPPED],
        ).update(
            state=State.SCHEDULED,
            send_at=now,
            expires_at=None,
            claimed_until=None,
            needs_review=False,
            updated_at=now,
        )
    )


def outbox_cancel(*, business: Business, message_ids: list[int]) -> int:
    return _cancel_pending(
        ScheduledMessage.objects.filter(business=business, pk__in=message_ids),
        "Cancelled by the owner.",
    )
