"""Reads behind the integrations pages of the owner dashboard: conflicts, channel
health, a partner stay's origin. Business first; a constant number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, TypedDict

from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.expressions import RawSQL
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
from properties.dashboard.reads import first_with_total, raw_first_with_total, scope_sql, sql_rows
from properties.dashboard.registry import exists_sql
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
) -> tuple[list[Any], int]:
    """Today's first open conflicts, by check-in, and how many there are,
    with only what its panel shows, as extra attributes: `property_name`,
    `channel_platform`, `feed_platform`, `existing_guest_name`, `existing_reference`
    (properties.dashboard.reads on why in SQL)."""
    in_scope, params = scope_sql(scope, "p.group_id")
    sql = f"""
        SELECT c.id, c.public_id, c.check_in, c.check_out, c.partner_data,
               c.existing_booking_id, p.name AS property_name,
               ch.platform AS channel_platform, f.platform AS feed_platform,
               b.guest_name AS existing_guest_name, b.reference AS existing_reference,
               COUNT(*) OVER () AS _total
        FROM integrations_bookingconflict c
        JOIN properties_property p ON p.id = c.property_id
        LEFT JOIN integrations_channel ch ON ch.id = c.channel_id
        LEFT JOIN integrations_icalfeed f ON f.id = c.feed_id
        LEFT JOIN bookings_booking b ON b.id = c.existing_booking_id
        WHERE c.business_id = %(business)s::bigint AND c.status = %(open)s AND {in_scope}
        ORDER BY c.check_in, c.id
        LIMIT %(limit)s"""  # noqa: S608 (constant fragments; the values are parameters)
    return raw_first_with_total(
        BookingConflict,
        sql,
        {"business": business.pk, "open": BookingConflict.Status.OPEN, **params},
        limit,
    )


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


def has_channel(*, business: Business) -> RawSQL:
    """A channel or an iCal feed exists (a question the setup steps ask with the
    others, in one query)."""
    return exists_sql(
        "SELECT FROM integrations_channel WHERE business_id = %s"
        " UNION ALL SELECT FROM integrations_icalfeed WHERE business_id = %s",
        [business.pk, business.pk],
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


def channel_problems(*, business: Business) -> list[dict[str, Any]]:
    """Today's channel problems in one statement (properties.dashboard.reads on why in
    SQL), each a dict: first the channels with pushes that gave up or whose last push
    failed (`ChannelHealth.failing`), `kind` "channel" with `public_id`, `platform`,
    `name`, `error` (the last push's), `dead`, `failing`; then the active iCal feeds
    whose last fetch failed, `kind` "feed" with `id`, `platform`, `property_name`,
    `error` (the last fetch's), `consecutive_failures`."""
    sql = """
        SELECT * FROM (
            SELECT 'channel' AS kind, 0 AS sort, c.platform AS sort_key, c.id, c.public_id,
                   c.platform, c.name,
                   c.last_push_error AS error, '' AS property_name,
                   (SELECT COUNT(*) FROM integrations_pushoutbox o
                    WHERE o.channel_id = c.id AND o.status = %(dead)s) AS dead,
                   (c.active AND c.last_push_error_at IS NOT NULL
                    AND (c.last_push_ok_at IS NULL OR c.last_push_error_at > c.last_push_ok_at))
                   AS failing,
                   0 AS consecutive_failures
            FROM integrations_channel c
            WHERE c.business_id = %(business)s::bigint
        ) channels
        WHERE dead > 0 OR failing
        UNION ALL
        SELECT 'feed', 1, p.name, f.id, '', f.platform, '', f.last_error, p.name, 0, TRUE,
               f.consecutive_failures
        FROM integrations_icalfeed f
        JOIN properties_property p ON p.id = f.property_id
        WHERE f.business_id = %(business)s::bigint AND f.active AND f.last_error_at IS NOT NULL
          AND (f.last_success_at IS NULL OR f.last_error_at > f.last_success_at)
        ORDER BY sort, sort_key, id"""
    return sql_rows(sql, {"business": business.pk, "dead": PushOutbox.Status.DEAD})


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
