"""Reads of the inbox, for the owner's dashboard and the guest's trip page: the list, one
thread, unread ones for Today, a stay's thread. Business (or a stay already scoped to
it) first; a constant number of queries each."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet

from bookings.models import Booking
from messaging.inbox_models import Conversation, ConversationMessage
from properties.dashboard.reads import raw_first_with_total, scope_sql
from properties.models import Business
from properties.permissions import Scope

PAGE_SIZE = 50
# A thread page shows this many of its latest messages (a longer one links to the
# booking's emails and the partner's site for its history).
THREAD_LIMIT = 200


def _scoped(business: Business, scope: Scope | None) -> QuerySet[Conversation]:
    qs = Conversation.objects.filter(business=business)
    return qs if scope is None else scope.apply_any(qs, "property", "booking__property")


def _conversations(business: Business, scope: Scope | None = None) -> QuerySet[Conversation]:
    return _scoped(business, scope).select_related("booking__property", "property")


def inbox_rows(
    *, business: Business, unread_only: bool, page: int, scope: Scope | None = None
) -> tuple[list[Conversation], bool]:
    """One page of the inbox, latest message first, and whether there is a next one."""
    qs = _conversations(business, scope).order_by("-last_message_at", "-id")
    if unread_only:
        qs = qs.filter(unread=True)
    start = (page - 1) * PAGE_SIZE
    rows = list(qs[start : start + PAGE_SIZE + 1])
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


def inbox_counts(*, business: Business, scope: Scope | None = None) -> dict[str, int]:
    counts = _scoped(business, scope).aggregate(
        all=Count("id"), unread=Count("id", filter=Q(unread=True))
    )
    return {key: int(value or 0) for key, value in counts.items()}


def conversation_get(
    *, business: Business, conversation_id: int, scope: Scope | None = None
) -> Conversation | None:
    return (
        _conversations(business, scope)
        .select_related("business")
        .filter(pk=conversation_id)
        .first()
    )


def thread_messages(
    conversation: Conversation, *, limit: int = THREAD_LIMIT
) -> list[ConversationMessage]:
    """The thread's latest messages, oldest first."""
    latest = list(
        ConversationMessage.objects.filter(
            business_id=conversation.business_id, conversation=conversation
        )
        .select_related("email")
        .order_by("-created_at", "-id")[:limit]
    )
    return list(reversed(latest))


def unread_conversations(
    *, business: Business, limit: int = 5, scope: Scope | None = None
) -> tuple[list[Any], int]:
    """Today's unread threads, latest message first, with how many there are, with
    only the columns its panel shows (properties.dashboard.reads on why in SQL). A
    member of some groups sees the threads of their properties and their stays."""
    in_scope, params = scope_sql(scope, "cp.group_id", "bp.group_id")
    joins = (
        ""
        if in_scope == "TRUE"
        else """
        LEFT JOIN properties_property cp ON cp.id = c.property_id
        LEFT JOIN bookings_booking cb ON cb.id = c.booking_id
        LEFT JOIN properties_property bp ON bp.id = cb.property_id"""
    )
    sql = f"""
        SELECT c.id, c.kind, c.guest_name, c.partner_reservation, c.partner_name,
               c.last_preview, c.last_message_at, COUNT(*) OVER () AS _total
        FROM messaging_conversation c{joins}
        WHERE c.business_id = %(business)s::bigint AND c.unread AND {in_scope}
        ORDER BY c.last_message_at DESC, c.id DESC
        LIMIT %(limit)s"""  # noqa: S608 (constant fragments; the values are parameters)
    return raw_first_with_total(Conversation, sql, {"business": business.pk, **params}, limit)


def stay_conversation(booking: Booking) -> Conversation | None:
    """The thread of a stay: its direct one, else the partner reservation's."""
    rows = list(
        Conversation.objects.filter(business_id=booking.business_id, booking=booking).order_by(
            "kind", "-last_message_at"
        )
    )
    return rows[0] if rows else None


def direct_conversation(booking: Booking) -> Conversation | None:
    """The thread between the business and a stay's guest (the trip page's)."""
    return Conversation.objects.filter(
        business_id=booking.business_id, kind=Conversation.Kind.DIRECT, booking=booking
    ).first()


def stay_get(*, business: Business, reference: str, scope: Scope | None = None) -> Booking | None:
    qs: QuerySet[Booking] = Booking.objects.filter(
        business=business, reference=reference.upper(), kind=Booking.Kind.STAY
    )
    if scope is not None:
        qs = scope.apply(qs)
    return qs.select_related("property").first()
