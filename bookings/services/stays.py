"""Guest stays: a visitor's hold, confirmation, stays recorded by partners, the owner or
the API, moving a stay, and the guest details written on it.

Every write here owns one explicit transaction and goes through the critical section of
`bookings.services.writes`; every date and guest detail goes through `bookings.rules`.
Signals for side effects are sent on commit (see bookings.signals).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from psycopg.types.range import Range

from bookings import signals
from bookings.errors import InvalidTransition, TooManyGuests
from bookings.models import Booking
from bookings.pricing import quote
from bookings.rules import guest_details_clean, stay_dates_check
from bookings.services.holds import hold_insert, visitor_holds_check
from bookings.services.writes import (
    calendar_insert,
    calendar_save,
    calendar_write,
    on_commit_send,
    property_lock,
    stay_free_claim,
    stay_free_fast_check,
)
from properties.languages import site_language
from properties.models import Property, User

# What a guest count is stored in (PositiveSmallIntegerField).
MAX_GUESTS_STORED = 32767


@calendar_write
def booking_hold(
    *,
    property: Property,
    check_in: date,
    check_out: date,
    guests: int,
    guest_user: User | None = None,
    guest_name: str = "",
    guest_email: str = "",
    guest_phone: str = "",
    note: str = "",
    source: str = Booking.Source.DIRECT,
    language: str = "",
    hold_minutes: int | None = None,
    now: datetime | None = None,
) -> Booking:
    """Reserve the nights for a visitor while they pay (HOLIDESK_HOLD_MINUTES, 30 by
    default), under the property's stay rules and the visitor's hold allowance.
    `language`: the site's language the visitor books in (the business's default when
    it does not offer it), the language of the guest's emails."""
    now = now or timezone.now()
    stay_dates_check(
        property=property, check_in=check_in, check_out=check_out, today=property.local_today()
    )
    guest = guest_details_clean(
        name=guest_name or (guest_user.name if guest_user else ""),
        email=guest_email or (guest_user.email if guest_user else ""),
        phone=guest_phone,
    )
    minutes = hold_minutes or settings.HOLIDESK_HOLD_MINUTES
    stay_free_fast_check(property.pk, check_in, check_out, now)
    with transaction.atomic():
        if guest_user is not None:
            # The visitor's row before the property's: the one order every hold takes.
            visitor_holds_check(
                business=property.business,
                user=guest_user,
                nights=(check_out - check_in).days,
                now=now,
            )
        prop = property_lock(property.pk, wanted=(check_in, check_out, now))
        priced = quote(prop, check_in, check_out, guests)
        return hold_insert(
            prop,
            check_in,
            check_out,
            now=now,
            expires_at=now + timedelta(minutes=minutes),
            source=source,
            guest_user=guest_user,
            guest_name=guest.name,
            guest_email=guest.email,
            guest_phone=guest.phone,
            guests=guests,
            note=note,
            language=site_language(property.business, language),
            price_breakdown=priced.as_dict(),
            total=priced.total,
            currency=priced.currency,
        )


@calendar_write
def booking_confirm(
    *, booking: Booking, amount_paid: Decimal | None = None, now: datetime | None = None
) -> Booking:
    """Held -> confirmed, conditional on the current state (safe to call twice).

    A payment can arrive after its hold ran out. If the nights are still free the
    booking is confirmed anyway; if someone else took them, StayUnavailable is raised
    and the caller refunds. An overlapping stay is never confirmed.
    """
    now = now or timezone.now()
    with transaction.atomic():
        prop = property_lock(booking.property_id)
        current = Booking.objects.select_for_update().get(pk=booking.pk)
        current.property = prop
        if current.status == Booking.Status.CONFIRMED:
            return current
        if current.status == Booking.Status.CANCELLED:
            raise InvalidTransition(f"Booking {current.reference} was cancelled.")
        if current.status == Booking.Status.EXPIRED or (
            current.hold_expires_at is not None and current.hold_expires_at <= now
        ):
            # The hold ran out: its nights are confirmed only if still free. A live hold
            # keeps them under the constraint, so nothing else can be over them.
            stay_free_claim(
                prop, current.check_in, current.check_out, now=now, exclude_id=current.pk
            )
        current.status = Booking.Status.CONFIRMED
        current.confirmed_at = now
        current.hold_expires_at = None
        if amount_paid is not None:
            current.amount_paid = amount_paid
        calendar_save(prop, current, action="confirmed")
        on_commit_send(signals.booking_confirmed, booking_id=current.pk)
    return current


@calendar_write
def booking_create(
    *,
    property: Property,
    check_in: date,
    check_out: date,
    guests: int = 1,
    source: str,
    guest_name: str = "",
    guest_email: str = "",
    guest_phone: str = "",
    total: Decimal | None = None,
    currency: str | None = None,
    note: str = "",
    enforce_rules: bool = False,
    now: datetime | None = None,
) -> Booking:
    """A confirmed stay from a partner, the owner or the API (no hold, no payment here).

    Partner and owner bookings are not held to the site's stay rules (the partner
    applied its own; the owner records what was agreed, even after the fact), only to
    the engine's date limits; `enforce_rules=True` applies the site's rules too.
    """
    now = now or timezone.now()
    stay_dates_check(
        property=property,
        check_in=check_in,
        check_out=check_out,
        today=property.local_today(),
        allow_past=not enforce_rules,
        allow_beyond_horizon=not enforce_rules,
    )
    guest = guest_details_clean(name=guest_name, email=guest_email, phone=guest_phone)
    guests_check(guests)
    stay_free_fast_check(property.pk, check_in, check_out, now)
    with transaction.atomic():
        prop = property_lock(property.pk, wanted=(check_in, check_out, now))
        if total is None or enforce_rules:
            priced = quote(prop, check_in, check_out, max(guests, 1), enforce_rules=enforce_rules)
            breakdown, amount = priced.as_dict(), priced.total
        if total is not None:
            # A partner's price is recorded as sent (quoted above only for the rules).
            breakdown, amount = {"total": str(total)}, total
        booking = calendar_insert(
            prop,
            check_in,
            check_out,
            now=now,
            action="confirmed",
            status=Booking.Status.CONFIRMED,
            kind=Booking.Kind.STAY,
            source=source,
            guest_name=guest.name,
            guest_email=guest.email,
            guest_phone=guest.phone,
            guests=guests,
            note=note,
            price_breakdown=breakdown,
            total=amount,
            currency=currency or prop.business.currency,
            confirmed_at=now,
        )
        on_commit_send(signals.booking_confirmed, booking_id=booking.pk)
    return booking


@calendar_write
def booking_change_dates(
    *,
    booking: Booking,
    check_in: date,
    check_out: date,
    enforce_rules: bool = True,
    now: datetime | None = None,
) -> tuple[Booking, Decimal]:
    """Move or extend a confirmed stay atomically; returns it with the price difference
    (positive: the guest owes more). The exclusion constraint still guards the move.

    With `enforce_rules` (a guest or the API) the new dates meet the site's rules, except
    what a stay in progress cannot help: a check-in it keeps may be in the past, and a
    check-out it keeps may lie beyond the horizon. Without (the owner in the admin, a
    partner, a paid extension) only the engine's date limits apply."""
    now = now or timezone.now()
    with transaction.atomic():
        prop = property_lock(booking.property_id)
        current = Booking.objects.select_for_update().get(pk=booking.pk)
        current.property = prop
        if current.status != Booking.Status.CONFIRMED or current.is_block:
            raise InvalidTransition(
                f"Only confirmed stays can change dates ({current.reference} is {current.status})."
            )
        today = prop.local_today()
        stay_dates_check(
            property=prop,
            check_in=check_in,
            check_out=check_out,
            today=today,
            allow_past=not enforce_rules or check_in == current.check_in,
            allow_beyond_horizon=not enforce_rules or check_out <= current.check_out,
        )
        if (current.check_in, current.check_out) == (check_in, check_out):
            return current, Decimal(0)
        priced = quote(
            prop,
            check_in,
            check_out,
            current.guests,
            enforce_rules=enforce_rules and check_in >= today,
        )
        stay_free_claim(prop, check_in, check_out, now=now, exclude_id=current.pk)
        previous = {
            "check_in": current.check_in,
            "check_out": current.check_out,
            "total": current.total,
        }
        difference = priced.total - current.total
        current.stay = Range(check_in, check_out, "[)")
        current.price_breakdown = priced.as_dict()
        current.total = priced.total
        calendar_save(prop, current, action="changed", previous=previous)
        on_commit_send(
            signals.booking_changed,
            booking_id=current.pk,
            old_check_in=previous["check_in"].isoformat(),
            old_check_out=previous["check_out"].isoformat(),
        )
    return current, difference


def guests_check(guests: int) -> None:
    if not 1 <= guests <= MAX_GUESTS_STORED:
        raise TooManyGuests(
            f"A stay needs between 1 and {MAX_GUESTS_STORED} guests.",
            fields={"guests": [f"between 1 and {MAX_GUESTS_STORED}"]},
        )


def booking_guest_update(
    *,
    booking: Booking,
    name: str,
    email: str,
    phone: str,
    guests: int | None = None,
    note: str | None = None,
) -> Booking:
    """Change the guest details written on a booking (and, when given, its guest count
    and note), through the same rules as when it was made: one line each, no control
    characters, a valid email. Raises InvalidGuestDetails or TooManyGuests; nothing is
    written then. The calendar is untouched, so the property is not locked."""
    guest = guest_details_clean(name=name, email=email, phone=phone)
    if guests is not None:
        guests_check(guests)
    with transaction.atomic():
        current = Booking.objects.select_for_update().get(pk=booking.pk)
        current.guest_name, current.guest_email, current.guest_phone = (
            guest.name,
            guest.email,
            guest.phone,
        )
        fields = ["guest_name", "guest_email", "guest_phone", "updated_at"]
        if guests is not None:
            current.guests = guests
            fields.append("guests")
        if note is not None:
            current.note = note
            fields.append("note")
        current.save(update_fields=fields)
    return current


def booking_price_record(*, booking: Booking, total: Decimal, currency: str) -> Booking:
    """Record the price a partner charged for its booking (the partner collects it; no
    quote is computed here). The calendar is untouched."""
    with transaction.atomic():
        current = Booking.objects.select_for_update().get(pk=booking.pk)
        current.total, current.currency = total, currency
        current.save(update_fields=["total", "currency", "updated_at"])
    return current
