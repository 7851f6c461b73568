"""Booking engine benchmarks on a generated data set of 8,000 properties (400 businesses
x 20) and 400,000 bookings. `make bench` runs them; each compares against a baseline
measured in the same run.

- creation: `booking_create` (the service) vs a raw SQL INSERT into the same table;
- reads: a property's 12-month calendar and a business's 20-property month timeline
  (median, p95, query count);
- contention: 64 concurrent conflicting block requests through the HTTP API of a live
  server (exactly one winner; p95 latency of the 409 answers).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import settings
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from bookings.selectors import business_timeline, property_calendar
from bookings.services.stays import booking_create
from properties.models import Business, Property
from properties.services import api_token_create
from tests.bench.conftest import report, summarize
from tests.factories import MembershipFactory

pytestmark = [pytest.mark.bench, pytest.mark.django_db(transaction=True)]

BUSINESSES, PER_BUSINESS, STAYS_PER_PROPERTY = 400, 20, 50
START = date(2031, 1, 1)


def _generate() -> float:
    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO properties_business (name, slug, timezone, currency, contact_email, logo,
                accent_colour, about, domain_token, created_at, require_owner_two_factor)
            SELECT 'Bench ' || b, 'bench' || b, 'Europe/London', 'EUR', 'b' || b || '@example.com',
                '', '#0E7490', '', 'holidesk-verify-bench' || b, now(), false
            FROM generate_series(1, %s) b
            """,
            [BUSINESSES],
        )
        cursor.execute(
            """
            INSERT INTO properties_property (business_id, name, slug, description, address,
                max_guests, bedrooms, bathrooms, amenities, check_in_time, check_out_time, timezone,
                base_price, cleaning_fee, min_nights, tax_percent, max_nights, booking_horizon_days,
                advance_notice_days, weekly_discount_percent, monthly_discount_percent,
                cancellation_policy, published, created_at, updated_at)
            SELECT b.id, 'Unit ' || p, 'unit-' || p, '', '', 4, 2, 1, '{}', '16:00', '10:00', '',
                120, 40, 1, 0, 90, 2000, 0, 0, 0, 'moderate', true, now(), now()
            FROM properties_business b, generate_series(1, %s) p
            WHERE b.slug LIKE 'bench%%'
            """,
            [PER_BUSINESS],
        )
        # 50 three-night stays per property, one a week, over about a year.
        cursor.execute(
            """
            INSERT INTO bookings_booking (reference, business_id, property_id, stay, status, kind,
                source, guest_name, guest_email, guest_phone, guests, note, price_breakdown, total,
                amount_paid, amount_refunded, currency, created_at, updated_at)
            SELECT 'B' || p.id || '-' || g, p.business_id, p.id,
                daterange(%s::date + g * 7, %s::date + g * 7 + 3, '[)'), 'confirmed', 'stay',
                'direct', 'Guest', '', '', 2, '', '{}', 400, 0, 0, 'EUR', now(), now()
            FROM properties_property p, generate_series(0, %s) g
            WHERE p.business_id IN (SELECT id FROM properties_business WHERE slug LIKE 'bench%%')
            """,
            [START, START, STAYS_PER_PROPERTY - 1],
        )
        cursor.execute("ANALYZE")
    return time.perf_counter() - began


def _timed(fn: Any, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - began)
    return samples


@contextlib.contextmanager
def gunicorn_server() -> Iterator[str]:
    """The production web server (gunicorn, 4 workers x 8 threads) on the test database."""
    db = settings.DATABASES["default"]
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "DEBUG": "true",
        "DATABASE_CONN_MAX_AGE": "60",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "4",
            "--threads",
            "8",
            "--backlog",
            "2048",
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                requests.get(f"{url}/healthz", timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.1)
        yield f"http://localhost:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a loaded machine: do not lose the figures
            process.kill()
            process.wait(timeout=30)


@contextlib.contextmanager
def receivers_disconnected() -> Iterator[None]:
    """The booking engine alone: no messaging or integrations receivers."""
    from bookings import signals

    all_signals = [
        signals.calendar_written,
        signals.booking_confirmed,
        signals.booking_changed,
        signals.booking_cancelled,
        signals.block_changed,
    ]
    saved = [(signal, signal.receivers[:]) for signal in all_signals]
    for signal in all_signals:
        signal.receivers = []
        signal.sender_receivers_cache.clear()
    try:
        yield
    finally:
        for signal, receivers in saved:
            signal.receivers = receivers
            signal.sender_receivers_cache.clear()


# The parts of a booking write whose statements are counted, by the function on the
# stack when a statement runs (the first found, innermost first).
WRITE_PARTS = (
    "engine",
    "message settings",
    "messages",
    "turnovers and key codes",
    "arrival corrections",
    "push outbox",
)
_PART_OF = {
    "stay_schedule_changed": "message settings",
    "booking_messages_confirmed": "messages",
    "turnovers_sync": "turnovers and key codes",
    "arrivals_reconcile": "arrival corrections",
    "availability_push_enqueue": "push outbox",
}


def _statements_by_part(write: Any) -> dict[str, int]:
    counts = dict.fromkeys(WRITE_PARTS, 0)

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        frame = sys._getframe(1)
        part = "engine"
        while frame is not None:
            if frame.f_code.co_name in _PART_OF:
                part = _PART_OF[frame.f_code.co_name]
                break
            frame = frame.f_back
        counts[part] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        write()
    return counts


def write_query_counts() -> dict[str, dict[str, int]]:
    """Statements of one partner booking (guest email, a default cleaner, a connected
    channel) by part, made between two stays on a property with 3 bookings and on one
    with 60: every part must be the same on both."""
    from integrations.models import Platform
    from integrations.services import channels
    from messaging.services import settings_rows as messaging_services
    from tests.factories import BusinessFactory, PropertyFactory

    business = BusinessFactory(slug="benchcount")
    cleaner = messaging_services.staff_create(
        business=business, name="Bench Cleaner", email="cleaner@example.com"
    )
    channel, _, _ = channels.channel_create(
        business=business, platform=Platform.VRBO, endpoint_url="https://partner.example.com/hook"
    )
    result = {}
    first = START + timedelta(days=10)
    for label, ahead in (("small", 3), ("large", 60)):
        prop = PropertyFactory(business=business)
        messaging_services.property_set_default_cleaner(prop=prop, cleaner=cleaner)
        channels.listing_link_create(channel=channel, listing_id=f"count-{label}", property=prop)
        for k in range(ahead):
            booking_create(
                property=prop,
                check_in=first + timedelta(days=4 * k),
                check_out=first + timedelta(days=4 * k + 2),
                source="vrbo",
                guest_email=f"g{k}@example.com",
            )
        # Between two stays: a job before it changes, its own job is new.
        day = first + timedelta(days=4 * (ahead // 2) + 2)
        result[label] = _statements_by_part(
            lambda prop=prop, day=day: booking_create(
                property=prop,
                check_in=day,
                check_out=day + timedelta(days=1),
                source="vrbo",
                guest_email="counted@example.com",
            )
        )
    return result


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_booking_engine_benchmarks() -> None:
    generated_in = _generate()
    from bookings.models import Booking

    assert Booking.objects.count() == BUSINESSES * PER_BUSINESS * STAYS_PER_PROPERTY
    rows: list[dict[str, Any]] = []

    # --- Creation: the service vs a raw INSERT --------------------------------------
    props = list(Property.objects.filter(business__slug__startswith="bench").order_by("id")[:300])
    late = START + timedelta(days=7 * STAYS_PER_PROPERTY + 30)  # after every generated stay

    def service_run() -> float:
        began = time.perf_counter()
        for prop in props:
            booking_create(
                property=prop, check_in=late, check_out=late + timedelta(days=3), source="api"
            )
        return time.perf_counter() - began

    def raw_run(offset: int) -> float:
        began = time.perf_counter()
        with connection.cursor() as cursor:
            for prop in props:
                cursor.execute(
                    """
                    INSERT INTO bookings_booking (reference, business_id, property_id, stay, status,
                        kind, source, guest_name, guest_email, guest_phone, guests, note,
                        price_breakdown, total, amount_paid, amount_refunded, currency, created_at,
                        updated_at)
                    VALUES (%s, %s, %s, daterange(%s, %s, '[)'), 'confirmed', 'stay', 'api', '', '',
                        '', 1, '', '{}', 400, 0, 0, 'EUR', now(), now())
                    """,
                    [
                        f"R{prop.pk}-{offset}",
                        prop.business_id,
                        prop.pk,
                        late + timedelta(days=offset),
                        late + timedelta(days=offset + 3),
                    ],
                )
        return time.perf_counter() - began

    def floor_run(offset: int) -> float:
        """The statements a calendar write cannot avoid, as raw SQL: one transaction that
        locks the property row, checks for an overlap and inserts."""
        began = time.perf_counter()
        with connection.cursor() as cursor:
            for prop in props:
                with transaction.atomic():
                    cursor.execute(
                        "SELECT id FROM properties_property WHERE id = %s FOR NO KEY UPDATE",
                        [prop.pk],
                    )
                    cursor.execute(
                        """
                        SELECT id FROM bookings_booking WHERE property_id = %s
                        AND status IN ('held', 'confirmed') AND stay && daterange(%s, %s, '[)')
                        """,
                        [prop.pk, late + timedelta(days=offset), late + timedelta(days=offset + 3)],
                    )
                    cursor.execute(
                        """
                        INSERT INTO bookings_booking (reference, business_id, property_id, stay,
                            status, kind, source, guest_name, guest_email, guest_phone, guests,
                            note, price_breakdown, total, amount_paid, amount_refunded, currency,
                            created_at, updated_at)
                        VALUES (%s, %s, %s, daterange(%s, %s, '[)'), 'confirmed', 'stay', 'api',
                            '', '', '', 1, '', '{}', 400, 0, 0, 'EUR', now(), now())
                        """,
                        [
                            f"F{prop.pk}-{offset}",
                            prop.business_id,
                            prop.pk,
                            late + timedelta(days=offset),
                            late + timedelta(days=offset + 3),
                        ],
                    )
        return time.perf_counter() - began

    raw_seconds = raw_run(10)
    floor_seconds = floor_run(15)
    with receivers_disconnected():
        engine_seconds = service_run()
    late += timedelta(days=5)
    service_seconds = service_run()
    raw_per_s, service_per_s = len(props) / raw_seconds, len(props) / service_seconds
    floor_per_s = len(props) / floor_seconds
    engine_per_s = len(props) / engine_seconds
    rows.append(
        {
            "measure": "create: booking_create, engine alone",
            "value": round(engine_per_s, 1),
            "unit": "rows/s",
            "target": "-",
        }
    )
    rows.append(
        {
            "measure": "create: engine alone / raw",
            "value": round(engine_per_s / raw_per_s, 3),
            "unit": "ratio",
            "target": ">= 0.3",
        }
    )
    rows.append(
        {
            "measure": "create: raw SQL INSERT (baseline)",
            "value": round(raw_per_s, 1),
            "unit": "rows/s",
            "target": "-",
        }
    )
    rows.append(
        {
            "measure": "create: floor, lock + check + insert in one transaction, raw SQL",
            "value": round(floor_per_s, 1),
            "unit": "rows/s",
            "target": "-",
        }
    )
    rows.append(
        {
            "measure": "create: floor / raw",
            "value": round(floor_per_s / raw_per_s, 3),
            "unit": "ratio",
            "target": "-",
        }
    )
    rows.append(
        {
            "measure": "create: engine alone / floor",
            "value": round(engine_per_s / floor_per_s, 3),
            "unit": "ratio",
            "target": "-",
        }
    )
    rows.append(
        {
            "measure": "create: booking_create with all receivers",
            "value": round(service_per_s, 1),
            "unit": "rows/s",
            "target": "-",
        }
    )
    rows.append(
        {
            "measure": "create: with all receivers / raw",
            "value": round(service_per_s / raw_per_s, 3),
            "unit": "ratio",
            "target": ">= 0.15",
        }
    )

    # --- Statements per booking write, by part, on a small and a large calendar ---------
    counts = write_query_counts()
    for part in WRITE_PARTS:
        rows.append(
            {
                "measure": f"queries per booking_create: {part}",
                "value": counts["large"][part],
                "unit": "queries",
                "target": f"constant (small calendar: {counts['small'][part]})",
            }
        )

    # --- Reads: calendar and timeline -----------------------------------------------
    prop = props[123]
    business = Business.objects.get(pk=prop.business_id)
    year = (START, START + timedelta(days=365))
    month = (START + timedelta(days=60), START + timedelta(days=91))
    with CaptureQueriesContext(connection) as calendar_queries:
        property_calendar(property=prop, start=year[0], end=year[1])
    with CaptureQueriesContext(connection) as timeline_queries:
        business_timeline(business=business, start=month[0], end=month[1])
    calendar = summarize(
        _timed(lambda: property_calendar(property=prop, start=year[0], end=year[1]), 200)
    )
    timeline = summarize(
        _timed(lambda: business_timeline(business=business, start=month[0], end=month[1]), 200)
    )
    raw_sql = summarize(
        _timed(
            lambda: list(
                Booking.objects.filter(property=prop).overlapping(*year).values_list("stay")
            ),
            200,
        )
    )
    rows.append(
        {
            "measure": "12-month calendar p50",
            "value": round(calendar["median_ms"], 2),
            "unit": "ms",
            "target": "-",
        }
    )
    rows.append(
        {
            "measure": "12-month calendar p95",
            "value": round(calendar["p95_ms"], 2),
            "unit": "ms",
            "target": "< 20",
        }
    )
    rows.append(
        {
            "measure": "12-month calendar queries",
            "value": len(calendar_queries),
            "unit": "queries",
            "target": "constant (2)",
        }
    )
    rows.append(
        {
            "measure": "bare overlap query p95 (baseline)",
            "value": round(raw_sql["p95_ms"], 2),
            "unit": "ms",
            "target": "-",
        }
    )
    rows.append(
        {
            "measure": "20-property month timeline p50",
            "value": round(timeline["median_ms"], 2),
            "unit": "ms",
            "target": "-",
        }
    )
    rows.append(
        {
            "measure": "20-property month timeline p95",
            "value": round(timeline["p95_ms"], 2),
            "unit": "ms",
            "target": "< 20",
        }
    )
    rows.append(
        {
            "measure": "20-property month timeline queries",
            "value": len(timeline_queries),
            "unit": "queries",
            "target": "constant (2)",
        }
    )

    # --- Contention: 64 conflicting requests through the HTTP API ---------------------
    owner = MembershipFactory(business=business).user
    _, token = api_token_create(business=business, user=owner)
    server = contextlib.ExitStack()
    base_url = server.enter_context(gunicorn_server())
    url = f"{base_url}/api/v1/blocks/"
    latencies_409: list[float] = []
    latencies_bare: list[float] = []
    for _ in range(5):
        bare_barrier = threading.Barrier(64)

        def bare_get(i: int, barrier: threading.Barrier = bare_barrier) -> float:
            session = requests.Session()
            barrier.wait()
            began = time.perf_counter()
            session.get(f"{base_url}/healthz", timeout=30)
            return time.perf_counter() - began

        with ThreadPoolExecutor(64) as pool:
            latencies_bare.extend(pool.map(bare_get, range(64)))
    winners_per_round: list[int] = []
    statuses: dict[int, int] = {}
    contended = Property.objects.filter(business=business).exclude(pk=prop.pk).first()
    for round_no in range(5):
        day = late + timedelta(days=40 + round_no * 10)
        barrier = threading.Barrier(64)

        def post(
            i: int, day: date = day, barrier: threading.Barrier = barrier
        ) -> tuple[int, float]:
            session = requests.Session()
            barrier.wait()
            began = time.perf_counter()
            response = session.post(
                url,
                json={
                    "property": contended.pk,
                    "start": str(day + timedelta(days=i % 3)),
                    "end": str(day + timedelta(days=4)),
                },
                headers={"Authorization": f"Token {token}"},
                timeout=30,
            )
            return response.status_code, time.perf_counter() - began

        with ThreadPoolExecutor(64) as pool:
            results = list(pool.map(post, range(64)))
        codes = [code for code, _ in results]
        for code in codes:
            statuses[code] = statuses.get(code, 0) + 1
        winners_per_round.append(codes.count(201))
        latencies_409.extend(seconds for code, seconds in results if code == 409)
    server.close()
    contention = summarize(latencies_409)
    bare_64 = summarize(latencies_bare)
    rows.append(
        {
            "measure": "64 concurrent API requests: winners per round",
            "value": str(winners_per_round),
            "unit": "count",
            "target": "1 each",
        }
    )
    rows.append(
        {
            "measure": "64 concurrent API requests: HTTP 500s",
            "value": statuses.get(500, 0),
            "unit": "count",
            "target": "0",
        }
    )
    rows.append(
        {
            "measure": "409 answers p50",
            "value": round(contention["median_ms"], 1),
            "unit": "ms",
            "target": "-",
        }
    )
    rows.append(
        {
            "measure": "409 answers p95",
            "value": round(contention["p95_ms"], 1),
            "unit": "ms",
            "target": "-",
        }
    )
    rows.append(
        {
            "measure": "bare view /healthz, 64 concurrent: p95 (baseline)",
            "value": round(bare_64["p95_ms"], 1),
            "unit": "ms",
            "target": "-",
        }
    )
    rows.append(
        {
            "measure": "409 answers p95 / bare p95",
            "value": round(contention["p95_ms"] / bare_64["p95_ms"], 2),
            "unit": "ratio",
            "target": "<= 3",
        }
    )
    report(
        "bookings",
        rows,
        {
            "data_set": {
                "businesses": BUSINESSES,
                "properties": BUSINESSES * PER_BUSINESS,
                "bookings": Booking.objects.count(),
                "generated_in_s": round(generated_in, 1),
            },
            "statuses": statuses,
        },
    )
    for conn in connections.all():
        conn.close()
    assert winners_per_round == [1] * 5
    assert statuses.get(500, 0) == 0
    assert len(calendar_queries) == 2
    assert len(timeline_queries) == 2
    assert counts["small"] == counts["large"], counts
