"""Keep the host -> business cache honest when a business changes its addresses."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from properties.models import Business
from properties.selectors import forget_business_hosts


@receiver(pre_save, sender=Business)
def _remember_old_hosts(sender: type[Business], instance: Business, **kwargs: Any) -> None:
    old = Business.objects.filter(pk=instance.pk).values("slug", "custom_domain").first()
    instance._old_hosts = old or {}  # type: ignore[attr-defined]


@receiver(post_save, sender=Business)
@receiver(post_delete, sender=Business)
def _forget_hosts(sender: type[Business], instance: Business, **kwargs: Any) -> None:
    old = getattr(instance, "_old_hosts", {})
    forget_business_hosts(
        business=instance, old_slug=old.get("slug"), old_domain=old.get("custom_domain")
    )
