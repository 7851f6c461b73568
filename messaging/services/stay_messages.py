"""The messages of a stay: the guest's (confirmation, reminder, welcome, check-out
reminder, thank you, cancellation, refund notice) and the owner's notices (new booking,
cancellation, calendar conflict; staff problems and unaccepted jobs use the same door).

A booking's messages are scheduled inside the booking service's transaction (via
`calendar_written`, see `messaging.services.calendar_sync`), so a booking change and
its messages commit or roll back together.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext

from bookings.models import Booking
from messaging.models import Kind, ScheduledMessage
from messaging.selectors import (
    Timing,
    check_in_moment,
    check_out_moment,
    hours_before,
    local_moment,
    owner_email,
)
from messaging.services.outbox import (
    message_row,
    message_schedule,
    messages_cancel_pending,
    messages_upsert,
    outbox_kick,
)
from properties.dates import format_day
from properties.models import Business

GUEST_STAY_KINDS = (
    Kind.CONFIRMATION,
    Kind.REMINDER,
    Kind.WELCOME,
    Kind.CHECKOUT_REMINDER,
    Kind.THANK_YOU,
)


def guest_message_key(booking: Booking, kind: str) -> str:
    """The outbox key of one kind of message to a booking's guest."""
    return f"booking:{booking.pk}:{kind}:{booking.guest_email.lower()}"


def guest_message_schedule(
    *,
    booking: Booking,
    kind: str,
    wanted_at: datetime,
    now: datetime,
    key: str | None = None,
    **fields: Any,
) -> ScheduledMessage:
    """A message to a booking's guest about that booking; `key` defaults to the one
    message of `kind` per booking and guest (`guest_message_key`)."""
    return message_schedule(
        message_row(
            business_id=booking.business.pk,
            kind=kind,
            recipient=booking.guest_email,
            recipient_name=booking.guest_name,
            key=key or guest_message_key(booking, kind),
            wanted_at=wanted_at,
            now=now,
            prop=booking.property,
            booking=booking,
            **fields,
        )
    )


def _guest_plan(
    booking: Booking, timing: Timing, now: datetime
) -> dict[str, tuple[datetime, datetime]]:
    """(wanted at, useful until) of each guest stay message."""
    prop = booking.property
    arrive = check_in_moment(booking)
    leave = check_out_moment(booking)
    return {
        Kind.CONFIRMATION: (now, leave),
        Kind.REMINDER: (
            local_moment(
                prop,
                booking.check_in - timedelta(days=timing.reminder_days_before),
                timing.reminder_time,
            ),
            arrive,
        ),
        Kind.WELCOME: (hours_before(prop, arrive, timing.welcome_hours_before), arrive),
        Kind.CHECKOUT_REMINDER: (
            local_moment(
                prop, booking.check_out - timedelta(days=1), timing.checkout_reminder_time
            ),
            leave,
        ),
        Kind.THANK_YOU: (
            local_moment(prop, booking.check_out + timedelta(days=1), timing.thank_you_time),
            leave + timedelta(days=14),
        ),
    }


def _guest_stay_rows(
    booking: Booking, *, now: datetime, kinds: tuple[str, ...], timing: Timing
) -> list[ScheduledMessage]:
    if not booking.guest_email:
        return []
    plan = _guest_plan(booking, timing, now)
    return [
        message_row(
            business_id=booking.business_id,
            kind=kind,
            recipient=booking.guest_email,
            recipient_name=booking.guest_name,
            key=guest_message_key(booking, kind),
            wanted_at=plan[kind][0],
            expires_at=plan[kind][1],
            now=now,
            prop=booking.property,
            booking=booking,
            timing=timing,
        )
        for kind in kinds
    ]


def owner_notice_schedule(
    *, business: Business, kind: str, key: str, now: datetime, **fields: Any
) -> ScheduledMessage:
    """A notice to the business's owner, due at once; `key` names what it is about
    (one notice per key and kind)."""
    email = owner_email(business)
    return message_schedule(
        message_row(
            business_id=business.pk,
            kind=kind,
            recipient=email,
            key=f"{key}:{kind}:{email.lower()}",
            wanted_at=now,
            now=now,
            **fields,
        )
    )


def _owner_booking_row(
    booking: Booking, kind: str, now: datetime, timing: Timing
) -> ScheduledMessage:
    """The owner's notice about a booking (`owner_notice_schedule`'s key), not saved."""
    email = timing.owner_email
    return message_row(
        business_id=booking.business_id,
        kind=kind,
        recipient=email,
        key=f"booking:{booking.pk}:{kind}:{email.lower()}",
        wanted_at=now,
        now=now,
        booking=booking,
    )


def booking_messages_confirmed(*, booking: Booking, now: datetime, timing: Timing) -> None:
    """The stay's whole message plan (the guest's and the owner's), in one statement."""
    messages_upsert(
        [
            *_guest_stay_rows(booking, now=now, kinds=GUEST_STAY_KINDS, timing=timing),
            _owner_booking_row(booking, Kind.OWNER_NEW_BOOKING, now, timing),
        ]
    )


def booking_messages_changed(
    *, booking: Booking, now: datetime, timing: Timing, previous: dict[str, Any] | None = None
) -> None:
    """Re-time what has not gone out, in one statement; what has is corrected by
    `messaging.services.key_codes.arrivals_reconcile`. A stay booked on the site whose
    dates changed (an extension the guest paid for, or the owner moving it) is told to
    the guest and the owner: old and new dates, one email per change."""
    kinds = tuple(k for k in GUEST_STAY_KINDS if k != Kind.CONFIRMATION)
    messages_upsert(_guest_stay_rows(booking, now=now, kinds=kinds, timing=timing))
    if previous is None or booking.source != Booking.Source.DIRECT:
        return
    old_in, old_out = previous.get("check_in"), previous.get("check_out")
    if not old_in or not old_out or (old_in, old_out) == (booking.check_in, booking.check_out):
        return

    def changes() -> str:
        return gettext("The stay was %(before)s; it is now %(after)s.") % {
            "before": _span(old_in, old_out),
            "after": _span(booking.check_in, booking.check_out),
        }

    change_key = f"booking:{booking.pk}:dates:{booking.check_in}:{booking.check_out}"
    if booking.guest_email:
        message_schedule(
            message_row(
                business_id=booking.business.pk,
                kind=Kind.STAY_CHANGED,
                recipient=booking.guest_email,
                recipient_name=booking.guest_name,
                key=f"{change_key}:{Kind.STAY_CHANGED}:{booking.guest_email.lower()}",
                wanted_at=now,
                expires_at=check_out_moment(booking),
                now=now,
                booking=booking,
                prop=booking.property,
                # Written into the guest's language now: the email quotes it as is.
                context={"changes": _in_language(booking.language, changes)},
            )
        )
    owner_notice_schedule(
        business=booking.business,
        kind=Kind.OWNER_STAY_CHANGED,
        key=change_key,
        now=now,
        booking=booking,
        context={"changes": _in_language(settings.LANGUAGE_CODE, changes)},
    )


def _in_language(language: str, text: Callable[[], str]) -> str:
    with translation.override(language):
        return text()


def _span(check_in: Any, check_out: Any) -> str:
    if isinstance(check_in, str):
        check_in, check_out = date.fromisoformat(check_in), date.fromisoformat(check_out)
    nights = (check_out - check_in).days
    text = ngettext(
        "%(start)s to %(end)s (%(nights)d night)",
        "%(start)s to %(end)s (%(nights)d nights)",
        nights,
    )
    return text % {
        "start": format_day(check_in, "D j M Y"),
        "end": format_day(check_out, "D j M Y"),
        "nights": nights,
    }


def booking_messages_cancelled(
    *, booking: Booking, was_confirmed: bool, now: datetime, timing: Timing
) -> None:
    messages_cancel_pending(
        ScheduledMessage.objects.filter(booking=booking).exclude(
            kind__in=[Kind.CANCELLATION, Kind.OWNER_CANCELLATION]
        ),
        reason="The booking was cancelled.",
    )
    if not was_confirmed:
        return
    rows = []
    if booking.guest_email:
        rows.append(
            message_row(
                business_id=booking.business_id,
                kind=Kind.CANCELLATION,
                recipient=booking.guest_email,
                recipient_name=booking.guest_name,
                key=guest_message_key(booking, Kind.CANCELLATION),
                wanted_at=now,
                expires_at=check_out_moment(booking),
                now=now,
                prop=booking.property,
                booking=booking,
                timing=timing,
            )
        )
    rows.append(_owner_booking_row(booking, Kind.OWNER_CANCELLATION, now, timing))
    messages_upsert(rows)


# --- Announced by other apps on commit ------------------------------------------------------


def owner_notice_announce(
    *, business_id: int, kind: str, key: str, summary: str, now: datetime | None = None
) -> ScheduledMessage | None:
    """An owner email another app announced on its commit (once per key), sent now."""
    now = now or timezone.now()
    business = Business.objects.filter(pk=business_id).first()
    if business is None:
        return None
    with transaction.atomic():
        row = owner_notice_schedule(
            business=business, kind=kind, key=key, now=now, context={"summary": summary[:500]}
        )
        outbox_kick()
    return row


def conflict_notice_schedule(
    *, business_id: int, conflict_id: Any, summary: str, now: datetime | None = None
) -> ScheduledMessage | None:
    return owner_notice_announce(
        business_id=business_id,
        kind=Kind.OWNER_CONFLICT,
        key=f"conflict:{conflict_id}",
        summary=str(summary),
        now=now,
    )


def refund_notice_schedule(
    *, booking_id: int, refund_id: int, summary: str, now: datetime | None = None
) -> ScheduledMessage | None:
    """Tell the guest of a refund they did not ask for (once per refund)."""
    now = now or timezone.now()
    booking = (
        Booking.objects.select_related("business", "property__business")
        .filter(pk=booking_id)
        .first()
    )
    if booking is None or not booking.guest_email:
        return None
    with transaction.atomic():
        row = guest_message_schedule(
            booking=booking,
            kind=Kind.REFUND_NOTICE,
            key=f"refund:{refund_id}:{Kind.REFUND_NOTICE}:{booking.guest_email.lower()}",
            wanted_at=now,
            now=now,
            context={"summary": str(summary)[:500]},
        )
        outbox_kick()
    return row
