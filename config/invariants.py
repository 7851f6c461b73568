"""Checks of the data's invariants, in plain SQL, for a restored copy of the database.

They never rely on the constraint that enforces an invariant (the restore could have
lost it, or it could have been dropped and the data broken since): each one looks at
the rows themselves. Used by `manage.py check_invariants` (docs/runbook.md, restore
drill in tests/test_restore_drill.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from bookings.models import ACTIVE_STATUSES, Booking
from integrations.models import PushOutbox
from messaging.models import Kind, ScheduledMessage

# How many offending rows a failed check names.
EXAMPLES = 10
# Guest messages a confirmed future stay with a guest email always has (once scheduled,
# a row stays in the outbox whatever its state: sent, skipped, failed).
STAY_MESSAGE_KINDS = (Kind.CONFIRMATION, Kind.WELCOME)


class Cursor(Protocol):
    def execute(self, query: Any, params: Any = ..., /) -> Any: ...

    def fetchall(self) -> list[tuple[Any, ...]]: ...


@dataclass(frozen=True)
class Result:
    name: str
    description: str
    offenders: list[tuple[Any, ...]]

    @property
    def ok(self) -> bool:
        return not self.offenders


def _rows(cursor: Cursor, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    cursor.execute(sql, params)
    return list(cursor.fetchall())


def no_overlapping_active_stays(cursor: Cursor, today: date) -> list[tuple[Any, ...]]:
    booking = Booking._meta.db_table
    return _rows(
        cursor,
        f"""
        SELECT a.reference, b.reference, a.property_id
        FROM {booking} a
        JOIN {booking} b
          ON b.property_id = a.property_id AND b.business_id = a.business_id
         AND b.id > a.id AND b.stay && a.stay
        WHERE a.status = ANY(%s) AND b.status = ANY(%s)
        ORDER BY a.id, b.id
        LIMIT {EXAMPLES}
        """,  # noqa: S608 - table names come from the models, values are parameters
        (list(ACTIVE_STATUSES), list(ACTIVE_STATUSES)),
    )


def future_stays_have_their_messages(cursor: Cursor, today: date) -> list[tuple[Any, ...]]:
    booking, message = Booking._meta.db_table, ScheduledMessage._meta.db_table
    return _rows(
        cursor,
        f"""
        SELECT b.reference, k.kind
        FROM {booking} b
        CROSS JOIN unnest(%s::text[]) AS k(kind)
        WHERE b.status = 'confirmed' AND b.kind = 'stay' AND b.guest_email <> ''
          AND lower(b.stay) > %s
          AND NOT EXISTS (
            SELECT 1 FROM {message} m
            WHERE m.booking_id = b.id AND m.kind = k.kind AND m.state <> 'cancelled'
          )
        ORDER BY b.id, k.kind
        LIMIT {EXAMPLES}
        """,  # noqa: S608
        ([str(kind) for kind in STAY_MESSAGE_KINDS], today),
    )


def outbox_keys_are_unique(cursor: Cursor, today: date) -> list[tuple[Any, ...]]:
    message = ScheduledMessage._meta.db_table
    return _rows(
        cursor,
        f"""
        SELECT key, count(*) FROM {message}
        GROUP BY key HAVING count(*) > 1
        ORDER BY key LIMIT {EXAMPLES}
        """,  # noqa: S608
    )


def one_pending_push_per_listing(cursor: Cursor, today: date) -> list[tuple[Any, ...]]:
    push = PushOutbox._meta.db_table
    return _rows(
        cursor,
        f"""
        SELECT listing_id, kind, count(*) FROM {push}
        WHERE status = 'pending'
        GROUP BY listing_id, kind HAVING count(*) > 1
        ORDER BY listing_id LIMIT {EXAMPLES}
        """,  # noqa: S608
    )


CHECKS: list[tuple[str, str, Callable[[Cursor, date], list[tuple[Any, ...]]]]] = [
    (
        "no-overlapping-stays",
        "active stays (held, confirmed) of one property never overlap",
        no_overlapping_active_stays,
    ),
    (
        "stays-have-messages",
        "every confirmed future guest stay has its confirmation and welcome messages",
        future_stays_have_their_messages,
    ),
    (
        "outbox-keys-unique",
        "scheduled messages are unique per key",
        outbox_keys_are_unique,
    ),
    (
        "one-pending-push",
        "at most one pending push per listing and kind",
        one_pending_push_per_listing,
    ),
]


def check_all(cursor: Cursor, *, today: date) -> list[Result]:
    return [
        Result(name=name, description=description, offenders=check(cursor, today))
        for name, description, check in CHECKS
    ]
