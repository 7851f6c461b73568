"""Reads behind the integrations pages of the owner dashboard: conflicts, channel
health, a partner stay's origin. Business first; a constant number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Count, F, Q, QuerySet

from bookings.models import Booking
from integrations.models import (
    BookingConflict,
    Channel,
    IcalEvent,
    IcalFeed,
    PartnerReservation,
    PushAttempt,
    PushOutbox,
)
from properties.models import Business
from properties.permissions import Scope


def _conflicts(business: Business, scope: Scope | None = None) -> QuerySet[BookingConflict]:
    qs: QuerySet[BookingConflict] = BookingConflict.objects.filter(business=business)
    if scope is not None:
        qs = scope.apply(qs)
    return qs.select_related(
        "property",
        "channel",
        "feed",
        "existing_booking",
        "existing_booking__property",
        "partner_booking",
    )


def open_conflicts(
    *, business: Business, limit: int | None = None, scope: Scope | None = None
) -> tuple[list[BookingConflict], int]:
    qs = (
        _conflicts(business, scope)
        .filter(status=BookingConflict.Status.OPEN)
        .order_by("check_in", "id")
    )
    if limit is None:
        rows = list(qs)
        return rows, len(rows)
    rows = list(qs[:limit])
    return rows, len(rows) if len(rows) < limit else qs.count()


def resolved_conflicts(
    *, business: Business, limit: int = 20, scope: Scope | None = None
) -> list[BookingConflict]:
    return list(
        _conflicts(business, scope)
        .filter(status=BookingConflict.Status.RESOLVED)
        .order_by("-resolved_at", "-id")[:limit]
    )


def conflict_get(
    *, business: Business, public_id: str, scope: Scope | None = None
) -> BookingConflict | None:
    return _conflicts(business, scope).filter(public_id=public_id).first()


def conflicts_over(
    *, business: Business, property_ids: list[int], start: date, end: date
) -> list[BookingConflict]:
    """Open conflicts of these properties over any night of [start, end)."""
    return list(
        BookingConflict.objects.filter(
            business=business,
            status=BookingConflict.Status.OPEN,
            property_id__in=property_ids,
            check_in__lt=end,
            check_out__gt=start,
        ).select_related("channel", "feed")
    )


def has_channel(*, business: Business) -> bool:
    return (
        Channel.objects.filter(business=business).exists()
        or IcalFeed.objects.filter(business=business).exists()
    )


# --- Channel health -----------------------------------------------------------------------


@dataclass
class ChannelHealth:
    channel: Channel
    pending: int
    dead: int
    listings: int
    last_attempt: PushAttempt | None = None
    dead_pushes: list[PushOutbox] = field(default_factory=list)

    @property
    def dead_replies_only(self) -> bool:
        """Every push that gave up is a host's reply (sent again as written)."""
        return bool(self.dead_pushes) and all(
            p.kind == PushOutbox.Kind.MESSAGE for p in self.dead_pushes
        )

    @property
    def failing(self) -> bool:
        """The last push went wrong and nothing has gone right since."""
        c = self.channel
        return bool(
            c.active
            and c.last_push_error_at
            and (c.last_push_ok_at is None or c.last_push_error_at > c.last_push_ok_at)
        )


def channels_health(*, business: Business) -> list[ChannelHealth]:
    """Every channel with its pending and dead pushes, its last push attempt, and the
    dead letters to re-drive. Three queries."""
    channels = list(
        Channel.objects.filter(business=business)
        .annotate(
            n_pending=Count(
                "pushes", filter=Q(pushes__status=PushOutbox.Status.PENDING), distinct=True
            ),
            n_dead=Count("pushes", filter=Q(pushes__status=PushOutbox.Status.DEAD), distinct=True),
            n_listings=Count("listings", distinct=True),
        )
        .order_by("platform", "id")
    )
    last_attempts = {
        a.push.channel_id: a
        for a in PushAttempt.objects.filter(business=business)
        .select_related("push")
        .order_by("push__channel_id", "-attempted_at")
        .distinct("push__channel_id")
    }
    dead: dict[int, list[PushOutbox]] = {}
    for push in (
        PushOutbox.objects.filter(business=business, status=PushOutbox.Status.DEAD)
        .select_related("listing__property", "message")
        .order_by("-updated_at")
    ):
        dead.setdefault(push.channel_id, []).append(push)
    return [
        ChannelHealth(
            channel=c,
            pending=c.n_pending,
            dead=c.n_dead,
            listings=c.n_listings,
            last_attempt=last_attempts.get(c.pk),
            dead_pushes=dead.get(c.pk, []),
        )
        for c in channels
    ]


def feeds(*, business: Business) -> list[IcalFeed]:
    return list(
        IcalFeed.objects.filter(business=business)
        .select_related("property")
        .order_by("property__name", "platform")
    )


def failing_feeds(*, business: Business) -> list[IcalFeed]:
    """Active feeds whose last fetch failed."""
    return list(
        IcalFeed.objects.filter(business=business, active=True, last_error_at__isnull=False)
        .filter(Q(last_success_at__isnull=True) | Q(last_error_at__gt=F("last_success_at")))
        .select_related("property")
        .order_by("property__name")
    )


def channels_in_trouble(*, business: Business) -> list[ChannelHealth]:
    return [h for h in channels_health(business=business) if h.dead or h.failing]


# --- A partner stay -----------------------------------------------------------------------


@dataclass(frozen=True)
class PartnerOrigin:
    reservation: PartnerReservation | None
    ical_event: IcalEvent | None


def partner_origin(booking: Booking) -> PartnerOrigin:
    reservation = (
        PartnerReservation.objects.filter(business_id=booking.business_id, booking=booking)
        .select_related("channel")
        .first()
    )
    event = (
        IcalEvent.objects.filter(business_id=booking.business_id, booking=booking)
        .select_related("feed")
        .first()
    )
    return PartnerOrigin(reservation=reservation, ical_event=event)
