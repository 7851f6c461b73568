"""When each message is due: local times, DST, the far side of the world, quiet hours,
past-due rules, and booking changes in the booking's own transaction."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine
from django.db import transaction

from bookings.services.cancellation import booking_cancel_without_refund
from bookings.services.stays import booking_change_dates
from messaging.models import BusinessMessaging, Kind, ScheduledMessage
from tests.conftest import Tenant
from tests.messaging.conftest import rows, stay

State = ScheduledMessage.State


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@time_machine.travel(utc(2031, 1, 10, 12, 0), tick=False)
def test_confirmed_stay_schedules_every_guest_message_at_local_times(tenant: Tenant) -> None:
    booking = stay(tenant.prop, date(2031, 2, 10), date(2031, 2, 14))
    messages = rows(booking)
    assert set(messages) == {
        Kind.CONFIRMATION,
        Kind.REMINDER,
        Kind.WELCOME,
        Kind.CHECKOUT_REMINDER,
        Kind.THANK_YOU,
        Kind.OWNER_NEW_BOOKING,
    }
    assert messages[Kind.CONFIRMATION].send_at == utc(2031, 1, 10, 12, 0)
    assert messages[Kind.REMINDER].send_at == utc(2031, 2, 3, 10, 0)
    assert messages[Kind.WELCOME].send_at == utc(2031, 2, 9, 16, 0)
    assert messages[Kind.CHECKOUT_REMINDER].send_at == utc(2031, 2, 13, 18, 0)
    assert messages[Kind.THANK_YOU].send_at == utc(2031, 2, 15, 10, 0)
    assert messages[Kind.OWNER_NEW_BOOKING].recipient == tenant.business.contact_email
    assert all(m.state == State.SCHEDULED for m in messages.values())
    # Key codes go before reminders when more is due than the rate allows.
    assert messages[Kind.WELCOME].priority < messages[Kind.REMINDER].priority


@pytest.mark.parametrize(
    ("check_in", "check_out", "expected"),
    [
        # Spring forward on Sunday 30 March 2031 (GMT -> BST).
        (
            date(2031, 3, 31),
            date(2031, 4, 3),
            {
                Kind.REMINDER: utc(2031, 3, 24, 10, 0),  # 10:00 GMT
                Kind.WELCOME: utc(2031, 3, 30, 15, 0),  # 16:00 BST on the change day
                Kind.CHECKOUT_REMINDER: utc(2031, 4, 2, 17, 0),  # 18:00 BST
            },
        ),
        # Fall back on Sunday 26 October 2031 (BST -> GMT).
        (
            date(2031, 10, 27),
            date(2031, 10, 30),
            {
                Kind.REMINDER: utc(2031, 10, 20, 9, 0),  # 10:00 BST
                Kind.WELCOME: utc(2031, 10, 26, 16, 0),  # 16:00 GMT on the change day
                Kind.THANK_YOU: utc(2031, 10, 31, 10, 0),
            },
        ),
    ],
    ids=["march", "october"],
)
def test_send_at_is_right_across_london_dst_changes(
    tenant: Tenant, check_in: date, check_out: date, expected: dict[str, datetime]
) -> None:
    with time_machine.travel(utc(2031, 1, 5, 12, 0), tick=False):
        booking = stay(tenant.prop, check_in, check_out)
    messages = rows(booking)
    for kind, when in expected.items():
        assert messages[kind].send_at == when, kind


@time_machine.travel(utc(2031, 1, 5, 12, 0), tick=False)
def test_property_on_the_other_side_of_the_world(tenant: Tenant) -> None:
    prop = tenant.prop
    prop.timezone = "Pacific/Auckland"  # UTC+12 in July; the server runs in UTC
    prop.save()
    booking = stay(prop, date(2031, 7, 10), date(2031, 7, 12))
    messages = rows(booking)
    assert messages[Kind.REMINDER].send_at == utc(2031, 7, 2, 22, 0)  # 3 July 10:00 NZST
    assert messages[Kind.WELCOME].send_at == utc(2031, 7, 9, 4, 0)  # 9 July 16:00 NZST
    assert messages[Kind.CHECKOUT_REMINDER].send_at == utc(2031, 7, 11, 6, 0)


def test_quiet_hours_hold_guest_mail_until_eight_but_not_owner_mail(tenant: Tenant) -> None:
    with time_machine.travel(utc(2031, 1, 10, 22, 30), tick=False):
        booking = stay(tenant.prop, date(2031, 2, 10), date(2031, 2, 14))
    messages = rows(booking)
    assert messages[Kind.CONFIRMATION].send_at == utc(2031, 1, 11, 8, 0)
    assert messages[Kind.OWNER_NEW_BOOKING].send_at == utc(2031, 1, 10, 22, 30)


def test_owner_can_turn_quiet_hours_off(tenant: Tenant) -> None:
    BusinessMessaging.objects.create(business=tenant.business, quiet_hours=False)
    with time_machine.travel(utc(2031, 1, 10, 22, 30), tick=False):
        booking = stay(tenant.prop, date(2031, 2, 10), date(2031, 2, 14))
    assert rows(booking)[Kind.CONFIRMATION].send_at == utc(2031, 1, 10, 22, 30)


def test_past_due_message_goes_at_once_while_useful(tenant: Tenant) -> None:
    with time_machine.travel(utc(2031, 3, 5, 12, 0), tick=False):
        booking = stay(tenant.prop, date(2031, 3, 7), date(2031, 3, 9))
    messages = rows(booking)
    # The reminder was due on 28 Feb: still useful before check-in, so now.
    assert messages[Kind.REMINDER].state == State.SCHEDULED
    assert messages[Kind.REMINDER].send_at == utc(2031, 3, 5, 12, 0)


def test_past_due_message_is_skipped_with_reason_when_useless(tenant: Tenant) -> None:
    # Booked at 17:00 on the arrival day, after the 16:00 check-in.
    with time_machine.travel(utc(2031, 3, 7, 17, 0), tick=False):
        booking = stay(tenant.prop, date(2031, 3, 7), date(2031, 3, 9))
    messages = rows(booking)
    for kind in (Kind.REMINDER, Kind.WELCOME):
        assert messages[kind].state == State.SKIPPED
        assert "Too late" in messages[kind].last_error
    assert messages[Kind.CONFIRMATION].state == State.SCHEDULED


@time_machine.travel(utc(2031, 1, 10, 12, 0), tick=False)
def test_cancelling_cancels_pending_messages_and_schedules_notices(tenant: Tenant) -> None:
    booking = stay(tenant.prop, date(2031, 2, 10), date(2031, 2, 14))
    booking_cancel_without_refund(booking=booking)
    messages = rows(booking)
    for kind in (Kind.REMINDER, Kind.WELCOME, Kind.CHECKOUT_REMINDER, Kind.THANK_YOU):
        assert messages[kind].state == State.CANCELLED
    assert messages[Kind.CANCELLATION].state == State.SCHEDULED
    assert messages[Kind.OWNER_CANCELLATION].state == State.SCHEDULED


@time_machine.travel(utc(2031, 1, 10, 12, 0), tick=False)
def test_message_changes_roll_back_with_the_booking_change(tenant: Tenant) -> None:
    booking = stay(tenant.prop, date(2031, 2, 10), date(2031, 2, 14))

    def cancel_then_fail() -> None:
        with transaction.atomic():
            booking_cancel_without_refund(booking=booking)
            raise RuntimeError("the payment refund failed")

    with pytest.raises(RuntimeError):
        cancel_then_fail()
    messages = rows(booking)
    assert messages[Kind.WELCOME].state == State.SCHEDULED
    assert Kind.CANCELLATION not in messages


@time_machine.travel(utc(2031, 1, 10, 12, 0), tick=False)
def test_date_change_re_times_pending_messages(tenant: Tenant) -> None:
    booking = stay(tenant.prop, date(2031, 2, 10), date(2031, 2, 14))
    booking_change_dates(
        booking=booking,
        check_in=date(2031, 2, 20),
        check_out=date(2031, 2, 23),
        enforce_rules=False,
    )
    messages = rows(booking)
    assert messages[Kind.WELCOME].send_at == utc(2031, 2, 19, 16, 0)
    assert messages[Kind.REMINDER].send_at == utc(2031, 2, 13, 10, 0)
    assert ScheduledMessage.objects.filter(booking=booking, kind=Kind.WELCOME).count() == 1


@time_machine.travel(utc(2031, 1, 10, 12, 0), tick=False)
def test_blocks_and_guestless_stays_schedule_no_guest_mail(tenant: Tenant) -> None:
    from bookings.services.blocks import block_create

    block_create(property=tenant.prop, start=date(2031, 3, 1), end=date(2031, 3, 5))
    booking = stay(tenant.prop, date(2031, 2, 10), date(2031, 2, 14), email="")
    assert set(rows(booking)) == {Kind.OWNER_NEW_BOOKING}
