"""Channels: creating one, its secrets (encrypted at rest, rotated with an overlap),
its events URL, and the links from the partner's listing ids to our properties."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from integrations import crypto
from integrations.errors import InvalidChannelSetup
from integrations.models import Channel, ListingLink
from properties.models import Business, Property
from properties.urls_util import app_url

SECRET_OVERLAP = timedelta(hours=24)


def channel_create(
    *,
    business: Business,
    platform: str,
    name: str = "",
    endpoint_url: str = "",
    inbound_secret: str | None = None,
    outbound_secret: str | None = None,
    public_id: str | None = None,
) -> tuple[Channel, str, str]:
    """A new channel; returns it with its inbound and outbound secrets in plain text,
    which are shown once and stored only encrypted."""
    inbound = inbound_secret or crypto.new_secret()
    outbound = outbound_secret or crypto.new_secret()
    channel = Channel(
        business=business,
        platform=platform,
        name=name,
        endpoint_url=endpoint_url,
        inbound_secret_enc=crypto.encrypt(inbound),
        outbound_secret_enc=crypto.encrypt(outbound),
    )
    if public_id:
        channel.public_id = public_id
    try:
        channel.full_clean(exclude=["inbound_secret_enc", "outbound_secret_enc"])
    except ValidationError as exc:
        raise InvalidChannelSetup(
            "This channel cannot be created.", fields=exc.message_dict
        ) from exc
    with transaction.atomic():
        channel.save()
    return channel, inbound, outbound


def _rotate(channel: Channel, side: str, new_secret: str | None, now: datetime) -> str:
    """A new `side` ("inbound" or "outbound") secret; the previous one stays in use for
    SECRET_OVERLAP (accepted inbound, signed with outbound)."""
    raw = new_secret or crypto.new_secret()
    with transaction.atomic():
        current = Channel.objects.select_for_update().get(pk=channel.pk)
        setattr(current, f"previous_{side}_secret_enc", getattr(current, f"{side}_secret_enc"))
        setattr(current, f"previous_{side}_secret_expires_at", now + SECRET_OVERLAP)
        setattr(current, f"{side}_secret_enc", crypto.encrypt(raw))
        current.secrets_rotated_at = now
        current.save(
            update_fields=[
                f"previous_{side}_secret_enc",
                f"previous_{side}_secret_expires_at",
                f"{side}_secret_enc",
                "secrets_rotated_at",
            ]
        )
    channel.refresh_from_db()
    return raw


def _secrets(channel: Channel, side: str, now: datetime) -> list[str]:
    """The current `side` secret, then the previous one while its overlap lasts."""
    found = [crypto.decrypt(getattr(channel, f"{side}_secret_enc"))]
    previous = getattr(channel, f"previous_{side}_secret_enc")
    expires = getattr(channel, f"previous_{side}_secret_expires_at")
    if previous and expires is not None and expires > now:
        found.append(crypto.decrypt(previous))
    return found


def channel_rotate_inbound_secret(
    *, channel: Channel, new_secret: str | None = None, now: datetime | None = None
) -> str:
    """A new inbound secret; the previous one stays valid for 24 hours, so the partner
    can switch without dropping events."""
    return _rotate(channel, "inbound", new_secret, now or timezone.now())


def channel_rotate_outbound_secret(
    *, channel: Channel, new_secret: str | None = None, now: datetime | None = None
) -> str:
    """A new secret for what we sign. Partners accept several v1 entries, so pushes are
    signed with the new and the previous secret for 24 hours."""
    return _rotate(channel, "outbound", new_secret, now or timezone.now())


def channel_events_url(channel: Channel) -> str:
    """Where the partner sends this channel's events (on the app host)."""
    return app_url(
        reverse("api-channel-events", urlconf=settings.ROOT_URLCONF, args=[channel.public_id])
    )


def channel_inbound_secrets(channel: Channel, *, now: datetime | None = None) -> list[str]:
    """What an inbound signature may match."""
    return _secrets(channel, "inbound", now or timezone.now())


def channel_outbound_secrets(channel: Channel, *, now: datetime | None = None) -> list[str]:
    """What pushes are signed with."""
    return _secrets(channel, "outbound", now or timezone.now())


def channel_outbound_secret(channel: Channel) -> str:
    """The current outbound secret (shown to the owner, printed by seed_demo)."""
    return crypto.decrypt(channel.outbound_secret_enc)


def listing_link_check(
    *, channel: Channel, listing_id: str, property: Property, link: ListingLink | None = None
) -> None:
    """The rules of a listing link (`link`: the one being changed): the property is of
    the channel's business, and each listing id and each property is linked at most
    once per channel. The admin form asks this too, to show the error on its field."""
    if property.business_id != channel.business_id:
        raise InvalidChannelSetup(
            "The property and the channel belong to different businesses.",
            fields={"property": ["not yours"]},
        )
    others = ListingLink.objects.filter(channel=channel)
    if link is not None:
        others = others.exclude(pk=link.pk)
    if others.filter(listing_id=listing_id).exclude(property=property).exists():
        raise _taken("listing_id")
    if others.filter(property=property).exclude(listing_id=listing_id).exists():
        raise _taken("property")


def listing_link_create(*, channel: Channel, listing_id: str, property: Property) -> ListingLink:
    """Map the partner's `listing_id` on `channel` to `property`; the same mapping again
    returns the existing link."""
    listing_link_check(channel=channel, listing_id=listing_id, property=property)
    try:
        link, _ = ListingLink.objects.get_or_create(
            channel=channel,
            listing_id=listing_id,
            defaults={"property": property, "business_id": channel.business_id},
        )
    except IntegrityError as exc:  # linked by someone else since the check
        raise _taken("property") from exc
    if link.property_id != property.pk:
        raise _taken("listing_id")
    return link


def listing_link_change(*, link: ListingLink, listing_id: str, property: Property) -> ListingLink:
    """Another listing id or property for an existing link (its channel stays)."""
    listing_link_check(channel=link.channel, listing_id=listing_id, property=property, link=link)
    link.listing_id, link.property = listing_id, property
    try:
        with transaction.atomic():
            link.save(update_fields=["listing_id", "property"])
    except IntegrityError as exc:  # linked by someone else since the check
        raise _taken("listing_id") from exc
    return link


def _taken(field: str) -> InvalidChannelSetup:
    if field == "property":
        message = "This property is already linked to another listing of this channel."
    else:
        message = "This listing id is already linked to another property of this channel."
    return InvalidChannelSetup(message, fields={field: ["already linked"]})
