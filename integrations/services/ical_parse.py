"""Reading a partner's iCal feed: its events, their dates, and what each one is
(reservation, tentative or block) in the words each platform uses. No database."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import icalendar

from bookings.rules import MAX_STAY_NIGHTS
from integrations.models import IcalEvent, Platform

Classification = IcalEvent.Classification
MAX_EVENT_DAYS = MAX_STAY_NIGHTS  # longer events are cut to what the engine accepts


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
