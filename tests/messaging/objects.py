"""Factories of this app's tenant-owned admin models, for the generic admin isolation
tests (tests/properties/test_admin.py). Register each with @register(Model)."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from django.utils import timezone
from psycopg.types.range import Range

from bookings.models import Booking
from messaging.models import (
    Broadcast,
    BusinessMessaging,
    EmailTemplate,
    GuestOptOut,
    KeyCode,
    KeyCodeConfirmation,
    Kind,
    PropertyMessaging,
    ScheduledMessage,
    SentEmail,
    Staff,
    Turnover,
)
from properties.models import Business
from tests.factories import PropertyFactory
from tests.tenant_objects import register

_seq = itertools.count(1)


def _stay(business: Business) -> Booking:
    prop = PropertyFactory(business=business)
    start = date(2031, 3, 1)
    return Booking.objects.create(
        business=business,
        property=prop,
        stay=Range(start, start + timedelta(days=3), "[)"),
        guest_name="Ada",
        guest_email=f"ada{next(_seq)}@example.com",
        currency="EUR",
        confirmed_at=timezone.now(),
    )


@register(BusinessMessaging)
def make_business_messaging(business: Business) -> BusinessMessaging:
    return BusinessMessaging.objects.get_or_create(business=business)[0]


@register(Staff)
def make_staff(business: Business) -> Staff:
    n = next(_seq)
    return Staff.objects.create(business=business, name=f"Cleaner {n}", email=f"c{n}@example.com")


@register(PropertyMessaging)
def make_property_messaging(business: Business) -> PropertyMessaging:
    prop = PropertyFactory(business=business)
    return PropertyMessaging.objects.create(
        business=business, property=prop, default_cleaner=make_staff(business)
    )


@register(Turnover)
def make_turnover(business: Business) -> Turnover:
    stay = _stay(business)
    starts = timezone.now() + timedelta(days=30)
    return Turnover.objects.create(
        business=business,
        property=stay.property,
        booking=stay,
        cleaner=make_staff(business),
        starts_at=starts,
        accept_by=starts,
    )


@register(KeyCode)
def make_key_code(business: Business) -> KeyCode:
    prop = PropertyFactory(business=business)
    return KeyCode.objects.create(
        business=business, property=prop, code="1234", valid_from=date(2031, 1, 1)
    )


@register(KeyCodeConfirmation)
def make_key_code_confirmation(business: Business) -> KeyCodeConfirmation:
    code = make_key_code(business)
    return KeyCodeConfirmation.objects.create(
        business=business,
        property=code.property,
        key_code=code,
        source=KeyCodeConfirmation.Source.OWNER,
        confirmed_at=timezone.now(),
    )


@register(EmailTemplate)
def make_email_template(business: Business) -> EmailTemplate:
    return EmailTemplate.objects.create(
        business=business,
        kind=Kind.WELCOME,
        subject="Welcome, {{ guest_name }}",
        body="Your code is {{ key_code }}.",
    )


@register(Broadcast)
def make_broadcast(business: Business) -> Broadcast:
    prop = PropertyFactory(business=business)
    return Broadcast.objects.create(
        business=business, property=prop, free_from=date(2031, 5, 1), free_until=date(2031, 5, 8)
    )


@register(ScheduledMessage)
def make_scheduled_message(business: Business) -> ScheduledMessage:
    stay = _stay(business)
    return ScheduledMessage.objects.create(
        business=business,
        booking=stay,
        kind=Kind.REMINDER,
        recipient=stay.guest_email,
        key=f"test:{next(_seq)}",
        send_at=timezone.now() + timedelta(days=3),
    )


@register(SentEmail)
def make_sent_email(business: Business) -> SentEmail:
    return SentEmail.objects.create(
        business=business,
        kind=Kind.REMINDER,
        to="guest@example.com",
        subject="Hello",
        message_id=f"<t{next(_seq)}@example.com>",
        backend="locmem",
        sent_at=timezone.now(),
    )


@register(GuestOptOut)
def make_opt_out(business: Business) -> GuestOptOut:
    return GuestOptOut.objects.create(business=business, email=f"out{next(_seq)}@example.com")
