"""A calendar write syncs only the cleaning jobs around the changed stay. After any
sequence of writes, a full sync of the property must find nothing left to do: the
windowed sync missed no job, no next arrival, no key code and no message."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from bookings.errors import BookingError
from bookings.models import Booking
from bookings.services.cancellation import booking_cancel_without_refund
from bookings.services.stays import booking_change_dates
from messaging.models import KeyCode, ScheduledMessage, Turnover
from messaging.services.turnovers import turnovers_sync
from tests.conftest import Tenant
from tests.messaging.conftest import stay, with_cleaner

START = date(2031, 6, 1)


def snapshot(prop: Any) -> dict[str, Any]:
    return {
        "turnovers": sorted(
            Turnover.objects.filter(property=prop).values_list(
                "id", "booking_id", "next_booking_id", "starts_at", "ends_at", "state", "revision"
            )
        ),
        "codes": sorted(
            KeyCode.objects.filter(property=prop).values_list(
                "id", "code", "valid_from", "turnover_id", "retired_at"
            )
        ),
        "messages": sorted(
            ScheduledMessage.objects.filter(business=prop.business).values_list(
                "id", "key", "state", "send_at"
            )
        ),
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_windowed_sync_leaves_nothing_for_a_full_sync(tenant: Tenant, seed: int) -> None:
    rng = random.Random(seed)
    prop = tenant.prop
    with_cleaner(prop)
    with time_machine.travel(timezone.make_aware(timezone.datetime(2031, 5, 1, 12)), tick=False):
        live: list[Booking] = []
        for step in range(40):
            operation = rng.choice(["create", "create", "move", "cancel"]) if live else "create"
            try:
                if operation == "create":
                    check_in = START + timedelta(days=rng.randrange(0, 90))
                    nights = rng.randrange(1, 6)
                    live.append(
                        stay(
                            prop,
                            check_in,
                            check_in + timedelta(days=nights),
                            email=f"g{step}@example.com",
                        )
                    )
                elif operation == "move":
                    booking = rng.choice(live)
                    check_in = START + timedelta(days=rng.randrange(0, 90))
                    nights = rng.randrange(1, 6)
                    booking_change_dates(
                        booking=booking,
                        check_in=check_in,
                        check_out=check_in + timedelta(days=nights),
                        enforce_rules=False,
                    )
                else:
                    booking = live.pop(rng.randrange(len(live)))
                    booking_cancel_without_refund(booking=booking)
            except BookingError:
                continue  # the dates were taken: nothing changed
            before = snapshot(prop)
            turnovers_sync(prop=prop, now=timezone.now())
            assert snapshot(prop) == before, f"step {step} ({operation}) left work undone"
        assert Turnover.objects.filter(property=prop, state=Turnover.State.PENDING).count() == len(
            live
        )
