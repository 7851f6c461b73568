"""Large iCal feeds: applied set-based (queries grow with the calendar changes, not with
the feed), in runs of bounded time that continue where the last one stopped, never
losing or repeating work."""

from __future__ import annotations

import threading
import time
from datetime import date, timedelta
from typing import Any

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from psycopg.types.range import Range

from bookings.models import Booking
from bookings.services.stays import booking_create
from integrations import ssrf
from integrations.models import BookingConflict, IcalEvent, IcalFeed
from integrations.services import ical, ical_apply
from properties.models import Property
from tests.conftest import Tenant
from tests.factories import PropertyFactory

pytestmark = pytest.mark.django_db

Event = tuple[str, date, date]
PER_CHANGE = 15  # queries of one block written through the booking engine, at most


def _body(events: list[Event], summary: str = "Reserved") -> bytes:
    """A lean feed: ~125 bytes an event, 20,000 events in ~2.5 MB."""
    parts = [b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"]
    parts += [
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTART;VALUE=DATE:{start:%Y%m%d}\r\n"
        f"DTEND;VALUE=DATE:{end:%Y%m%d}\r\nSUMMARY:{summary}\r\nEND:VEVENT\r\n".encode()
        for uid, start, end in events
    ]
    parts.append(b"END:VCALENDAR\r\n")
    return b"".join(parts)


def _nights(count: int, future: int) -> list[Event]:
    """`count` one-night events back to back, the last `future` of them still to come
    (a feed that has kept years of history)."""
    first = date.today() - timedelta(days=count - future)
    return [
        (f"ev-{i}@example.com", first + timedelta(days=i), first + timedelta(days=i + 1))
        for i in range(count)
    ]


class Source:
    def __init__(self, body: bytes) -> None:
        self.body = body
        self.fetches = 0

    def __call__(self, url: str, **kw: Any) -> ssrf.Fetched:
        self.fetches += 1
        return ssrf.Fetched(status=200, body=self.body, url=url)


def _feed(prop: Property, url: str = "https://x.test/f.ics") -> IcalFeed:
    return IcalFeed.objects.create(
        business=prop.business, property=prop, platform="airbnb", url=url
    )


def _imported(feed: IcalFeed, events: list[Event]) -> None:
    """What applying `events` leaves behind (each event a row with its partner block),
    written in bulk: the state of a feed imported over the years."""
    prop = feed.property
    blocks = Booking.objects.bulk_create(
        [
            Booking(
                # Set, not drawn: 20,000 random references are likely to collide once.
                reference=f"T{feed.pk}-{i:07d}",
                business_id=prop.business_id,
                property=prop,
                stay=Range(start, end, "[)"),
                status=Booking.Status.CONFIRMED,
                kind=Booking.Kind.PARTNER_BLOCK,
                source=Booking.Source.ICAL,
                currency=prop.business.currency,
                confirmed_at=timezone.now(),
            )
            for i, (_, start, end) in enumerate(events)
        ],
        batch_size=2000,
    )
    IcalEvent.objects.bulk_create(
        [
            IcalEvent(
                business_id=prop.business_id,
                feed=feed,
                uid=uid,
                classification="reservation",
                summary="Reserved",
                start=start,
                end=end,
                booking=block,
            )
            for (uid, start, end), block in zip(events, blocks, strict=True)
        ],
        batch_size=2000,
    )


def _sync(feed: IcalFeed, body: bytes, **kw: Any) -> tuple[ical_apply.SyncReport, int, float]:
    # The audit log looks a model's content type up once per process: not a cost of
    # the feed's size, so it is paid before counting.
    ContentType.objects.get_for_models(*apps.get_models())
    began = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        report = ical.ical_feed_sync(feed_id=feed.pk, fetch=Source(body), **kw)
    return report, len(queries), time.perf_counter() - began


def _changed(events: list[Event]) -> list[Event]:
    """The same feed with 10 future events moved to free nights further on, the next
    10 gone, and 10 new ones."""
    events = list(events)
    last, tail = events[-1][2], len(events) - 40
    night = timedelta(days=1)
    for k in range(10):
        uid = events[tail + k][0]
        start = last + timedelta(days=100 + k)
        events[tail + k] = (uid, start, start + night)
    del events[tail + 10 : tail + 20]
    for k in range(10):
        start = last + timedelta(days=10 + k)
        events.append((f"new-{k}", start, start + night))
    return events


@pytest.mark.slow
def test_a_20000_event_feed_applies_in_one_run_with_queries_independent_of_its_size(
    tenant: Tenant, capsys: pytest.CaptureFixture[str]
) -> None:
    big_events, small_events = _nights(20_000, future=50), _nights(2_000, future=50)
    big_body, small_body = _body(big_events), _body(small_events)
    assert len(big_body) > 2_000_000
    big = _feed(tenant.prop)
    small = _feed(PropertyFactory(business=tenant.business), url="https://x.test/small.ics")
    _imported(big, big_events)
    _imported(small, small_events)

    # Polled again unchanged: nothing goes to the engine; the same queries either way.
    big_report, big_queries, big_seconds = _sync(big, big_body)
    small_report, small_queries, _ = _sync(small, small_body)
    for report in (big_report, small_report):
        assert (report.outcome, report.pending) == ("updated", 0)
        assert (report.created, report.moved, report.released, report.conflicts) == (0, 0, 0, 0)
    assert big_queries == small_queries <= 12
    assert ical_apply.pending_rows(big).count() == 0

    # 10 moved, 10 gone, 10 new: only the 20 blocks written go to the engine, and
    # the queries grow with them, not with the feed.
    big_report, big_changed_queries, big_changed_seconds = _sync(big, _body(_changed(big_events)))
    small_report, small_changed_queries, _ = _sync(small, _body(_changed(small_events)))
    for report in (big_report, small_report):
        assert (report.moved, report.created, report.released, report.pending) == (10, 10, 0, 0)
    assert big_changed_queries == small_changed_queries <= big_queries + 20 * PER_CHANGE
    # The second fetch in a row without the 10 gone events releases their blocks.
    big_report, released_queries, _ = _sync(big, _body(_changed(big_events)))
    assert (big_report.released, big_report.moved, big_report.created) == (10, 0, 0)
    assert released_queries <= big_queries + 10 * PER_CHANGE
    assert IcalEvent.objects.filter(feed=big).count() == 20_000
    future = Booking.objects.filter(property=tenant.prop, status="confirmed").filter(
        stay__fully_gt=Range(None, date.today(), "[)")
    )
    assert future.count() == 50
    with capsys.disabled():
        print(
            f"\n20,000-event feed ({len(big_body):,} bytes): unchanged poll {big_seconds:.1f} s"
            f" / {big_queries} queries; with 30 changes {big_changed_seconds:.1f} s"
            f" / {big_changed_queries} queries"
        )


def _future(count: int, offset: int = 20, prefix: str = "u") -> list[Event]:
    first = date.today() + timedelta(days=offset)
    return [
        (f"{prefix}{i}", first + timedelta(days=2 * i), first + timedelta(days=2 * i + 1))
        for i in range(count)
    ]


def _active_blocks(prop: Property) -> list[tuple[date, date]]:
    rows = Booking.objects.filter(property=prop, status="confirmed").order_by("stay")
    return [(b.check_in, b.check_out) for b in rows]


def test_a_run_out_of_time_is_continued_by_the_next_runs_before_any_new_fetch(
    tenant: Tenant,
) -> None:
    feed = _feed(tenant.prop)
    kept, gone = _future(3), _future(1, offset=60, prefix="gone")
    source = Source(_body(kept + gone))
    ical.ical_feed_sync(feed_id=feed.pk, fetch=source)
    assert len(_active_blocks(tenant.prop)) == 4

    # The next fetch lacks "gone0" and brings 3 new events; each run may apply only one
    # calendar change (no time left).
    added = _future(3, offset=100, prefix="new")
    source.body = _body(kept + added)
    reports = [ical.ical_feed_sync(feed_id=feed.pk, fetch=source, budget_seconds=0)]
    feed.refresh_from_db()
    assert feed.next_fetch_at == feed.last_fetch_at  # due again at once
    assert feed.claimed_until is None
    while reports[-1].pending:
        reports.append(ical.ical_feed_sync(feed_id=feed.pk, fetch=source, budget_seconds=0))
    assert [(r.outcome, r.created, r.pending) for r in reports] == [
        ("updated", 1, 2),
        ("resumed", 1, 1),
        ("resumed", 1, 0),
    ]
    assert source.fetches == 2  # the continuations fetched nothing ...
    # ... so they did not count as fetches without "gone0": its block is still there.
    assert len(_active_blocks(tenant.prop)) == 7
    assert IcalEvent.objects.get(uid="gone0").missing_count == 1
    feed.refresh_from_db()
    assert feed.next_fetch_at > feed.last_fetch_at  # back to the normal schedule

    report = ical.ical_feed_sync(feed_id=feed.pk, fetch=source, budget_seconds=0)
    assert (report.outcome, report.released, report.pending) == ("updated", 1, 0)
    assert _active_blocks(tenant.prop) == sorted((s, e) for _, s, e in kept + added)
    assert BookingConflict.objects.count() == 0


def test_a_run_that_dies_midway_leaves_its_work_for_the_next_and_nothing_is_done_twice(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed = _feed(tenant.prop)
    events = _future(6)
    source = Source(_body(events))
    assert ical.ical_feed_sync(feed_id=feed.pk, fetch=source, budget_seconds=0).created == 1

    real = ical_apply.block_create
    calls: list[int] = []

    def dies_on_the_third(**kw: Any) -> Booking:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("worker killed")
        return real(**kw)

    monkeypatch.setattr(ical_apply, "block_create", dies_on_the_third)
    with pytest.raises(RuntimeError):
        ical.ical_feed_sync(feed_id=feed.pk, fetch=source)
    # The chunk rolled back whole: the two blocks written before the crash too.
    assert len(_active_blocks(tenant.prop)) == 1
    assert ical_apply.pending_rows(feed).count() == 5

    monkeypatch.setattr(ical_apply, "block_create", real)
    report = ical.ical_feed_sync(feed_id=feed.pk, fetch=source)
    assert (report.outcome, report.created, report.pending) == ("resumed", 5, 0)
    assert _active_blocks(tenant.prop) == [(s, e) for _, s, e in events]
    rows = IcalEvent.objects.filter(feed=feed)
    assert len({row.booking_id for row in rows}) == 6
    assert Booking.objects.filter(property=tenant.prop).count() == 6  # none twice
    assert BookingConflict.objects.count() == 0


def test_a_collision_found_in_a_continued_run_is_recorded_once(tenant: Tenant) -> None:
    feed = _feed(tenant.prop)
    events = _future(3)
    _, start, end = events[2]
    booking_create(property=tenant.prop, check_in=start, check_out=end, source="direct")
    source = Source(_body(events))
    reports = [ical.ical_feed_sync(feed_id=feed.pk, fetch=source, budget_seconds=0)]
    while reports[-1].pending:
        reports.append(ical.ical_feed_sync(feed_id=feed.pk, fetch=source, budget_seconds=0))
    assert sum(r.conflicts for r in reports) == 1
    for _ in range(2):  # later polls retry the event quietly
        assert ical.ical_feed_sync(feed_id=feed.pk, fetch=source).conflicts == 0
    assert BookingConflict.objects.get().external_id == "u2"


@pytest.mark.django_db(transaction=True)
def test_two_runs_of_one_feed_at_once_apply_each_event_once(tenant: Tenant) -> None:
    feed = _feed(tenant.prop)
    events = _future(40)
    body = _body(events)
    reports: list[ical_apply.SyncReport] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run() -> None:
        try:
            start.wait()
            reports.append(ical.ical_feed_sync(feed_id=feed.pk, fetch=Source(body)))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(r.created for r in reports) == 40
    assert _active_blocks(tenant.prop) == [(s, e) for _, s, e in events]
    assert Booking.objects.filter(property=tenant.prop).count() == 40
    assert BookingConflict.objects.count() == 0
