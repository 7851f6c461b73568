"""Reads behind the integrations pages of the owner dashboard: conflicts, channel
health, a partner stay's origin. Business first; a constant number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, TypedDict

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from bookings.models import Booking
from integrations.models import (
    BookingConflict,
    Channel,
    IcalEvent,
    IcalFeed,
    ListingLink,
    PartnerReservation,
    PushAttempt,
    PushOutbox,
)
from properties.dashboard.reads import first_with_total
from properties.models import Business
from properties.permissions import Scope

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


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
    return first_with_total(qs, limit)


def open_conflicts_brief(
    *, business: Business, limit: int, scope: Scope | None = None
) -> tuple[list[BookingConflict], int]:
    """The first open conflicts and how many there are, with only what Today's panel
    shows (the property, where the stay came from, the stay it overlaps): every join
    more cost PostgreSQL more time planning the question than answering it."""
    qs = _open_brief(business, scope).select_related(
        "property", "channel", "feed", "existing_booking"
    )
    return first_with_total(qs.order_by("check_in", "id"), limit)


def any_open_conflict(*, business: Business, scope: Scope | None = None) -> Q:
    """Whether `open_conflicts_brief` has any, as a `Q` to ask with others."""
    return Q(Exists(_open_brief(business, scope)))


def _open_brief(business: Business, scope: Scope | None) -> QuerySet[BookingConflict]:
    qs: QuerySet[BookingConflict] = BookingConflict.objects.filter(
        business=business, status=BookingConflict.Status.OPEN
    )
    return scope.apply(qs) if scope is not None else qs


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


def has_channel(*, business: Business) -> Q:
    """A channel or an iCal feed exists (a condition: the setup steps ask it with the
    others, in one query)."""
    return Q(Exists(Channel.objects.filter(business=business))) | Q(
        Exists(IcalFeed.objects.filter(business=business))
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


def _count(rows: QuerySet[Any]) -> Coalesce:
    """How many of `rows` belong to the channel of the outer query."""
    counted = (
        rows.filter(channel=OuterRef("pk"))
        .order_by()
        .values("channel")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted), 0)


class _Counts(TypedDict):
    n_pending: int
    n_dead: int
    n_listings: int


def _channels_counted(business: Business) -> list[WithAnnotations[Channel, _Counts]]:
    # Each count is its own subquery: counted over joins, every push of the channel's
    # history was multiplied by its listings before counting.
    return list(
        Channel.objects.filter(business=business)
        .annotate(
            n_pending=_count(PushOutbox.objects.filter(status=PushOutbox.Status.PENDING)),
            n_dead=_count(PushOutbox.objects.filter(status=PushOutbox.Status.DEAD)),
            n_listings=_count(ListingLink.objects.all()),
        )
        .order_by("platform", "id")
    )


def channels_health(*, business: Business) -> list[ChannelHealth]:
    """Every channel with its pending and dead pushes, its last push attempt, and the
    dead letters to re-drive. Three queries."""
    channels = _channels_counted(business)
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
    """Channels with pushes that gave up or whose last push failed, with their counts
    (not their last attempt or dead letters: the channels page shows those). One query."""
    health = [
        ChannelHealth(channel=c, pending=c.n_pending, dead=c.n_dead, listings=c.n_listings)
        for c in _channels_counted(business)
    ]
    return [h for h in health if h.dead or h.failing]


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
