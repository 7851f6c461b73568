"""No double bookings under real concurrency: parallel PostgreSQL connections, no mocks.

Each thread uses its own database connection (Django gives every thread one), so the
requests race exactly as they would on several gunicorn workers.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
import requests
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.servers.basehttp import ThreadedWSGIServer
from django.db import IntegrityError, connection, transaction
from django.test.testcases import LiveServerThread
from psycopg.types.range import Range
from rest_framework.test import APIClient

from bookings.errors import StayUnavailable
from bookings.models import Booking
from bookings.services.stays import booking_create, booking_hold
from properties.services import api_token_create
from tests.bookings.conftest import days_from_today
from tests.conftest import make_tenant
from tests.factories import PropertyFactory

# Up to 64 connections at once: kept on one test process (`--dist loadgroup`), so two
# such modules never run side by side against PostgreSQL's default 100 connections.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("many_connections")]

THREADS = 64
ROUNDS = 20


def _run_together(n: int, work: Callable[[int], Any], pool: ThreadPoolExecutor) -> list[Any]:
    """Start n calls at the same instant (a barrier), return their results."""
    barrier = threading.Barrier(n)

    def call(i: int) -> Any:
        barrier.wait()
        try:
            return work(i)
        except Exception as exc:  # the outcome of each racer is what we assert on
            return exc

    return list(pool.map(call, range(n)))


def _close_connections(pool: ThreadPoolExecutor, n: int) -> None:
    """Close the database connection of each of the pool's n threads (a barrier makes
    every thread take exactly one of the n tasks)."""
    barrier = threading.Barrier(n)

    def close(_: int) -> None:
        barrier.wait()
        connection.close()

    list(pool.map(close, range(n)))


def test_64_concurrent_api_requests_for_overlapping_stays_have_one_winner_per_round() -> None:
    tenant = make_tenant("racers")
    _, raw = api_token_create(business=tenant.business, user=tenant.owner)
    statuses: Counter[int] = Counter()
    bodies: list[dict[str, Any]] = []
    with ThreadPoolExecutor(THREADS) as pool:
        for round_no in range(ROUNDS):
            base = days_from_today(tenant.prop, 10 + round_no * 10)

            def request(i: int, base: Any = base) -> Any:
                client = APIClient(HTTP_HOST="localhost")
                client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
                # Every request overlaps every other: they all contain night base+3.
                start = base + timedelta(days=i % 3)
                body = {
                    "property": tenant.prop.pk,
                    "start": str(start),
                    "end": str(base + timedelta(days=4)),
                }
                return client.post("/api/v1/blocks/", body, format="json")

            responses = _run_together(THREADS, request, pool)
            codes = [r.status_code for r in responses]
            statuses.update(codes)
            assert codes.count(201) == 1, f"round {round_no}: {Counter(codes)}"
            assert codes.count(409) == THREADS - 1, f"round {round_no}: {Counter(codes)}"
            bodies.extend(r.json() for r in responses if r.status_code == 409)
        _close_connections(pool, THREADS)
    assert statuses[500] == 0
    assert all(b["error"]["code"] == "stay_unavailable" for b in bodies)
    assert all("deadlock" not in b["error"]["message"].lower() for b in bodies)
    assert Booking.objects.filter(property=tenant.prop).active().count() == ROUNDS


def test_30_mixed_writers_for_the_same_nights_have_exactly_one_winner() -> None:
    tenant = make_tenant("mixed")
    _, raw = api_token_create(business=tenant.business, user=tenant.owner)
    check_in = days_from_today(tenant.prop, 20)
    check_out = check_in + timedelta(days=3)

    def writer(i: int) -> Any:
        kind = i % 3
        if kind == 0:  # the owner API
            client = APIClient(HTTP_HOST="localhost")
            client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
            response = client.post(
                "/api/v1/blocks/",
                {"property": tenant.prop.pk, "start": str(check_in), "end": str(check_out)},
                format="json",
            )
            return "ok" if response.status_code == 201 else response.status_code
        if kind == 1:  # a visitor's checkout hold
            booking_hold(property=tenant.prop, check_in=check_in, check_out=check_out, guests=2)
            return "ok"
        # the admin or a partner: a confirmed booking through the service
        booking_create(
            property=tenant.prop, check_in=check_in, check_out=check_out, source="airbnb"
        )
        return "ok"

    with ThreadPoolExecutor(30) as pool:
        outcomes = _run_together(30, writer, pool)
        _close_connections(pool, 30)
    winners = [o for o in outcomes if o == "ok"]
    losers = [o for o in outcomes if o != "ok"]
    assert len(winners) == 1, outcomes
    assert all(o == 409 or isinstance(o, StayUnavailable) for o in losers), outcomes
    assert Booking.objects.filter(property=tenant.prop).active().count() == 1


def test_the_constraint_alone_stops_overlaps_from_unlocked_writers() -> None:
    """Bypass the services (no property lock, no pre-check): PostgreSQL still refuses."""
    tenant = make_tenant("rawwriters")
    check_in = days_from_today(tenant.prop, 5)

    def raw_insert(i: int) -> str:
        try:
            with transaction.atomic():
                Booking.objects.create(
                    business=tenant.business,
                    property=tenant.prop,
                    stay=Range(
                        check_in + timedelta(days=i % 2), check_in + timedelta(days=3), "[)"
                    ),
                    currency="EUR",
                )
            return "inserted"
        except IntegrityError as exc:
            return getattr(exc.__cause__, "sqlstate", "other")
        except Exception as exc:  # a deadlock surfaces as OperationalError
            return getattr(exc.__cause__, "sqlstate", type(exc).__name__)

    with ThreadPoolExecutor(20) as pool:
        outcomes = _run_together(20, raw_insert, pool)
        _close_connections(pool, 20)
    assert outcomes.count("inserted") == 1, outcomes
    assert set(outcomes) <= {"inserted", "23P01", "40P01"}, outcomes
    assert Booking.objects.filter(property=tenant.prop).count() == 1


def test_back_to_back_stays_and_other_properties_are_not_conflicts() -> None:
    tenant = make_tenant("neighbours")
    from tests.factories import PropertyFactory

    second = PropertyFactory(business=tenant.business)
    day = days_from_today(tenant.prop, 7)
    jobs = [
        (tenant.prop, day, day + timedelta(days=3)),
        (
            tenant.prop,
            day + timedelta(days=3),
            day + timedelta(days=5),
        ),  # check-in on check-out day
        (second, day, day + timedelta(days=3)),  # same dates, another property
        (second, day - timedelta(days=2), day),
    ]

    def create(i: int) -> Any:
        prop, start, end = jobs[i]
        return booking_create(property=prop, check_in=start, check_out=end, source="direct")

    with ThreadPoolExecutor(len(jobs)) as pool:
        outcomes = _run_together(len(jobs), create, pool)
        _close_connections(pool, len(jobs))
    assert all(isinstance(o, Booking) for o in outcomes), outcomes


class _WideServer(ThreadedWSGIServer):
    # Django's test server queues 10 connections; 32 writers connect at once.
    request_queue_size = 128


class _WideServerThread(LiveServerThread):
    server_class = _WideServer


@pytest.fixture
def http_server() -> Iterator[str]:
    """A real threaded HTTP server for the app (one thread and database connection per
    request), like gunicorn's threads."""
    thread = _WideServerThread("localhost", StaticFilesHandler)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    yield f"http://localhost:{thread.port}"
    thread.terminate()


def test_32_mixed_owner_writers_over_http_get_no_5xx_and_one_winner_per_set(
    http_server: str,
) -> None:
    """Owner API bookings and blocks for four properties of one business, all at once,
    through a real HTTP server (each request on its own thread and database connection).
    Every writer of a property overlaps every other writer of that property; the
    properties share dates. A lost lock race is retried, never a 5xx or a false 409."""
    tenant = make_tenant("httpracers")
    props = [tenant.prop, *(PropertyFactory(business=tenant.business) for _ in range(3))]
    _, raw = api_token_create(business=tenant.business, user=tenant.owner)
    per_property = 8
    writers = per_property * len(props)
    codes: Counter[int] = Counter()
    for round_no in range(2):
        base = days_from_today(tenant.prop, 20 + round_no * 10)

        def write(i: int, base: Any = base) -> tuple[int, int, dict[str, Any]]:
            prop = props[i % len(props)]
            # Every writer of a property holds night base+3; starts differ.
            start, end = base + timedelta(days=i % 3), base + timedelta(days=4)
            if (i // len(props)) % 2:
                url = "/api/v1/blocks/"
                body = {"property": prop.pk, "start": str(start), "end": str(end)}
            else:
                url = "/api/v1/bookings/"
                body = {
                    "property": prop.pk,
                    "check_in": str(start),
                    "check_out": str(end),
                    "guests": 2,
                }
            response = requests.post(
                http_server + url,
                json=body,
                headers={"Authorization": f"Token {raw}"},
                timeout=60,
            )
            return prop.pk, response.status_code, response.json()

        with ThreadPoolExecutor(writers) as pool:
            outcomes = _run_together(writers, write, pool)
        assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
        codes.update(status for _, status, _ in outcomes)
        for prop in props:
            mine = [(status, body) for pk, status, body in outcomes if pk == prop.pk]
            statuses = Counter(status for status, _ in mine)
            assert statuses == {201: 1, 409: per_property - 1}, (round_no, prop.pk, statuses)
            assert all(
                body["error"]["code"] == "stay_unavailable"
                for status, body in mine
                if status == 409
            )
    assert not [code for code in codes if code >= 500], codes
    for prop in props:
        assert Booking.objects.filter(property=prop).active().count() == 2


def test_a_writer_finding_the_lock_taken_answers_from_the_holders_committed_stay() -> None:
    """A second writer for the same nights waits for the lock holder to finish without
    queueing for the lock, then names the stay the holder committed (409, not 503)."""
    tenant = make_tenant("waiting")
    prop = tenant.prop
    start = days_from_today(prop, 40)
    holding = threading.Event()

    def holder() -> None:
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT id FROM properties_property WHERE id = %s FOR NO KEY UPDATE",
                        [prop.pk],
                    )
                Booking.objects.create(
                    business=tenant.business,
                    property=prop,
                    stay=Range(start, start + timedelta(days=3), "[)"),
                    currency="EUR",
                )
                holding.set()
                threading.Event().wait(0.5)  # the second writer arrives while we hold it
        finally:
            holding.set()
            connection.close()

    thread = threading.Thread(target=holder)
    thread.start()
    assert holding.wait(10)
    with pytest.raises(StayUnavailable) as caught:
        booking_create(
            property=prop,
            check_in=start + timedelta(days=1),
            check_out=start + timedelta(days=4),
            source="api",
        )
    thread.join()
    assert caught.value.conflict == (start, start + timedelta(days=3))
    assert Booking.objects.filter(property=prop).count() == 1
