"""Keep the host -> business cache honest when a business changes its addresses,
quarantine the slugs it gives up (properties.services.businesses), and bind a new
session to the host that signed it in (properties.middleware.SessionHostMiddleware)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver
from django.http import HttpRequest

from properties.middleware import SESSION_HOST_KEY
from properties.models import Business
from properties.selectors import forget_business_hosts
from properties.services import slug_release, slug_taken_back


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


@receiver(post_save, sender=Business)
def _release_old_slug(sender: type[Business], instance: Business, **kwargs: Any) -> None:
    old_slug = getattr(instance, "_old_hosts", {}).get("slug")
    if old_slug and old_slug != instance.slug:
        slug_release(slug=old_slug, business=instance)
        slug_taken_back(slug=instance.slug, business=instance)


@receiver(post_delete, sender=Business)
def _release_slug(sender: type[Business], instance: Business, **kwargs: Any) -> None:
    slug_release(slug=instance.slug, business=None)


@receiver(user_logged_in)
def _bind_session_to_host(sender: object, request: HttpRequest, **kwargs: Any) -> None:
    host_key = getattr(request, "host_key", None)
    if host_key and hasattr(request, "session"):
        request.session[SESSION_HOST_KEY] = host_key
