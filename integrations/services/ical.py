"""iCal both ways.

Export: one feed per property at /ical/<token>.ics; each active stay or block is an
all-day VEVENT with a stable UID (the booking reference), SUMMARY "Reserved" or "Not
available", and no guest data. `?platform=airbnb` (booking, vrbo) leaves out what came
from that platform, so an imported event never goes back to where it came from.

Import: each feed is fetched every INTEGRATIONS_ICAL_POLL_MINUTES with a conditional
GET. Events are classified per platform (reservation, tentative, block) and upserted
by UID as partner blocks. An event missing from the feed is released only after two
successful fetches in a row without it; an empty or failed fetch is "unknown" and
releases nothing. A block that collides with a stay becomes a BookingConflict.
"""

from __future__ import annotations

import logging
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import icalendar
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from bookings.errors import BookingError, StayUnavailable
from bookings.models import Booking
from bookings.rules import MAX_STAY_NIGHTS
from bookings.services.blocks import block_change_dates, block_create, block_remove
from integrations import ssrf
from integrations.models import (
    PLATFORM_SOURCE,
    IcalEvent,
    IcalExportToken,
    IcalFeed,
    Platform,
)
from integrations.services import conflict_record
from properties.db import claim_due
from properties.models import Property
from properties.urls_util import app_url

log = logging.getLogger(__name__)

Classification = IcalEvent.Classification
MISSING_FETCHES_TO_RELEASE = 2
MAX_EVENT_DAYS = MAX_STAY_NIGHTS  # longer events are cut to what the engine accepts


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


# --- Import: parsing and classification -----------------------------------------------


@dataclass(frozen=True)
class FeedEvent:
    uid: str
    start: date
    end: date
    summary: str
    classification: str


def _fold(text: str) -> str:
    """Lowercase without accents: 'Réservée' -> 'reservee'."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower().strip()


_RESERVED_WORDS = (
    "reserved",
    "reservee",
    "reserve",
    "reservado",
    "reservada",
    "reserviert",
    "gereserveerd",
    "prenotato",
    "prenotata",
    "booked",
    "booking",
)
_TENTATIVE_WORDS = ("tentative", "provisoire", "provisional", "vorlaufig", "provisorio", "pending")
_BLOCKED_WORDS = (
    "blocked",
    "bloque",
    "bloqueado",
    "blockiert",
    "geblokkeerd",
    "bloccato",
    "not available",
    "unavailable",
    "indisponible",
    "nicht verfugbar",
    "no disponible",
    "non disponibile",
    "closed",
)


def classify(platform: str, summary: str, description: str = "") -> str:
    """Reservation, tentative or block, from what each platform writes:

    - Airbnb: "Reserved" (a guest stay, often with a "Reservation URL" description)
      vs "Airbnb (Not available)" / "Not available" (blocked by the host or a rule);
    - Booking.com: always "CLOSED - Not available" (stays and closures look the same,
      so a block);
    - Vrbo / HomeAway / Abritel: "Reserved - <name>", "Tentative - <name>", "Blocked",
      and localized forms ("Réservée - Melanie", "Provisoire - Sylvie", "Indisponible").
    """
    text = _fold(summary)
    head = re.split(r"\s+-\s+|\s*:\s*", text, maxsplit=1)[0]
    if platform == Platform.BOOKING:
        return Classification.BLOCK
    if platform == Platform.AIRBNB:
        if "not available" in text or "blocked" in text:
            return Classification.BLOCK
        if head.startswith("reserved") or "reservation url" in _fold(description):
            return Classification.RESERVATION
        return Classification.BLOCK
    if any(head.startswith(word) for word in _TENTATIVE_WORDS):
        return Classification.TENTATIVE
    if any(word in text for word in _BLOCKED_WORDS):
        return Classification.BLOCK
    if any(head.startswith(word) for word in _RESERVED_WORDS):
        return Classification.RESERVATION
    return Classification.BLOCK


def _as_date(value: Any) -> date | None:
    if value is None:
        return None
    moment = value.dt if hasattr(value, "dt") else value
    if isinstance(moment, datetime):
        return moment.date()
    if isinstance(moment, date):
        return moment
    return None


def _clean(value: Any) -> str:
    """Text of a property, without the NUL characters PostgreSQL cannot store."""
    return str(value or "").replace("\x00", "").strip()


def _event_dates(component: Any) -> tuple[date | None, date | None]:
    start = _as_date(component.get("dtstart"))
    end = _as_date(component.get("dtend"))
    if start is not None and end is None:
        duration = component.get("duration")
        span = duration.dt if duration is not None else timedelta(days=1)
        if not isinstance(span, timedelta):
            raise TypeError("DURATION is not a duration")
        end = start + span
        if isinstance(end, datetime):
            end = end.date()
    return start, end


def parse_feed(body: bytes, platform: str) -> tuple[list[FeedEvent], int]:
    """The feed's events and the number skipped as unusable (no UID, no dates, an end
    before the start). Raises ValueError when the body is not a calendar at all."""
    try:
        cal = icalendar.Calendar.from_ical(body.decode("utf-8-sig", errors="replace"))
    except Exception as exc:  # icalendar raises ValueError and assorted others
        raise ValueError(f"Not an iCalendar feed: {exc}") from exc
    events: list[FeedEvent] = []
    skipped = 0
    seen: set[str] = set()
    for component in cal.walk("VEVENT"):
        uid = _clean(component.get("uid"))[:255]
        try:
            start, end = _event_dates(component)
        except (ValueError, TypeError, OverflowError, AttributeError):
            # A broken DTSTART/DTEND/DURATION spoils this event, not the whole feed.
            skipped += 1
            continue
        status = str(component.get("status") or "").upper()
        if not uid or start is None or end is None or end <= start or uid in seen:
            skipped += 1
            continue
        if status == "CANCELLED":
            continue
        if (end - start).days > MAX_EVENT_DAYS:
            end = start + timedelta(days=MAX_EVENT_DAYS)
        seen.add(uid)
        summary = _clean(component.get("summary"))[:255]
        description = _clean(component.get("description"))
        events.append(
            FeedEvent(
                uid=uid,
                start=start,
                end=end,
                summary=summary,
                classification=classify(platform, summary, description),
            )
        )
    return events, skipped


# --- Import: fetching and applying ------------------------------------------------------


@dataclass
class SyncReport:
    outcome: str  # updated | not-modified | empty | failed
    created: int = 0
    moved: int = 0
    released: int = 0
    conflicts: int = 0
    skipped: int = 0
    error: str = ""


def ical_feed_sync(*, feed_id: int, now: datetime | None = None, fetch: Any = None) -> SyncReport:
    """Fetch one feed and apply it. Safe to run twice; failures are recorded on the feed."""
    now = now or timezone.now()
    feed = IcalFeed.objects.select_related("property__business").get(pk=feed_id)
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
            return _apply_not_modified(feed, now)
        if answer.status != 200:
            raise ssrf.FetchError(f"HTTP {answer.status}")
        events, skipped = parse_feed(answer.body, feed.platform)
    except (ssrf.FetchError, ssrf.UnsafeURL, ValueError) as exc:
        return _record_failure(feed, str(exc), now)
    feed.etag = answer.headers.get("etag", "")[:255]
    feed.last_modified = answer.headers.get("last-modified", "")[:64]
    return _apply_events(feed, events, skipped, now)


def _schedule_next(feed: IcalFeed, now: datetime) -> None:
    minutes = settings.INTEGRATIONS_ICAL_POLL_MINUTES
    if feed.consecutive_failures:
        # Back off a failing feed, up to 6 hours between tries.
        minutes = min(minutes * 2 ** min(feed.consecutive_failures - 1, 5), 360)
    feed.next_fetch_at = now + timedelta(minutes=minutes)
    feed.claimed_until = None


def _record_failure(feed: IcalFeed, error: str, now: datetime) -> SyncReport:
    feed.last_fetch_at = now
    feed.last_error = error[:2000]
    feed.last_error_at = now
    feed.consecutive_failures += 1
    _schedule_next(feed, now)
    feed.save()
    log.info("iCal feed %s failed: %s", feed.pk, error)
    return SyncReport("failed", error=error)


def _mark_success(feed: IcalFeed, now: datetime) -> None:
    feed.last_fetch_at = now
    feed.last_success_at = now
    feed.consecutive_failures = 0
    _schedule_next(feed, now)
    feed.save()


def _apply_not_modified(feed: IcalFeed, now: datetime) -> SyncReport:
    """Same content as last time: a successful answer, so what it lacked last time
    it lacks again."""
    report = SyncReport("not-modified")
    with transaction.atomic():
        for event in IcalEvent.objects.filter(feed=feed, missing_count__gte=1).select_related(
            "booking"
        ):
            report.released += _count_missing(event, now)
        _mark_success(feed, now)
    return report


def _count_missing(event: IcalEvent, now: datetime) -> int:
    event.missing_count += 1
    if event.missing_count < MISSING_FETCHES_TO_RELEASE:
        event.save(update_fields=["missing_count", "updated_at"])
        return 0
    if event.booking is not None and event.booking.status == Booking.Status.CONFIRMED:
        block_remove(block=event.booking, now=now)
    event.delete()
    return 1


def _apply_events(
    feed: IcalFeed, events: list[FeedEvent], skipped: int, now: datetime
) -> SyncReport:
    prop = feed.property
    report = SyncReport("updated", skipped=skipped)
    if not events:
        # An empty feed is "unknown", not "everything was cancelled": a partner's
        # hiccup must not open the whole calendar.
        report.outcome = "empty"
        with transaction.atomic():
            _mark_success(feed, now)
        return report
    today = prop.local_today()
    known = {e.uid: e for e in IcalEvent.objects.filter(feed=feed).select_related("booking")}
    with transaction.atomic():
        for event in events:
            row = known.pop(event.uid, None)
            if row is None and event.end <= today:
                continue  # already over: nothing to block
            _upsert(feed, row, event, report, now)
        for row in known.values():
            report.released += _count_missing(row, now)
        _mark_success(feed, now)
    return report


def _upsert(
    feed: IcalFeed, row: IcalEvent | None, event: FeedEvent, report: SyncReport, now: datetime
) -> None:
    prop = feed.property
    if row is None:
        row = IcalEvent(business_id=feed.business_id, feed=feed, uid=event.uid)
    row.classification = event.classification
    row.summary = event.summary
    row.missing_count = 0
    block = row.booking if row.booking and row.booking.status == Booking.Status.CONFIRMED else None
    changed = (row.start, row.end) != (event.start, event.end) if row.pk else True
    row.start, row.end = event.start, event.end
    try:
        if block is not None:
            if (block.check_in, block.check_out) != (event.start, event.end):
                row.booking = block_change_dates(
                    block=block, start=event.start, end=event.end, now=now
                )
                report.moved += 1
        elif changed or row.booking is None:
            row.booking = block_create(
                property=prop,
                start=event.start,
                end=event.end,
                kind=Booking.Kind.PARTNER_BLOCK,
                source=Booking.Source.ICAL,
                note=f"{feed.get_platform_display()} iCal {event.classification}: "
                f"{event.summary or 'no title'}"[:2000],
                now=now,
            )
            report.created += 1
    except StayUnavailable:
        if changed:
            conflict_record(
                business_id=feed.business_id,
                property=prop,
                check_in=event.start,
                check_out=event.end,
                external_id=event.uid,
                partner_data={
                    "uid": event.uid,
                    "summary": event.summary,
                    "classification": event.classification,
                    "note": f"{feed.get_platform_display()} iCal {event.classification}",
                },
                feed=feed,
                partner_booking=block,
            )
            report.conflicts += 1
    except BookingError as exc:
        report.skipped += 1
        log.info("iCal event %s of feed %s skipped: %s", event.uid, feed.pk, exc)
        return
    row.save()


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
