"""Factories of this app's tenant-owned admin models, for the generic admin isolation
tests (tests/properties/test_admin.py). Register each with @register(Model)."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from django.utils import timezone

from integrations.models import (
    BookingConflict,
    Channel,
    IcalEvent,
    IcalExportToken,
    IcalFeed,
    InboundEvent,
    ListingLink,
    PartnerMessage,
    PartnerReservation,
    Platform,
    PushAttempt,
    PushOutbox,
)
from integrations.services import channels, ical
from properties.models import Business
from tests.factories import PropertyFactory
from tests.tenant_objects import register

_seq = itertools.count(1)


@register(Channel)
def make_channel(business: Business) -> Channel:
    return channels.channel_create(business=business, platform=Platform.OTHER)[0]


@register(ListingLink)
def make_listing(business: Business) -> ListingLink:
    return channels.listing_link_create(
        channel=make_channel(business),
        listing_id=f"lst-{next(_seq)}",
        property=PropertyFactory(business=business),
    )


@register(InboundEvent)
def make_event(business: Business) -> InboundEvent:
    return InboundEvent.objects.create(
        business=business, channel=make_channel(business), event_id=f"evt_{next(_seq)}", type="x"
    )


@register(PartnerReservation)
def make_reservation(business: Business) -> PartnerReservation:
    return PartnerReservation.objects.create(
        business=business, channel=make_channel(business), reservation_id=f"R{next(_seq)}"
    )


@register(PartnerMessage)
def make_message(business: Business) -> PartnerMessage:
    return PartnerMessage.objects.create(
        business=business,
        channel=make_channel(business),
        reservation_id="R1",
        message_id=f"m{next(_seq)}",
        sender="guest",
        body="Hello",
        sent_at=timezone.now(),
    )


@register(BookingConflict)
def make_conflict(business: Business) -> BookingConflict:
    return BookingConflict.objects.create(
        business=business,
        property=PropertyFactory(business=business),
        external_id="R1",
        check_in=date(2031, 1, 1),
        check_out=date(2031, 1, 4),
    )


@register(PushOutbox)
def make_push(business: Business) -> PushOutbox:
    link = make_listing(business)
    return PushOutbox.objects.create(
        business=business,
        channel=link.channel,
        listing=link,
        kind="availability",
        status="dead",
        next_attempt_at=timezone.now(),
    )


@register(PushAttempt)
def make_attempt(business: Business) -> PushAttempt:
    return PushAttempt.objects.create(
        business=business, push=make_push(business), number=1, url="x", attempted_at=timezone.now()
    )


@register(IcalFeed)
def make_feed(business: Business) -> IcalFeed:
    return IcalFeed.objects.create(
        business=business,
        property=PropertyFactory(business=business),
        platform="airbnb",
        url=f"https://example.com/{next(_seq)}.ics",
    )


@register(IcalEvent)
def make_ical_event(business: Business) -> IcalEvent:
    start = date(2031, 2, 1)
    return IcalEvent.objects.create(
        business=business,
        feed=make_feed(business),
        uid=f"u{next(_seq)}",
        classification="block",
        start=start,
        end=start + timedelta(days=2),
    )


@register(IcalExportToken)
def make_export_token(business: Business) -> IcalExportToken:
    prop = PropertyFactory(business=business)
    ical.ical_token_rotate(property=prop)
    return IcalExportToken.objects.get(property=prop)
