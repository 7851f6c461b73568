"""Demo bookings and blocks for `manage.py seed_demo`. Idempotent: a demo business
that already has bookings gets no more."""

from __future__ import annotations

from datetime import timedelta

from bookings.models import Booking
from bookings.services.blocks import block_create
from bookings.services.stays import booking_create
from properties.demo import DemoBusiness

GUESTS = [
    ("Ada Lovelace", "ada@example.com", "+441234567890"),
    ("Alan Turing", "alan@example.com", "+441234567891"),
    ("Grace Hopper", "grace@example.com", "+12025550101"),
    ("Katherine Johnson", "katherine@example.com", "+12025550102"),
]


def seed(seeded: list[DemoBusiness], *, channel_endpoint: str | None = None) -> None:
    for demo in seeded:
        if Booking.objects.filter(business=demo.business).exists():
            continue
        for index, prop in enumerate(demo.properties):
            today = prop.local_today()
            # A past stay (for "past guests"), one arriving soon, one later, and a block.
            cursor = today - timedelta(days=40 + index * 3)
            for n in range(3):
                nights = prop.min_nights + n
                guest = GUESTS[(index + n) % len(GUESTS)]
                booking_create(
                    property=prop,
                    check_in=cursor,
                    check_out=cursor + timedelta(days=nights),
                    guests=min(2, prop.max_guests),
                    source=Booking.Source.DIRECT if n != 1 else Booking.Source.AIRBNB,
                    guest_name=guest[0],
                    guest_email=guest[1],
                    guest_phone=guest[2],
                )
                cursor += timedelta(days=nights + 35 + index)
            block_create(
                property=prop,
                start=cursor + timedelta(days=10),
                end=cursor + timedelta(days=13),
                note="Owner staying",
            )


def describe(entry: dict[str, object], demo: DemoBusiness) -> None:
    """Bookings add nothing to the printed JSON."""
