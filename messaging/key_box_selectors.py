"""A key box as the owner sees it: the code confirmed on it, the codes before it, the
next code a cleaner is to set, and which code each upcoming guest was or will be sent
and why (the admin's key box page, the dashboard's staff and key codes page, Today)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Q

from bookings.models import Booking
from messaging.key_box_reads import box_arrivals, box_codes, box_properties, explaining_emails
from messaging.models import (
    BusinessMessaging,
    KeyBox,
    KeyCode,
    KeyCodeConfirmation,
    Kind,
    PropertyMessaging,
    ScheduledMessage,
    Turnover,
)
from messaging.selectors import (
    TOLD,
    Timing,
    check_in_moment,
    cleaner_words,
    job_email,
    planned_code_for_arrival,
    timing_for,
    timing_from,
    welcome_due_at,
    welcome_wait_until,
)
from properties.models import Business, Property
from properties.permissions import Scope


@dataclass(frozen=True)
class ArrivalCode:
    """Which code one upcoming guest was or will be sent, and why."""

    booking: Booking
    check_in: datetime
    code: str  # the code they were last sent, else the one they would be sent now
    sent_at: datetime | None  # when they were last sent a code (None: not yet)
    planned: str  # the code the cleaner before them is told to set
    status: str  # sent | correction due | waiting for the cleaner | scheduled | none
    reason: str


@dataclass(frozen=True)
class BoxCode:
    """A code that is or was on the box, and the latest confirmation of it."""

    code: KeyCode
    confirmation: KeyCodeConfirmation | None


@dataclass(frozen=True)
class KeyBoxState:
    """A property's key box: the confirmed code, the next code to set, the arrivals."""

    property: Property
    confirmed: KeyCode | None
    confirmed_since: datetime | None
    last_confirmation: KeyCodeConfirmation | None
    next_code: KeyCode | None  # the next code a cleaner is to set (unconfirmed)
    next_job: Turnover | None
    arrivals: list[ArrivalCode]
    # The last codes on the box, the current one first (at most CODES_SHOWN): the
    # codes past guests may know.
    recent: list[BoxCode]
    next_state: str  # how far the next job's cleaner got ("" without a job)


# Kept codes are deleted once four newer ones were confirmed (services.key_codes), so
# the current code and the ones before it are at most four.
CODES_SHOWN = 4


class _Reads:
    """What explaining a key box needs besides the property's codes, read one row at a
    time (the admin's page of one property); `_BusinessReads` reads it for every
    property of a business at once."""

    def timing(self, prop: Property) -> Timing:
        return timing_for(prop)

    def told(self, booking: Booking) -> ScheduledMessage | None:
        return (
            ScheduledMessage.objects.filter(
                booking=booking, kind__in=[Kind.WELCOME, Kind.KEY_UPDATE]
            )
            .filter(TOLD)
            .order_by("-sending_at", "-id")
            .first()
        )

    def welcome(self, booking: Booking) -> ScheduledMessage | None:
        return (
            ScheduledMessage.objects.filter(booking=booking, kind=Kind.WELCOME)
            .order_by("send_at", "id")
            .first()
        )

    def job_email(self, job: Turnover) -> ScheduledMessage | None:
        return job_email(job)

    def cleaner_state(self, job: Turnover | None) -> str:
        return cleaner_words(job, self.job_email(job) if job is not None else None)


def key_box_state(prop: Property, *, now: datetime, days: int = 30) -> KeyBoxState:
    """For the admin and the dashboard: the code confirmed on the box, the planned
    next code, and for each arrival in the next `days` the code its guest was or will
    be sent and why."""
    box = KeyBox.objects.filter(property=prop).select_related("key_code").first()
    confirmed = box.key_code if box else None
    confirmations = list(
        KeyCodeConfirmation.objects.filter(property=prop).select_related(
            "key_code", "confirmed_by_user", "confirmed_by_staff"
        )
    )
    # A job's code while its next guest is still to come; with nothing confirmed yet,
    # the property's first code comes first (the owner sets and confirms it).
    open_job = Q(turnover__isnull=False) & (
        Q(turnover__ends_at__gt=now) | Q(turnover__ends_at__isnull=True)
    )
    next_code = (
        KeyCode.objects.filter(property=prop, retired_at__isnull=True, confirmed_at__isnull=True)
        .filter(open_job | Q(turnover__isnull=True) if confirmed is None else open_job)
        .exclude(turnover__state=Turnover.State.CANCELLED)
        .select_related("turnover__cleaner")
        .order_by("valid_from", "id")
        .first()
    )
    today = now.astimezone(prop.tz).date()
    bookings = (
        Booking.objects.filter(
            property=prop,
            kind=Booking.Kind.STAY,
            status=Booking.Status.CONFIRMED,
            stay__startswith__gte=today,
            stay__startswith__lte=today + timedelta(days=days),
        )
        .select_related("property__business")
        .order_by("stay")
    )
    reads = _Reads()
    arrivals = [
        _arrival_code(
            booking, now=now, box=confirmed, planned=planned_code_for_arrival(booking), reads=reads
        )
        for booking in bookings
    ]
    confirmed_codes = KeyCode.objects.filter(property=prop, confirmed_at__isnull=False)
    next_job = next_code.turnover if next_code else None
    return KeyBoxState(
        property=prop,
        confirmed=confirmed,
        confirmed_since=box.since if box else None,
        last_confirmation=confirmations[0] if confirmations else None,
        next_code=next_code,
        next_job=next_job,
        arrivals=[a for a in arrivals if a.check_in > now],
        recent=_recent(confirmed, list(confirmed_codes), confirmations),
        next_state=reads.cleaner_state(next_job) if next_job else "",
    )


def _recent(
    on_box: KeyCode | None, codes: list[KeyCode], confirmations: list[KeyCodeConfirmation]
) -> list[BoxCode]:
    """The code on the box, then the codes confirmed before it, newest first, each with
    its latest confirmation (`confirmations` newest first)."""
    latest: dict[int, KeyCodeConfirmation] = {}
    for confirmation in confirmations:
        latest.setdefault(confirmation.key_code_id, confirmation)
    confirmed = sorted(
        (c for c in codes if c.confirmed_at is not None and (on_box is None or c.pk != on_box.pk)),
        key=lambda c: (latest[c.pk].confirmed_at if c.pk in latest else c.confirmed_at, c.pk),
        reverse=True,
    )
    shown = ([on_box] if on_box is not None else []) + confirmed
    return [BoxCode(code=c, confirmation=latest.get(c.pk)) for c in shown[:CODES_SHOWN]]


class _BusinessReads(_Reads):
    """The reads of `_Reads` for many arrivals and jobs of one business: one query
    whatever their number (the welcome, key-update and cleaner emails together), the
    settings coming with `properties` (`key_box_states` reads them with the
    properties)."""

    def __init__(
        self,
        *,
        business_settings: BusinessMessaging,
        properties: list[Property],
        bookings: list[Booking],
        jobs: list[Turnover],
    ) -> None:
        biz = business_settings
        self._timing = {
            p.pk: timing_from(
                p,
                biz,
                _cached_one(p, "messaging_settings")
                or PropertyMessaging(property=p, business_id=p.business_id),
            )
            for p in properties
        }
        self._told: dict[int, ScheduledMessage] = {}
        self._welcome: dict[int, ScheduledMessage] = {}
        self._email: dict[int, ScheduledMessage] = {}
        guest_kinds = (Kind.WELCOME, Kind.KEY_UPDATE)
        rows = explaining_emails(bookings, jobs)
        told_states = (ScheduledMessage.State.SENT, ScheduledMessage.State.SENDING)
        for row in rows:
            booking_id = row.booking_id
            if row.kind not in guest_kinds or booking_id is None:
                continue
            told = row.state in told_states or (
                row.state == ScheduledMessage.State.FAILED and row.needs_review
            )
            if told and _told_later(row, self._told.get(booking_id)):
                self._told[booking_id] = row
            first = self._welcome.get(booking_id)
            if row.kind == Kind.WELCOME and (first is None or row.send_at < first.send_at):
                self._welcome[booking_id] = row
        cleaners = {j.pk: j.cleaner.email.upper() for j in jobs if j.cleaner is not None}
        # Newest first, as ORDER BY created_at DESC, id DESC.
        for email in sorted(rows, key=lambda m: (m.created_at, m.pk), reverse=True):
            job_id = email.turnover_id
            if email.kind not in (Kind.CLEANER_JOB, Kind.CLEANER_UPDATE) or job_id is None:
                continue
            if email.recipient.upper() == cleaners.get(job_id) and job_id not in self._email:
                self._email[job_id] = email

    def timing(self, prop: Property) -> Timing:
        return self._timing[prop.pk]

    def told(self, booking: Booking) -> ScheduledMessage | None:
        return self._told.get(booking.pk)

    def welcome(self, booking: Booking) -> ScheduledMessage | None:
        return self._welcome.get(booking.pk)

    def job_email(self, job: Turnover) -> ScheduledMessage | None:
        return self._email.get(job.pk)


def _cached_one(obj: object, name: str) -> Any:
    """A reverse one-to-one read with `select_related`: the row, or None without one
    (read again, one query, when it was not selected)."""
    try:
        return getattr(obj, name)
    except ObjectDoesNotExist:
        return None


def _told_later(row: ScheduledMessage, than: ScheduledMessage | None) -> bool:
    """Whether `row` comes before `than` in ORDER BY sending_at DESC, id DESC (where
    PostgreSQL puts a missing time first)."""
    if than is None:
        return True

    def key(m: ScheduledMessage) -> tuple[bool, datetime | None, int]:
        return (m.sending_at is None, m.sending_at, m.pk)

    mine, theirs = key(row), key(than)
    if mine[0] != theirs[0]:
        return mine[0]
    if mine[1] != theirs[1] and mine[1] is not None and theirs[1] is not None:
        return mine[1] > theirs[1]
    return mine[2] > theirs[2]


def key_box_states(
    *,
    business: Business,
    now: datetime,
    days: int = 30,
    scope: Scope | None = None,
    history: bool = True,
) -> list[KeyBoxState]:
    """`key_box_state` of every property of a business (of the member's `scope`), by
    name, in a constant number of queries whatever the number of properties, codes and
    arrivals: five, four without `history` (then `last_confirmation` is None and
    `recent` empty: Today's panel shows neither). The properties come with their box,
    its code and their messaging settings and the business's (one query); the codes
    that can matter in one more, the arrivals, and the emails that explain them."""
    properties, business_settings = box_properties(
        business=business, now=now, days=days, scope=scope, arriving_only=False
    )
    if not properties:
        return []
    by_id = {p.pk: p for p in properties}
    today = {p.pk: now.astimezone(p.tz).date() for p in properties}
    first_day, last_day = min(today.values()), max(today.values()) + timedelta(days=days)
    boxes: dict[int, KeyBox] = {
        p.pk: box for p in properties if (box := _cached_one(p, "key_box")) is not None
    }
    codes = box_codes(list(by_id), first_day=first_day, now=now)
    by_property: dict[int, list[KeyCode]] = {pk: [] for pk in by_id}
    for code in sorted(codes, key=lambda c: (c.valid_from, c.pk), reverse=True):
        by_property[code.property_id].append(code)
    confirmations = (
        list(
            KeyCodeConfirmation.objects.filter(property__in=list(by_id)).select_related(
                "key_code", "confirmed_by_user", "confirmed_by_staff"
            )
        )
        if history
        else []
    )
    bookings = [
        b
        for b in box_arrivals(list(by_id), first_day=first_day, last_day=last_day)
        if today[b.property_id] <= b.check_in <= today[b.property_id] + timedelta(days=days)
    ]
    plans: dict[int, KeyCode | None] = {}
    for booking in bookings:
        booking.property = by_id[booking.property_id]
        plans[booking.pk] = next(
            (
                c
                for c in by_property[booking.property_id]
                if c.retired_at is None and c.valid_from <= booking.check_in
            ),
            None,
        )
    nexts = {pk: _next_code(by_property[pk], box=boxes.get(pk), now=now) for pk in by_id}
    jobs = [c.turnover for c in [*plans.values(), *nexts.values()] if c and c.turnover]
    reads = _BusinessReads(
        business_settings=business_settings, properties=properties, bookings=bookings, jobs=jobs
    )
    arriving: dict[int, list[Booking]] = {pk: [] for pk in by_id}
    for booking in bookings:
        arriving[booking.property_id].append(booking)
    confirmed_at: dict[int, list[KeyCodeConfirmation]] = {pk: [] for pk in by_id}
    for confirmation in confirmations:
        confirmed_at[confirmation.property_id].append(confirmation)
    states = []
    for prop in properties:
        box = boxes.get(prop.pk)
        confirmed = box.key_code if box else None
        mine = confirmed_at[prop.pk]
        next_code = nexts[prop.pk]
        next_job = next_code.turnover if next_code else None
        arrivals = [
            _arrival_code(b, now=now, box=confirmed, planned=plans[b.pk], reads=reads)
            for b in arriving[prop.pk]
        ]
        states.append(
            KeyBoxState(
                property=prop,
                confirmed=confirmed,
                confirmed_since=box.since if box else None,
                last_confirmation=mine[0] if mine else None,
                next_code=next_code,
                next_job=next_job,
                arrivals=[a for a in arrivals if a.check_in > now],
                recent=_recent(confirmed, by_property[prop.pk], mine) if history else [],
                next_state=reads.cleaner_state(next_job) if next_job else "",
            )
        )
    return states


@dataclass(frozen=True)
class ArrivalInDoubt:
    property: Property
    box_confirmed: bool  # whether any code is confirmed on the property's box
    arrival: ArrivalCode


def arrivals_in_doubt(
    *,
    business: Business,
    now: datetime,
    days: int,
    doubtful: Callable[[str], bool],
    limit: int,
    scope: Scope | None = None,
) -> tuple[list[ArrivalInDoubt], int]:
    """For Today: the guests arriving in the next `days` (of the member's `scope`)
    whose code is in doubt, by check-in, the first `limit` of them explained as
    `key_box_states` explains them, and how many there are. A guest is in doubt when
    their property's box has no confirmed code, or when `doubtful(status)` of their
    `ArrivalCode`. Only what decides or shows an arrival is explained: every arrival at
    a box with a confirmed code (to know), and the first `limit` of the others; the
    reads grow with those, not with a chain's rooms. Four queries."""
    properties, business_settings = box_properties(
        business=business, now=now, days=days, scope=scope, arriving_only=True
    )
    if not properties:
        return [], 0
    by_id = {p.pk: p for p in properties}
    today = {p.pk: now.astimezone(p.tz).date() for p in properties}
    first_day, last_day = min(today.values()), max(today.values()) + timedelta(days=days)
    boxes: dict[int, KeyBox] = {
        p.pk: box for p in properties if (box := _cached_one(p, "key_box")) is not None
    }
    arriving = []
    for booking in box_arrivals(list(by_id), first_day=first_day, last_day=last_day):
        if (
            today[booking.property_id]
            <= booking.check_in
            <= (today[booking.property_id] + timedelta(days=days))
        ):
            booking.property = by_id[booking.property_id]
            if (moment := check_in_moment(booking)) > now:
                arriving.append((moment, booking))
    arriving.sort(key=lambda pair: (pair[0], pair[1].pk))
    unboxed = [b for _, b in arriving if b.property_id not in boxes]
    explained = [b for _, b in arriving if b.property_id in boxes] + unboxed[:limit]
    if not explained:
        return [], 0
    codes = box_codes(sorted({b.property_id for b in explained}), first_day=first_day, now=now)
    by_property: dict[int, list[KeyCode]] = {}
    for code in sorted(codes, key=lambda c: (c.valid_from, c.pk), reverse=True):
        by_property.setdefault(code.property_id, []).append(code)
    plans = {
        b.pk: next(
            (
                c
                for c in by_property.get(b.property_id, [])
                if c.retired_at is None and c.valid_from <= b.check_in
            ),
            None,
        )
        for b in explained
    }
    jobs = [c.turnover for c in plans.values() if c and c.turnover]
    reads = _BusinessReads(
        business_settings=business_settings,
        properties=[by_id[pk] for pk in {b.property_id for b in explained}],
        bookings=explained,
        jobs=jobs,
    )
    found = []
    for booking in explained:
        box = boxes.get(booking.property_id)
        confirmed = box.key_code if box else None
        arrival = _arrival_code(
            booking, now=now, box=confirmed, planned=plans[booking.pk], reads=reads
        )
        if confirmed is None or doubtful(arrival.status):
            found.append(ArrivalInDoubt(booking.property, confirmed is not None, arrival))
    found.sort(key=lambda a: (a.arrival.check_in, a.arrival.booking.pk))
    total = len(unboxed) + sum(1 for a in found if a.box_confirmed)
    return found[:limit], total


def _next_code(codes: list[KeyCode], *, box: KeyBox | None, now: datetime) -> KeyCode | None:
    """`key_box_state`'s next code among a property's codes (newest first)."""
    for code in reversed(codes):
        job = code.turnover
        if code.retired_at is not None or code.confirmed_at is not None:
            continue
        if job is not None and job.state == Turnover.State.CANCELLED:
            continue
        if job is not None and (job.ends_at is None or job.ends_at > now):
            return code
        if job is None and box is None:
            return code
    return None


def _arrival_code(
    booking: Booking, *, now: datetime, box: KeyCode | None, planned: KeyCode | None, reads: _Reads
) -> ArrivalCode:
    code, sent_at, status, reason = _arrival_explained(
        booking, now=now, box=box, planned=planned, reads=reads
    )
    return ArrivalCode(
        booking=booking,
        check_in=check_in_moment(booking),
        code=code,
        sent_at=sent_at,
        planned=planned.code if planned else "",
        status=status,
        reason=reason,
    )


def _arrival_explained(
    booking: Booking, *, now: datetime, box: KeyCode | None, planned: KeyCode | None, reads: _Reads
) -> tuple[str, datetime | None, str, str]:
    """(code, sent at, status, reason) of one arrival."""
    to_send = box or planned
    sending = to_send.code if to_send else ""
    new_code = ""
    if planned is not None and planned.confirmed_at is None and planned != box:
        new_code = (
            f" The new code {planned.code} is not confirmed yet: "
            f"{reads.cleaner_state(planned.turnover)}"
        )
    told = reads.told(booking)
    if told is not None:
        sent = str(told.context.get("key_code", ""))
        if sent != sending:
            reason = f"Sent {sent}; the box now has {sending}: a correction goes out."
            return sent, told.sending_at, "correction due", reason
        if box is None:
            return sent, told.sending_at, "sent", f"Sent {sent}; no code is confirmed on the box."
        reason = f"Sent {sent}, the code confirmed on the box." + new_code
        return sent, told.sending_at, "sent", reason
    welcome = reads.welcome(booking)
    if welcome is None or welcome.state != ScheduledMessage.State.SCHEDULED:
        why = welcome.last_error if welcome is not None else "No welcome email for this stay."
        return "", None, "none", why or "The welcome was not sent."
    timing = reads.timing(booking.property)
    wait = welcome_wait_until(
        booking,
        now=max(now, welcome_due_at(booking, timing)),
        planned=planned,
        timing=timing,
    )
    if wait is not None and planned is not None:
        job = planned.turnover
        who = job.cleaner.name if job and job.cleaner else "the cleaner"
        reason = (
            f"Gets {planned.code} as soon as {who} confirms setting it after the cleaning; "
            f"if it is not confirmed by {_local(booking.property, wait)}, gets "
            f"{sending or 'no code'} (on the box) and you are alerted."
        )
        return planned.code, None, "waiting for the cleaner", reason
    when = _local(booking.property, max(welcome.send_at, now))
    if box is None:
        reason = f"Gets {sending} at {when}, but no code is confirmed on the box yet: confirm it."
    else:
        reason = f"Gets {sending}, the code confirmed on the box, at {when}." + new_code
    return sending, None, "scheduled", reason


def _local(prop: Property, moment: datetime) -> str:
    local = moment.astimezone(prop.tz)
    return f"{local:%a} {local.day} {local:%b} {local:%H:%M}"
