"""iCal both ways.

Export: one feed per property at /ical/<token>.ics; each active stay or block is an
all-day VEVENT with a stable UID (the booking reference), SUMMARY "Reserved" or "Not
available", and no guest data. `?platform=airbnb` (booking, vrbo) leaves out what came
from that platform, so an imported event never goes back to where it came from.

Import: each feed is fetched every INTEGRATIONS_ICAL_POLL_MINUTES with a conditional
GET, read (`ical_parse`: events classified per platform as reservation, tentative or
block) and applied by UID as partner blocks (`ical_apply`: set-based, in runs of at
most RUN_SECONDS; a run that could not finish leaves the rest for the next one). An
event missing from the feed is released only after two successful fetches in a row
without it; an empty or failed fetch is "unknown" and releases nothing. A block that
collides with a stay becomes a BookingConflict.
"""

from __future__ import annotations

import logging
import secrets
import time
from datetime import date, datetime, timedelta
from typing import Any

import icalendar
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking
from integrations import ssrf
from integrations.models import (
    PLATFORM_SOURCE,
    IcalEvent,
    IcalExportToken,
    IcalFeed,
    Platform,
)
from integrations.services.ical_apply import (
    SyncReport,
    feed_diff,
    feed_drain,
    feed_not_modified,
    pending_rows,
)
from integrations.services.ical_parse import parse_feed
from properties.db import claim_due, lock_one
from properties.models import Property
from properties.urls_util import app_url

log = logging.getLogger(__name__)

# A run's time: under the task's soft limit (100 s) with the fetch (at most
# INTEGRATIONS_ICAL_TIMEOUT_SECONDS) and the parse of a feed at its size limit inside.
RUN_SECONDS = 60.0


# --- Export -----------------------------------------------------------------------------


def ical_export_url(raw_token: str) -> str:
    return app_url(reverse("ical-export", urlconf=settings.ROOT_URLCONF, args=[raw_token]))


def ical_token_rotate(*, property: Property, raw_token: str | None = None) -> str:
    """A new export token for the property (the old URL stops working); returns the raw
    token, which is not stored."""
    raw = raw_token or secrets.token_urlsafe(24)
    IcalExportToken.objects.update_or_create(
        property=property,
        defaults={
            "business_id": property.business_id,
            "token_hash": IcalExportToken.hash(raw),
            "token_hint": raw[:6],
        },
    )
    return raw


def ical_property_for_token(raw_token: str) -> Property | None:
    found = (
        IcalExportToken.objects.filter(token_hash=IcalExportToken.hash(raw_token))
        .select_related("property__business")
        .first()
    )
    if found is None:
        return None
    IcalExportToken.objects.filter(pk=found.pk).update(last_fetched_at=timezone.now())
    return found.property


def _origin_platform_ids(property: Property, platform: str) -> set[int]:
    return set(
        IcalEvent.objects.filter(
            feed__property=property, feed__platform=platform, booking__isnull=False
        ).values_list("booking_id", flat=True)
    )


def ical_export(*, property: Property, platform: str = "", now: datetime | None = None) -> bytes:
    now = now or timezone.now()
    today = property.local_today()
    start = today - timedelta(days=30)
    end = today + timedelta(days=2 * 366)
    bookings = list(
        Booking.objects.filter(property=property)
        .active(now=now)
        .overlapping(start, end)
        .only("id", "reference", "stay", "kind", "source", "status", "updated_at")
        .order_by("stay")
    )
    if platform in Platform.values and platform != Platform.OTHER:
        skip_ids = _origin_platform_ids(property, platform)
        source = PLATFORM_SOURCE[platform]
        bookings = [b for b in bookings if b.source != source and b.pk not in skip_ids]
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Holidesk//Availability 1.0//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"{property.name} (Holidesk)")
    for booking in bookings:
        event = icalendar.Event()
        event.add("uid", f"{booking.reference}@holidesk")
        event.add("dtstamp", booking.updated_at or now)
        event.add("dtstart", booking.check_in)
        event.add("dtend", booking.check_out)
        event.add("summary", "Not available" if booking.is_block else "Reserved")
        event.add("transp", "OPAQUE")
        cal.add_component(event)
    return bytes(cal.to_ical())


# --- Import: fetching and applying ------------------------------------------------------


def ical_feed_sync(
    *,
    feed_id: int,
    now: datetime | None = None,
    fetch: Any = None,
    budget_seconds: float | None = None,
) -> SyncReport:
    """Fetch one feed and apply it, within `budget_seconds` (RUN_SECONDS): calendar
    changes left over are applied by the next run, before it fetches again. Safe to run
    twice; failures are recorded on the feed."""
    deadline = time.monotonic() + (RUN_SECONDS if budget_seconds is None else budget_seconds)
    now = now or timezone.now()
    feed = IcalFeed.objects.select_related("property__business").get(pk=feed_id)
    today = feed.property.local_today()
    if pending_rows(feed).exists():
        return _drain(feed, SyncReport("resumed"), today, now, deadline)
    headers = {"Accept": "text/calendar, */*;q=0.5"}
    if feed.etag:
        headers["If-None-Match"] = feed.etag
    if feed.last_modified:
        headers["If-Modified-Since"] = feed.last_modified
    try:
        answer = (fetch or ssrf.fetch)(
            feed.url,
            headers=headers,
            max_bytes=settings.INTEGRATIONS_ICAL_MAX_BYTES,
            timeout=settings.INTEGRATIONS_ICAL_TIMEOUT_SECONDS,
        )
        if answer.status == 304:
            report = SyncReport("not-modified")
            with transaction.atomic():
                lock_one(IcalFeed.objects.filter(pk=feed.pk))
                feed_not_modified(feed=feed, now=now, report=report)
                _mark_success(feed, now)
            return _drain(feed, report, today, now, deadline)
        if answer.status != 200:
            raise ssrf.FetchError(f"HTTP {answer.status}")
        events, skipped = parse_feed(answer.body, feed.platform)
    except (ssrf.FetchError, ssrf.UnsafeURL, ValueError) as exc:
        return _record_failure(feed, str(exc), now)
    feed.etag = answer.headers.get("etag", "")[:255]
    feed.last_modified = answer.headers.get("last-modified", "")[:64]
    report = SyncReport("updated", skipped=skipped)
    with transaction.atomic():
        lock_one(IcalFeed.objects.filter(pk=feed.pk))
        if events:
            feed_diff(feed=feed, events=events, today=today, now=now, report=report)
        else:
            # An empty feed is "unknown", not "everything was cancelled": a partner's
            # hiccup must not open the whole calendar.
            report.outcome = "empty"
        _mark_success(feed, now)
    return _drain(feed, report, today, now, deadline)


def _drain(
    feed: IcalFeed, report: SyncReport, today: date, now: datetime, deadline: float
) -> SyncReport:
    report.pending = feed_drain(feed=feed, today=today, now=now, deadline=deadline, report=report)
    if report.pending:
        # Due again at once: the next poll continues where this run stopped.
        IcalFeed.objects.filter(pk=feed.pk).update(next_fetch_at=now, claimed_until=None)
        log.info("iCal feed %s: %s calendar changes left for the next run", feed.pk, report.pending)
    elif report.outcome == "resumed":
        _schedule_next(feed, now)
        feed.save(update_fields=["next_fetch_at", "claimed_until"])
    return report


def _schedule_next(feed: IcalFeed, now: datetime) -> None:
    minutes = settings.INTEGRATIONS_ICAL_POLL_MINUTES
    if feed.consecutive_failures:
        # Back off a failing feed, up to 6 hours between tries.
        minutes = min(minutes * 2 ** min(feed.consecutive_failures - 1, 5), 360)
    feed.next_fetch_at = now + timedelta(minutes=minutes)
    feed.claimed_until = None


_FETCH_FIELDS = ["last_fetch_at", "next_fetch_at", "claimed_until", "consecutive_failures"]


def _record_failure(feed: IcalFeed, error: str, now: datetime) -> SyncReport:
    feed.last_fetch_at = now
    feed.last_error = error[:2000]
    feed.last_error_at = now
    feed.consecutive_failures += 1
    _schedule_next(feed, now)
    feed.save(update_fields=[*_FETCH_FIELDS, "last_error", "last_error_at"])
    log.info("iCal feed %s failed: %s", feed.pk, error)
    return SyncReport("failed", error=error)


def _mark_success(feed: IcalFeed, now: datetime) -> None:
    feed.last_fetch_at = now
    feed.last_success_at = now
    feed.consecutive_failures = 0
    _schedule_next(feed, now)
    feed.save(update_fields=[*_FETCH_FIELDS, "last_success_at", "etag", "last_modified"])


def ical_feeds_claim_due(*, now: datetime | None = None, limit: int = 1000) -> list[int]:
    now = now or timezone.now()
    rows = claim_due(
        table="integrations_icalfeed",
        where="active AND (next_fetch_at IS NULL OR next_fetch_at <= %(now)s)",
        order_by="next_fetch_at NULLS FIRST, id",
        now=now,
        limit=limit,
        lease_until=now + timedelta(minutes=10),
    )
    return [int(row[0]) for row in rows]
