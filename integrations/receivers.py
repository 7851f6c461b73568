"""Receivers of the booking engine's and properties' signals: one line each."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from bookings import signals
from integrations.services import partner_messages, push
from properties.models import Property, PropertyImage


@receiver(signals.calendar_written, dispatch_uid="integrations.calendar_written")
def push_availability_on_calendar_written(sender: Any, booking: Any, **kw: Any) -> None:
    push.availability_push_enqueue(booking=booking)


@receiver(post_save, sender=Property, dispatch_uid="integrations.property_saved")
def push_listing_on_property_saved(
    sender: Any, instance: Property, created: bool, **kw: Any
) -> None:
    if not created:
        push.listing_push_enqueue(property_id=instance.pk)


@receiver(post_save, sender=PropertyImage, dispatch_uid="integrations.image_saved")
@receiver(post_delete, sender=PropertyImage, dispatch_uid="integrations.image_deleted")
def push_listing_on_image_changed(sender: Any, instance: PropertyImage, **kw: Any) -> None:
    push.listing_push_enqueue(property_id=instance.property_id)


@receiver(signals.partner_reply_written, dispatch_uid="integrations.partner_reply_written")
def push_partner_reply(sender: Any, **kw: Any) -> bool:
    partner_messages.reply_push_enqueue(
        business_id=kw["business_id"],
        channel_id=kw["channel_id"],
        reservation_id=kw["reservation_id"],
        message_id=kw["message_id"],
        body=kw["body"],
        sent_at=kw["sent_at"],
    )
    return True
