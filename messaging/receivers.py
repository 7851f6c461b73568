"""Receivers of the booking engine's and integrations' signals: one line each."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from bookings import signals
from bookings.payments import signals as payment_signals
from messaging.services.billing_notices import billing_notice_schedule
from messaging.services.calendar_sync import stay_schedule_changed
from messaging.services.conversations import (
    conversation_partner_booking_link,
    conversation_partner_message_record,
    conversation_reply_delivery,
)
from messaging.services.outbox import outbox_kick
from messaging.services.stay_messages import conflict_notice_schedule, refund_notice_schedule


@receiver(signals.calendar_written, dispatch_uid="messaging.calendar_written")
def on_calendar_written(sender: Any, booking: Any, action: str, previous: Any, **kw: Any) -> None:
    stay_schedule_changed(booking=booking, action=action, previous=previous)


@receiver(signals.booking_confirmed, dispatch_uid="messaging.booking_confirmed")
@receiver(signals.booking_changed, dispatch_uid="messaging.booking_changed")
@receiver(signals.booking_cancelled, dispatch_uid="messaging.booking_cancelled")
def on_booking_committed(sender: Any, **kwargs: Any) -> None:
    outbox_kick()


@receiver(signals.conflict_recorded, dispatch_uid="messaging.conflict_recorded")
def on_conflict_recorded(
    sender: Any, business_id: int, conflict_id: Any, summary: str, **kw: Any
) -> None:
    conflict_notice_schedule(business_id=business_id, conflict_id=conflict_id, summary=summary)


@receiver(signals.refund_issued, dispatch_uid="messaging.refund_issued")
def on_refund_issued(
    sender: Any, business_id: int, booking_id: int, refund_id: int, summary: str, **kw: Any
) -> None:
    refund_notice_schedule(booking_id=booking_id, refund_id=refund_id, summary=summary)


@receiver(signals.partner_message_received, dispatch_uid="messaging.partner_message_received")
def on_partner_message(sender: Any, **kw: Any) -> None:
    conversation_partner_message_record(
        business_id=kw["business_id"],
        channel_id=kw["channel_id"],
        channel_name=kw["channel_name"],
        reservation_id=kw["reservation_id"],
        message_id=kw["message_id"],
        role=kw["role"],
        body=kw["body"],
        sent_at=kw["sent_at"],
        booking_id=kw["booking_id"],
    )


@receiver(signals.partner_reservation_applied, dispatch_uid="messaging.partner_reservation")
def on_partner_reservation(sender: Any, **kw: Any) -> None:
    conversation_partner_booking_link(
        business_id=kw["business_id"],
        channel_id=kw["channel_id"],
        reservation_id=kw["reservation_id"],
        booking_id=kw["booking_id"],
    )


@receiver(signals.partner_reply_delivery, dispatch_uid="messaging.partner_reply_delivery")
def on_partner_reply_delivery(sender: Any, **kw: Any) -> None:
    conversation_reply_delivery(
        business_id=kw["business_id"],
        channel_id=kw["channel_id"],
        message_id=kw["message_id"],
        state=kw["state"],
        error=kw["error"],
    )


@receiver(payment_signals.billing_notice, dispatch_uid="messaging.billing_notice")
def on_billing_notice(
    sender: Any, business_id: int, stage: str, key: str, grace_ends: Any, **kw: Any
) -> None:
    billing_notice_schedule(business_id=business_id, stage=stage, key=key, grace_ends=grace_ends)
