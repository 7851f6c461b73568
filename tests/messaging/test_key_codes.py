"""Key codes over a season of stays with changes and cancellations, simulated hour by
hour with real sending: the code each guest was told is the code on the box when they
arrive, which is the code the cleaner before them was told to set."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import time_machine
from django.core import mail

from bookings.models import Booking
from bookings.services.cancellation import booking_cancel_without_refund
from bookings.services.stays import booking_change_dates
from messaging.models import KeyCode, Kind, ScheduledMessage, Turnover
from messaging.selectors import check_in_moment
from messaging.services.outbox import outbox_dispatch
from messaging.services.sending import outbox_send
from tests.conftest import Tenant
from tests.messaging.conftest import stay, with_cleaner

GUEST_CODE = re.compile(r"Key-box code: (\d+)")
CLEANER_CODE = re.compile(r"SET THE KEY BOX TO:\s+(\d+)")
ROW_ID = re.compile(r"<hd\.(\d+)\.")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_every_guest_gets_the_code_the_cleaner_set_before_them(
    tenant: Tenant, settings: Any, redis_prefix: str
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.EMAIL_RATE_PER_SECOND = 1000.0
    prop = tenant.prop
    with_cleaner(prop)
    plan = [
        (date(2031, 2, 1), date(2031, 2, 4)),
        (date(2031, 2, 4), date(2031, 2, 8)),  # back-to-back with the first
        (date(2031, 2, 10), date(2031, 2, 12)),
        (date(2031, 2, 12), date(2031, 2, 15)),
        (date(2031, 2, 20), date(2031, 2, 23)),
        (date(2031, 2, 23), date(2031, 2, 25)),
        (date(2031, 2, 25), date(2031, 2, 28)),
        (date(2031, 3, 5), date(2031, 3, 8)),
        (date(2031, 3, 8), date(2031, 3, 10)),
        (date(2031, 3, 15), date(2031, 3, 18)),
    ]
    bookings: list[Booking] = []
    history_sizes: list[int] = []

    def extra_stay() -> None:
        bookings.append(stay(prop, date(2031, 3, 14), date(2031, 3, 15), email="late@example.com"))

    events = {
        # Cancelled before anything went out.
        utc(2031, 1, 15, 10): lambda: booking_cancel_without_refund(booking=bookings[2]),
        # Moved after its welcome went out: a correction with the new dates.
        utc(2031, 2, 11, 18): lambda: booking_change_dates(
            booking=bookings[3],
            check_in=date(2031, 2, 13),
            check_out=date(2031, 2, 16),
            enforce_rules=False,
        ),
        # The stay before guest 7 is cancelled after guest 7 and its cleaner were told:
        # the cleaner hears "do not change the code", guest 7 gets the code on the box.
        utc(2031, 2, 24, 18): lambda: booking_cancel_without_refund(booking=bookings[5]),
        # Extended after its welcome went out.
        utc(2031, 3, 7, 18): lambda: booking_change_dates(
            booking=bookings[8],
            check_in=date(2031, 3, 8),
            check_out=date(2031, 3, 12),
            enforce_rules=False,
        ),
        # A last-minute stay slots in before guest 10, adding a turnover.
        utc(2031, 3, 14, 12): extra_stay,
    }
    start = utc(2031, 1, 1, 12)
    with time_machine.travel(start, tick=False) as traveller:
        for n, (check_in, check_out) in enumerate(plan):
            bookings.append(stay(prop, check_in, check_out, email=f"guest{n}@example.com"))
        # The code on the box before any turnover (pruned later, once four replaced it).
        first_code = KeyCode.objects.get(property=prop, turnover__isnull=True).code
        moment = start
        while moment < utc(2031, 3, 20):
            traveller.move_to(moment)
            if moment in events:
                events[moment]()
            claimed: list[int] = []
            outbox_dispatch(enqueue=lambda i, p, claimed=claimed: claimed.append(i))
            for message_id in claimed:
                outbox_send(message_id=message_id)
            history_sizes.append(KeyCode.objects.filter(property=prop).count())
            moment += timedelta(hours=1)

    # What each email told, in the order it went out.
    guest_told: dict[int, list[tuple[datetime, str]]] = {}
    cleaner_told: dict[int, list[tuple[datetime, str | None]]] = {}
    for message in mail.outbox:
        row = ScheduledMessage.objects.get(
            pk=int(ROW_ID.match(message.extra_headers["Message-ID"])[1])
        )
        assert row.sending_at is not None
        if row.kind in (Kind.WELCOME, Kind.KEY_UPDATE):
            guest_told.setdefault(row.booking_id, []).append(
                (row.sending_at, GUEST_CODE.search(message.body)[1])
            )
        elif row.kind in (Kind.CLEANER_JOB, Kind.CLEANER_UPDATE):
            found = CLEANER_CODE.search(message.body)
            cleaner_told.setdefault(row.turnover_id, []).append(
                (row.sending_at, found[1] if found else None)  # None: "do not change"
            )

    # The box: the first code, then whatever each cleaner was last told before the job.
    changes: list[tuple[datetime, str]] = []
    for turnover_id, told in cleaner_told.items():
        turnover = Turnover.objects.get(pk=turnover_id)
        before_job = [code for at, code in told if at <= turnover.starts_at]
        if before_job and before_job[-1] is not None:
            changes.append((turnover.starts_at, before_job[-1]))
    changes.sort()

    arrivals = 0
    for booking in Booking.objects.filter(property=prop, status=Booking.Status.CONFIRMED):
        arrive = check_in_moment(booking)
        on_box = first_code
        for at, code in changes:
            if at <= arrive:
                on_box = code
        told = [code for at, code in guest_told.get(booking.pk, []) if at <= arrive]
        assert told, f"{booking} was never told a code"
        assert told[-1] == on_box, f"{booking}: told {told}, box {on_box}"
        arrivals += 1
    assert arrivals == 9  # 11 stays, 2 cancelled
    # Corrections went out for the moved stays and the guest after the cancelled one.
    assert len(guest_told[bookings[3].pk]) == 2
    assert len(guest_told[bookings[6].pk]) == 2
    assert len(guest_told[bookings[8].pk]) == 2

    # No code repeats within four; the history never shrinks below four.
    sequence = [c.code for c in KeyCode.objects.filter(property=prop).order_by("valid_from", "id")]
    for index, code in enumerate(sequence):
        assert code not in sequence[max(0, index - 4) : index]
    reached = next(i for i, size in enumerate(history_sizes) if size >= 4)
    assert min(history_sizes[reached:]) >= 4
