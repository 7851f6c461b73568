"""The owner dashboard at full scale: 400 businesses x 20 properties = 8,000 properties
and 400,000 bookings, with the cleaning jobs, emails, payments, conversations, pushes
and conflicts around them (tests/bench/dashboard_data.py).

For one business of 20 properties, signed in as its owner, through the Django test
client (the whole middleware stack, no network): Today, the calendar month, the
bookings list (first page, and a search with filters) and one booking. The baseline is
a bare template view behind the same middleware, measured in the same run, requests
interleaved so that the machine's noise falls on every page alike.

Asserted: each page's query count is the same for a business of 5 properties and of 20,
and with 10,000 or 400,000 bookings stored; each page's p95 is within 10x the
baseline's.

The data sets live in their own databases (`test_<database>_dash_full` and `_small`),
built once and reused while `dashboard_data.data_key()` (a version plus the
migrations) is unchanged; the first run builds them (a few minutes), later runs start
measuring at once.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection, connections
from django.template import engines
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from properties.models import Business, Property, User
from tests.bench.conftest import report, summarize
from tests.bench.dashboard_data import TODAY, Shape, build, data_key
from tests.conftest import APP_HOST

pytestmark = [pytest.mark.bench, pytest.mark.django_db(transaction=True)]

FULL = [Shape(businesses=400, properties=20)]
SMALL = [Shape(businesses=10, properties=20), Shape(businesses=1, properties=5)]
REQUESTS = 100  # per page, after warming up
RATIO = 10  # p95 of a page / p95 of the bare view
MOMENT = datetime(TODAY.year, TODAY.month, TODAY.day, 9, 30, tzinfo=UTC)


def _server() -> psycopg.Connection[Any]:
    db = settings.DATABASES["default"]
    return psycopg.connect(
        dbname="postgres",
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"] or None,
        autocommit=True,
    )


def _kept_key(name: str) -> str | None:
    db = settings.DATABASES["default"]
    try:
        with psycopg.connect(
            dbname=name,
            host=db["HOST"] or "127.0.0.1",
            port=db["PORT"] or 5432,
            user=db["USER"],
            password=db["PASSWORD"] or None,
        ) as conn:
            row = conn.execute("SELECT key FROM dash_bench_meta").fetchone()
            return str(row[0]) if row else None
    except psycopg.Error:
        return None


@contextlib.contextmanager
def on_database(name: str) -> Iterator[None]:
    """Point this thread's default connection (and so the test client) at `name`."""
    for conn in connections.all():
        conn.close()
    saved = connection.settings_dict["NAME"]
    connection.settings_dict["NAME"] = name
    cache.clear()  # nothing cached from one database may answer for the other
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["NAME"] = saved
        cache.clear()


def data_set(suffix: str, shapes: list[Shape]) -> tuple[str, float | None]:
    """The name of a database holding `shapes`, built unless kept from an earlier run
    (then the seconds it took to build, else None)."""
    template = connection.settings_dict["NAME"]
    # The test database's name ends in the run's id (tests/conftest.py); the kept
    # data sets must not.
    run = os.environ.get("HOLIDESK_TEST_RUN", "")
    name = f"{template.removesuffix(f'_{run}')}_dash_{suffix}"
    key = data_key()
    if _kept_key(name) == key:
        return name, None
    began = time.perf_counter()
    for conn in connections.all():
        conn.close()
    with _server() as server:
        server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        try:
            # The test database is migrated and empty: copy it.
            server.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
            migrated = True
        except psycopg.errors.ObjectInUse:
            server.execute(f'CREATE DATABASE "{name}"')
            migrated = False
    with on_database(name):
        if not migrated:
            call_command("migrate", verbosity=0)
        with connection.cursor() as cursor:
            steps = build(cursor, shapes)
            cursor.execute("CREATE TABLE dash_bench_meta (key text NOT NULL)")
            cursor.execute("INSERT INTO dash_bench_meta VALUES (%s)", [key])
    seconds = time.perf_counter() - began
    print(
        f"\nBuilt {name} in {seconds:.0f} s: " + ", ".join(f"{k} {v:.1f}" for k, v in steps.items())
    )
    return name, seconds


def _pages(business: Business) -> dict[str, str]:
    first = Property.objects.filter(business=business, slug="unit-1").get()
    arriving = f"D{first.pk}K25"  # unit 1's guest arriving today (dashboard_data)
    return {
        "bare template view (baseline)": "/bench/bare/",
        "Today": "/dashboard/",
        "calendar month": f"/dashboard/calendar/?month={TODAY:%Y-%m}",
        "bookings list": "/dashboard/bookings/",
        "bookings search": "/dashboard/bookings/?q=guest&status=confirmed&source=direct&when=all",
        "booking detail": f"/dashboard/bookings/{arriving}/",
    }


def _client(business: Business) -> Client:
    owner = User.objects.get(email=f"owner@{business.slug}.example.com")
    client = Client(HTTP_HOST=APP_HOST)
    client.force_login(owner)
    return client


def _query_counts(slug: str) -> dict[str, int]:
    business = Business.objects.get(slug=slug)
    client = _client(business)
    counts = {}
    for page, url in _pages(business).items():
        client.get(url)  # warm
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200, (page, response.status_code)
        counts[page] = len(queries)
    return counts


def _served(client: Client, url: str) -> Any:
    """GET `url` as the server would answer it: through the client's handler (its
    session cookie included), without the test client's capture of every rendered
    template and a copy of its context, which costs a page of many includes far more
    than the one-template baseline."""
    path, _, query = url.partition("?")
    environ = client._base_environ(PATH_INFO=path, QUERY_STRING=query, REQUEST_METHOD="GET")
    return client.handler(environ)


def _production_like() -> dict[str, Any]:
    """What the measured requests run under. `make bench` exports DEBUG=true (as every
    test run does), but pytest-django sets `settings.DEBUG` to False for the tests: no
    query is logged (only `_query_counts` captures them), templates are compiled once
    by the cached loader and rendered without debug annotations, for the pages and the
    baseline alike. Checked here, so that a change to the test set-up cannot inflate the
    figures unnoticed."""
    engine = engines["django"].engine  # type: ignore[attr-defined]
    found = {
        "debug": settings.DEBUG,
        "template_debug": engine.debug,
        "template_loaders": [
            loader[0] if isinstance(loader, tuple) else loader for loader in engine.loaders
        ],
        "query_logging": connection.force_debug_cursor,
    }
    assert not found["debug"], found
    assert not found["template_debug"], found
    assert not found["query_logging"], found
    assert found["template_loaders"] == ["django.template.loaders.cached.Loader"], found
    return found


def _timings(slug: str) -> dict[str, list[float]]:
    business = Business.objects.get(slug=slug)
    client = _client(business)
    pages = _pages(business)
    samples: dict[str, list[float]] = {page: [] for page in pages}
    for round_no in range(REQUESTS + 5):
        for page, url in pages.items():
            began = time.perf_counter()
            response = _served(client, url)
            seconds = time.perf_counter() - began
            assert response.status_code == 200, (page, response.status_code)
            if round_no >= 5:
                samples[page].append(seconds)
    return samples


@override_settings(ROOT_URLCONF="tests.bench.urls")
def test_dashboard_pages_at_full_scale() -> None:
    full, full_built = data_set("full", FULL)
    small, small_built = data_set("small", SMALL)
    with time_machine.travel(MOMENT, tick=True):
        with on_database(small):
            small_bookings = _count("bookings_booking")
            counts_small_20 = _query_counts("d20x1")
            counts_small_5 = _query_counts("d5x1")
        with on_database(full):
            data = {
                table: _count(table)
                for table in (
                    "properties_business",
                    "properties_property",
                    "bookings_booking",
                    "messaging_turnover",
                    "messaging_scheduledmessage",
                    "messaging_conversation",
                    "bookings_payment",
                    "integrations_pushoutbox",
                    "integrations_bookingconflict",
                )
            }
            counts_full_20 = _query_counts("d20x123")
            settings_measured = _production_like()
            samples = _timings("d20x123")
    baseline = summarize(samples["bare template view (baseline)"])
    rows: list[dict[str, Any]] = []
    for page, page_samples in samples.items():
        stats = summarize(page_samples)
        rows.append(
            {
                "page": page,
                "p50_ms": round(stats["median_ms"], 2),
                "p95_ms": round(stats["p95_ms"], 2),
                "p95_x_baseline": round(stats["p95_ms"] / baseline["p95_ms"], 2),
                "target": "-" if page.endswith("(baseline)") else f"<= {RATIO}x",
                "queries_20p_400k": counts_full_20[page],
                "queries_20p_10k": counts_small_20[page],
                "queries_5p_10k": counts_small_5[page],
            }
        )
    report(
        "dashboard",
        rows,
        {
            "data_set": {
                **data,
                "bookings_in_small_set": small_bookings,
                "built_in_s": {"full": full_built, "small": small_built},
            },
            "requests_per_page": REQUESTS,
            "settings": settings_measured,
            "client": "django.test.Client, in process",
        },
    )
    for conn in connections.all():
        conn.close()
    assert data["bookings_booking"] == 400_000
    assert data["properties_property"] == 8_000
    for row in rows:
        assert row["queries_20p_400k"] == row["queries_20p_10k"] == row["queries_5p_10k"], row
        assert row["p95_x_baseline"] <= RATIO, row


def _count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")
        return int(cursor.fetchone()[0])
