"""Demo data of this app for `manage.py seed_demo` (see config/management/commands).

Each demo business gets an Airbnb and a Booking.com channel with every property
linked, and an iCal export URL per property. Ids, secrets and tokens are derived from
SECRET_KEY, so re-running prints the same JSON and creates nothing twice."""

from __future__ import annotations

from typing import Any

from integrations import crypto
from integrations.models import Channel, ListingLink, Platform
from integrations.services import channels, ical
from properties.demo import DemoBusiness, demo_secret
from properties.models import Property

DEMO_CHANNELS = [(Platform.AIRBNB, "air"), (Platform.BOOKING, "bk")]


def _channel_id(slug: str, platform: str) -> str:
    return "ch_" + demo_secret(f"channel:{slug}:{platform}")[:16]


def _secret(slug: str, platform: str, direction: str) -> str:
    return crypto.SECRET_PREFIX + demo_secret(f"channel-{direction}:{slug}:{platform}")[:40]


def _ical_token(prop: Property) -> str:
    return demo_secret(f"ical:{prop.business_id}:{prop.slug}")[:32]


def _listing_id(prefix: str, prop: Property) -> str:
    return f"{prefix}-{prop.pk}"


def seed(seeded: list[DemoBusiness], *, channel_endpoint: str | None = None) -> None:
    """Create this app's demo rows for each demo business, only where missing."""
    for demo in seeded:
        slug = demo.business.slug
        for platform, prefix in DEMO_CHANNELS:
            channel = Channel.objects.filter(public_id=_channel_id(slug, platform)).first()
            if channel is None:
                channel, _, _ = channels.channel_create(
                    business=demo.business,
                    platform=platform,
                    name=f"{Platform(platform).label} (demo)",
                    endpoint_url=channel_endpoint or "",
                    inbound_secret=_secret(slug, platform, "in"),
                    outbound_secret=_secret(slug, platform, "out"),
                    public_id=_channel_id(slug, platform),
                )
            elif channel_endpoint is not None and channel.endpoint_url != channel_endpoint:
                channel.endpoint_url = channel_endpoint
                channel.save(update_fields=["endpoint_url"])
            for prop in demo.properties:
                if not ListingLink.objects.filter(channel=channel, property=prop).exists():
                    channels.listing_link_create(
                        channel=channel, listing_id=_listing_id(prefix, prop), property=prop
                    )
        for prop in demo.properties:
            ical.ical_token_rotate(property=prop, raw_token=_ical_token(prop))


def describe(entry: dict[str, Any], demo: DemoBusiness) -> None:
    """Add this app's part of the printed JSON entry of one business."""
    own_channels = list(Channel.objects.filter(business=demo.business).order_by("platform", "id"))
    links = ListingLink.objects.filter(channel__in=own_channels).values_list(
        "property_id", "channel__public_id", "listing_id"
    )
    listings: dict[int, dict[str, str]] = {}
    for property_id, channel_id, listing_id in links:
        listings.setdefault(property_id, {})[channel_id] = listing_id
    by_id = {prop.pk: prop for prop in demo.properties}
    for item in entry["properties"]:
        prop = by_id[item["id"]]
        item["ical_export_url"] = ical.ical_export_url(_ical_token(prop))
        item["listings"] = listings.get(prop.pk, {})
    entry["channels"] = [
        {
            "id": channel.public_id,
            "platform": channel.platform,
            "events_url": channels.channel_events_url(channel),
            "inbound_secret": channels.channel_inbound_secrets(channel)[0],
            "outbound_secret": channels.channel_outbound_secret(channel),
            "endpoint_url": channel.endpoint_url,
        }
        for channel in own_channels
    ]
