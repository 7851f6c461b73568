"""Receivers of the booking engine's and properties' signals: one line each."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from bookings import signals
from integrations.services import push
from properties.models import Property, PropertyImage


@receiver(signals.calendar_written, dispatch_uid="integrations.calendar_written")
def on_calendar_written(sender: Any, booking: Any, **kw: Any) -> None:
    push.calendar_changed(booking=booking)


@receiver(post_save, sender=Property, dispatch_uid="integrations.property_saved")
def on_property_saved(sender: Any, instance: Property, created: bool, **kw: Any) -> None:
    if not created:
        push.listing_changed(property_id=instance.pk)


@receiver(post_save, sender=PropertyImage, dispatch_uid="integrations.image_saved")
@receiver(post_delete, sender=PropertyImage, dispatch_uid="integrations.image_deleted")
def on_image_changed(sender: Any, instance: PropertyImage, **kw: Any) -> None:
    push.listing_changed(property_id=instance.property_id)
