"""Key-box codes: a new code for each cleaning job, a replacement when someone who
must not know a code was told it, pruning, telling guests when the code or the dates
they were told changed, and releasing welcomes that waited for a confirmation.

The cleaner of the job before an arrival is told to set that job's code; it is on the
box only once someone confirms it (`messaging.services.key_box`), and guests are sent
the code confirmed on the box (docs/scheduling.md). Callers hold the property's row
lock, which serialises code work per property.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta

from django.db.models import BooleanField, Count, Exists, ExpressionWrapper, OuterRef, Q
from django.utils import translation
from django.utils.translation import gettext

from bookings.models import Booking
from messaging.models import KeyBox, KeyCode, Kind, ScheduledMessage, Turnover
from messaging.selectors import (
    TOLD,
    Timing,
    arrival_details,
    check_in_moment,
    timing_for,
    welcome_due_at,
)
from messaging.services.outbox import message_row, messages_upsert
from messaging.services.stay_messages import guest_message_key
from properties.dates import format_day
from properties.models import Property

State = ScheduledMessage.State
BASE_CODE_DAY = date(2000, 1, 1)
# A code is kept (and never handed out again) until this many newer codes were
# confirmed on the box.
CODES_KEPT = 4


def key_code_new(*, prop: Property, length: int) -> str:
    """A fresh code, equal to none of the property's kept codes (so never to any of the
    last four on the box: codes are kept until four newer ones were confirmed)."""
    return _fresh_code(
        length, set(KeyCode.objects.filter(property=prop).values_list("code", flat=True))
    )


def key_code_ensure_first(*, prop: Property, timing: Timing | None = None) -> KeyCode:
    """The property's first code: the one to set before any turnover we know of. Like
    every code, it is on the box only once the owner confirms it (or another)."""
    first = KeyCode.objects.filter(property=prop).order_by("valid_from", "id").first()
    if first is not None:
        return first
    timing = timing or timing_for(prop)
    return KeyCode.objects.create(
        business_id=prop.business_id,
        property=prop,
        code=key_code_new(prop=prop, length=timing.key_code_length),
        valid_from=BASE_CODE_DAY,
    )


def key_codes_in_use(*, prop: Property, timing: Timing) -> set[str]:
    """The property's kept codes, in one read; the first code is made when there is none
    (see `key_code_ensure_first`). A code planned from this set is new to the box."""
    taken = set(KeyCode.objects.filter(property=prop).values_list("code", flat=True))
    if not taken:
        taken.add(key_code_ensure_first(prop=prop, timing=timing).code)
    return taken


def key_codes_plan(
    *, jobs: list[tuple[Turnover, date]], length: int, taken: set[str]
) -> list[KeyCode]:
    """The codes the cleaners of new jobs set (each job with the day it is on the box
    from), in one insert; each differs from `taken` and from the others, and joins
    `taken`."""
    codes = []
    for turnover, valid_from in jobs:
        code = _fresh_code(length, taken)
        taken.add(code)
        codes.append(
            KeyCode(
                business_id=turnover.business_id,
                property_id=turnover.property_id,
                code=code,
                turnover=turnover,
                valid_from=valid_from,
            )
        )
    return KeyCode.objects.bulk_create(codes) if codes else codes


def _fresh_code(length: int, taken: set[str]) -> str:
    while True:
        code = f"{secrets.randbelow(10**length):0{length}d}"
        if code not in taken:
            return code


def key_code_plan(*, turnover: Turnover, valid_from: date, length: int) -> KeyCode:
    """The code the cleaner of a new job sets, on the box from `valid_from`."""
    prop = turnover.property
    return KeyCode.objects.create(
        business_id=prop.business_id,
        property=prop,
        code=key_code_new(prop=prop, length=length),
        turnover=turnover,
        valid_from=valid_from,
    )


def key_code_replace(*, turnover: Turnover, now: datetime) -> KeyCode:
    """Plan a new code for a job in place of its current one (someone who is no longer
    on the job was told it). The old code stays kept, retired, so it is not handed out
    again before four newer ones; guests already told it get a correction from
    `arrivals_reconcile`, and the job's cleaner is told the new one by its job email."""
    prop = turnover.property
    old = KeyCode.objects.filter(turnover=turnover).first()
    valid_from = old.valid_from if old is not None else turnover.booking.check_out
    if old is not None:
        old.turnover = None
        old.retired_at = now
        old.save(update_fields=["turnover", "retired_at"])
    return key_code_plan(
        turnover=turnover, valid_from=valid_from, length=timing_for(prop).key_code_length
    )


def key_codes_prune(*, prop: Property, now: datetime) -> int:
    """Delete codes that four newer confirmed codes replaced on the box.

    Only confirmed codes count as newer, so a code nobody set (a failed job email, a
    cleaner who could not change it) never pushes a real one out of the history. A code
    that was never confirmed counts from when it could first have been set, and is kept
    while its job is still to come. The code on the box is never deleted."""
    codes = list(
        KeyCode.objects.filter(property=prop)
        .select_related("turnover")
        .annotate(on_box=Exists(KeyBox.objects.filter(property=prop, key_code_id=OuterRef("pk"))))
    )
    on_box = next((c.pk for c in codes if c.on_box), None)
    confirmed = [(c.confirmed_at, c.pk) for c in codes if c.confirmed_at is not None]
    doomed = []
    for code in codes:
        if code.pk == on_box or (code.confirmed_at is None and _still_planned(code, now)):
            continue
        if code.confirmed_at is not None:
            newer = sum(1 for mark in confirmed if mark > (code.confirmed_at, code.pk))
        else:
            since = _could_be_set_from(code)
            newer = sum(1 for at, _ in confirmed if at > since)
        if newer >= CODES_KEPT:
            doomed.append(code.pk)
    if doomed:
        KeyCode.objects.filter(pk__in=doomed).delete()
    return len(doomed)


def _still_planned(code: KeyCode, now: datetime) -> bool:
    job = code.turnover
    return (
        code.retired_at is None
        and job is not None
        and job.state != Turnover.State.CANCELLED
        and (job.ends_at is None or job.ends_at > now)
    )


def _could_be_set_from(code: KeyCode) -> datetime:
    if code.retired_at is not None:
        return code.retired_at
    if code.turnover is not None:
        return code.turnover.starts_at
    return code.created_at


def arrivals_reconcile(*, prop: Property, now: datetime, timing: Timing | None = None) -> None:
    """Guests who were already told their code and dates get a correction if either
    changed since (a new code was confirmed on the box, their dates moved); welcomes
    that waited for a confirmation are looked at again. A constant number of
    statements: the told rows in one read, the corrections in one more and one upsert."""
    today = now.astimezone(prop.tz).date()
    told_q = (
        Q(
            booking__status=Booking.Status.CONFIRMED,
            booking__stay__startswith__gte=today - timedelta(days=1),
            kind__in=[Kind.WELCOME, Kind.KEY_UPDATE],
        )
        & TOLD
    )
    waiting = Q(kind=Kind.WELCOME, state=State.SCHEDULED, context__waiting_for_code=True)
    # One read for both: what guests were told, and the welcomes waiting for a code.
    rows: list[ScheduledMessage] = list(
        ScheduledMessage.objects.filter(booking__property=prop)
        .filter(told_q | waiting)
        .annotate(was_told=ExpressionWrapper(told_q, output_field=BooleanField()))
        .select_related("booking")
        .order_by("booking_id", "sending_at", "id")
    )
    told_rows = [row for row in rows if row.was_told]  # type: ignore[attr-defined]
    held = [row for row in rows if not row.was_told]  # type: ignore[attr-defined]
    last_told: dict[int, ScheduledMessage] = {}
    for row in told_rows:
        last_told[row.booking_id] = row  # type: ignore[index]
    stale: list[tuple[Booking, dict[str, str | None], dict[str, str]]] = []
    for row in last_told.values():
        booking = row.booking
        assert booking is not None
        booking.property = prop
        if check_in_moment(booking) <= now:
            continue  # arrived: the code they used is history
        current = arrival_details(booking)
        told = {name: row.context.get(name) for name in current}
        if told != current:
            stale.append((booking, told, current))
    if stale:
        _key_updates_schedule(stale, timing=timing or timing_for(prop), now=now)
    welcomes_release(prop=prop, now=now, timing=timing, held=held)


def welcomes_release(
    *,
    prop: Property,
    now: datetime,
    timing: Timing | None = None,
    held: list[ScheduledMessage] | None = None,
) -> int:
    """Welcomes that waited for a cleaner's confirmation (`held`, when the caller read
    them) are due again (not before their own time), in one upsert; at send time they
    go, or wait on (messaging.services.sending)."""
    if held is None:
        held = list(
            ScheduledMessage.objects.filter(
                booking__property=prop,
                kind=Kind.WELCOME,
                state=State.SCHEDULED,
                context__waiting_for_code=True,
            ).select_related("booking")
        )
    if not held:
        return 0
    timing = timing or timing_for(prop)
    rows = []
    for row in held:
        booking = row.booking
        assert booking is not None
        booking.property = prop
        rows.append(
            message_row(
                business_id=booking.business_id,
                kind=Kind.WELCOME,
                recipient=row.recipient,
                recipient_name=row.recipient_name,
                key=row.key,
                wanted_at=max(now, welcome_due_at(booking, timing)),
                expires_at=check_in_moment(booking),
                now=now,
                prop=prop,
                booking=booking,
                timing=timing,
            )
        )
    messages_upsert(rows)
    return len(rows)


def _key_updates_schedule(
    stale: list[tuple[Booking, dict[str, str | None], dict[str, str]]],
    *,
    timing: Timing,
    now: datetime,
) -> None:
    """A correction to each guest told outdated details, unless one is pending (it
    renders the current code and dates when it goes)."""
    revisions = {
        entry["booking_id"]: entry
        for entry in ScheduledMessage.objects.filter(
            booking_id__in=[booking.pk for booking, _, _ in stale], kind=Kind.KEY_UPDATE
        )
        .values("booking_id")
        .annotate(sent=Count("id"), pending=Count("id", filter=Q(state=State.SCHEDULED)))
    }
    rows = []
    for booking, told, current in stale:
        known = revisions.get(booking.pk, {"sent": 0, "pending": 0})
        if known["pending"]:
            continue
        rows.append(
            _key_update_row(
                booking,
                told=told,
                current=current,
                timing=timing,
                now=now,
                revision=known["sent"] + 1,
            )
        )
    messages_upsert(rows)


def _key_update_row(
    booking: Booking,
    *,
    told: dict[str, str | None],
    current: dict[str, str],
    timing: Timing,
    now: datetime,
    revision: int,
) -> ScheduledMessage:
    changes = []
    # In the guest's language: the email quotes this text as is.
    with translation.override(booking.language):
        if told["check_in"] != current["check_in"] or told["check_out"] != current["check_out"]:
            changes.append(
                gettext("Your dates are now %(start)s to %(end)s.")
                % {
                    "start": format_day(booking.check_in, "j M"),
                    "end": format_day(booking.check_out, "j M Y"),
                }
            )
        if told["key_code"] != current["key_code"]:
            changes.append(
                gettext("The key-box code has changed: use %(new)s, not %(old)s.")
                % {"new": current["key_code"], "old": told["key_code"]}
            )
    return message_row(
        business_id=booking.business_id,
        kind=Kind.KEY_UPDATE,
        recipient=booking.guest_email,
        recipient_name=booking.guest_name,
        key=f"{guest_message_key(booking, Kind.KEY_UPDATE)}:{revision}",
        wanted_at=now,
        expires_at=check_in_moment(booking),
        now=now,
        prop=booking.property,
        booking=booking,
        context={"changes": " ".join(changes)},
        timing=timing,
    )
