"""Applying a fetched iCal feed to the calendar: set-based, in runs of bounded time.

A sync has two steps.

1. The diff, in the transaction that records the fetch, with a fixed number of queries
   whatever the feed's size: the feed's events are compared with its stored
   `IcalEvent` rows by UID, dates, classification and title; new rows are inserted,
   changed ones updated and missing ones counted, in bulk. A row whose event needs the
   calendar to change is marked `pending`: `apply` (new, or its dates changed: a
   collision becomes a conflict), `retry` (unchanged, but without its block: blocked if
   the nights are free, no new conflict), `release` (missing from two successful
   fetches in a row while its block is active). Rows gone without an active block are
   deleted at once.
2. The drain: pending rows go through the booking engine in chunks, one transaction
   each, so a block written and its row's new state commit together. It stops when
   nothing is pending or the run's time is up; what is left stays marked, the feed is
   due again at once, and the next run applies it before fetching anything (a
   continuation is not another fetch for the release rule).

Work is never lost (it is in the rows until applied) and never done twice (a chunk
commits the engine's writes with the row cleared, or neither). Every write transaction
of a feed first locks the feed's row, so two runs of one feed take turns.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

from django.db import transaction
from django.db.models import Case, F, IntegerField, QuerySet, Value, When

from bookings.errors import BookingError, StayUnavailable
from bookings.models import Booking
from bookings.services.blocks import block_change_dates, block_create, block_remove
from integrations.models import IcalEvent, IcalFeed
from integrations.services.conflicts import conflict_record
from integrations.services.ical_parse import FeedEvent
from properties.db import lock_one

log = logging.getLogger(__name__)

Pending = IcalEvent.Pending
MISSING_FETCHES_TO_RELEASE = 2
CHUNK_ROWS = 50
# The engine keeps the property locked until the chunk commits: keep chunks short.
CHUNK_SECONDS = 1.0
IN_BATCH = 5000  # ids per `IN (...)` list
T = TypeVar("T")


@dataclass
class SyncReport:
    outcome: str  # updated | not-modified | empty | failed | resumed
    created: int = 0
    moved: int = 0
    released: int = 0
    conflicts: int = 0
    skipped: int = 0
    pending: int = 0  # calendar changes left for the next run
    error: str = ""


@dataclass(frozen=True)
class _Stored:
    pk: int
    uid: str
    start: date
    end: date
    classification: str
    summary: str
    missing_count: int
    pending: str
    booking_id: int | None
    block: tuple[date, date] | None  # the dates of its active block


def _stored(rows: QuerySet[IcalEvent]) -> list[_Stored]:
    found = []
    for row in rows.values(
        "pk",
        "uid",
        "start",
        "end",
        "classification",
        "summary",
        "missing_count",
        "pending",
        "booking_id",
        "booking__status",
        "booking__stay",
    ):
        stay = row["booking__stay"]
        active = row["booking__status"] == Booking.Status.CONFIRMED and stay is not None
        found.append(
            _Stored(
                pk=row["pk"],
                uid=row["uid"],
                start=row["start"],
                end=row["end"],
                classification=row["classification"],
                summary=row["summary"],
                missing_count=row["missing_count"],
                pending=row["pending"],
                booking_id=row["booking_id"],
                block=(stay.lower, stay.upper) if active else None,
            )
        )
    return found


def _batches(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for index in range(0, len(items), IN_BATCH):
        yield items[index : index + IN_BATCH]


def _pending_for(row: _Stored, event: FeedEvent, today: date) -> str:
    if (row.start, row.end) != (event.start, event.end):
        return Pending.APPLY
    if row.pending in (Pending.APPLY, Pending.RETRY):
        return row.pending  # found by an earlier fetch, not applied yet
    if row.block is not None:
        return Pending.RETRY if row.block != (event.start, event.end) else Pending.NONE
    if row.booking_id is None and event.end > today:
        return Pending.RETRY
    return Pending.NONE


def feed_diff(
    *, feed: IcalFeed, events: list[FeedEvent], today: date, now: datetime, report: SyncReport
) -> None:
    """Step 1 for a feed answered in full. Runs in the caller's transaction, which
    holds the feed's row lock."""
    stored = {row.uid: row for row in _stored(IcalEvent.objects.filter(feed=feed))}
    new: list[IcalEvent] = []
    changed: list[IcalEvent] = []
    for event in events:
        row = stored.pop(event.uid, None)
        if row is None:
            if event.end > today:  # already over: nothing to block
                new.append(
                    IcalEvent(
                        business_id=feed.business_id,
                        feed=feed,
                        uid=event.uid,
                        classification=event.classification,
                        summary=event.summary,
                        start=event.start,
                        end=event.end,
                        pending=Pending.APPLY,
                    )
                )
            continue
        pending = _pending_for(row, event, today)
        current = (row.start, row.end, row.classification, row.summary, row.missing_count)
        wanted = (event.start, event.end, event.classification, event.summary, 0)
        if current != wanted or row.pending != pending:
            changed.append(
                IcalEvent(
                    pk=row.pk,
                    start=event.start,
                    end=event.end,
                    classification=event.classification,
                    summary=event.summary,
                    missing_count=0,
                    pending=pending,
                    updated_at=now,
                )
            )
    IcalEvent.objects.bulk_create(new, batch_size=1000)
    IcalEvent.objects.bulk_update(
        changed,
        ["start", "end", "classification", "summary", "missing_count", "pending", "updated_at"],
        batch_size=1000,
    )
    _count_missing(list(stored.values()), now, report)


def feed_not_modified(*, feed: IcalFeed, now: datetime, report: SyncReport) -> None:
    """Step 1 for a 304: the same content as last time, so what it lacked last time it
    lacks again. Runs in the caller's transaction, which holds the feed's row lock."""
    _count_missing(_stored(IcalEvent.objects.filter(feed=feed, missing_count__gte=1)), now, report)


def _count_missing(rows: list[_Stored], now: datetime, report: SyncReport) -> None:
    counted = [row.pk for row in rows if row.missing_count + 1 < MISSING_FETCHES_TO_RELEASE]
    due = [row for row in rows if row.missing_count + 1 >= MISSING_FETCHES_TO_RELEASE]
    release = [row.pk for row in due if row.block is not None]
    drop = [row.pk for row in due if row.block is None]
    for ids in _batches(counted):
        IcalEvent.objects.filter(pk__in=ids).update(
            missing_count=F("missing_count") + 1, updated_at=now
        )
    for ids in _batches(release):
        IcalEvent.objects.filter(pk__in=ids).update(
            missing_count=F("missing_count") + 1, pending=Pending.RELEASE, updated_at=now
        )
    for ids in _batches(drop):
        IcalEvent.objects.filter(pk__in=ids).delete()
    report.released += len(drop)


def pending_rows(feed: IcalFeed) -> QuerySet[IcalEvent]:
    """Rows with calendar work left: releases first (they free nights), then moves, then
    new blocks, earliest dates first."""
    order = Case(
        When(pending=Pending.RELEASE, then=Value(0)),
        When(booking__status=Booking.Status.CONFIRMED, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return (
        IcalEvent.objects.filter(feed=feed)
        .exclude(pending=Pending.NONE)
        .select_related("booking")
        .order_by(order, "start", "pk")
    )


def feed_drain(
    *, feed: IcalFeed, today: date, now: datetime, deadline: float, report: SyncReport
) -> int:
    """Step 2: apply pending rows until none is left or `deadline` (a time.monotonic()
    value) has passed; at least one row per call, so every run makes progress. Returns
    how many rows are still pending."""
    while True:
        chunk_deadline = min(deadline, time.monotonic() + CHUNK_SECONDS)
        with transaction.atomic():
            lock_one(IcalFeed.objects.filter(pk=feed.pk))
            rows = list(pending_rows(feed)[:CHUNK_ROWS])
            if not rows:
                return 0
            kept: list[IcalEvent] = []
            released: list[IcalEvent] = []
            for row in rows:
                (kept if _apply(feed, row, today, now, report) else released).append(row)
                if time.monotonic() > chunk_deadline:
                    break
            IcalEvent.objects.bulk_update(kept, ["booking", "pending", "updated_at"])
            if released:
                IcalEvent.objects.filter(pk__in=[row.pk for row in released]).delete()
        if time.monotonic() > deadline:
            return pending_rows(feed).count()


def _apply(feed: IcalFeed, row: IcalEvent, today: date, now: datetime, report: SyncReport) -> bool:
    """One row's calendar change through the engine; False when the row is to go."""
    booking = row.booking
    block = booking if booking is not None and booking.status == Booking.Status.CONFIRMED else None
    if row.pending == Pending.RELEASE:
        if block is not None:
            block_remove(block=block, now=now)
        report.released += 1
        return False
    try:
        if block is not None:
            if (block.check_in, block.check_out) != (row.start, row.end):
                row.booking = block_change_dates(block=block, start=row.start, end=row.end, now=now)
                report.moved += 1
        elif row.end > today:
            row.booking = block_create(
                property=feed.property,
                start=row.start,
                end=row.end,
                kind=Booking.Kind.PARTNER_BLOCK,
                source=Booking.Source.ICAL,
                note=_note(feed, row)[:2000],
                now=now,
            )
            report.created += 1
    except StayUnavailable:
        if row.pending == Pending.APPLY:
            conflict_record(
                business_id=feed.business_id,
                property=feed.property,
                check_in=row.start,
                check_out=row.end,
                external_id=row.uid,
                partner_data={
                    "uid": row.uid,
                    "summary": row.summary,
                    "classification": row.classification,
                    "note": f"{feed.get_platform_display()} iCal {row.classification}",
                },
                feed=feed,
                partner_booking=block,
            )
            report.conflicts += 1
    except BookingError as exc:
        report.skipped += 1
        log.info("iCal event %s of feed %s skipped: %s", row.uid, feed.pk, exc)
    row.pending = Pending.NONE
    row.updated_at = now
    return True


def _note(feed: IcalFeed, row: IcalEvent) -> str:
    return f"{feed.get_platform_display()} iCal {row.classification}: {row.summary or 'no title'}"
