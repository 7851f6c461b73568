"""A hotel chain at full scale: one business of 80 hotels x 400 rooms = 32,000
properties and a year of bookings at 70 % occupancy (about 1.95 million stays), with a
small chain of 2 hotels x 10 rooms beside it (tests/bench/chain_data.py).

Through the request handler (`_served`, as the dashboard bench): Today for one hotel
(as that hotel's group manager, and as the owner filtering by it), the calendar month
for one hotel (as the owner choosing it, and as its manager landing on it), the
bookings list (first page, and a search with filters), and the visitor site's search
for a 7-night stay across the chain (one row per hotel and room type, first and
second page). Baselines, measured in the same run with requests interleaved: the bare
template view of the dashboard bench (tests/bench/urls.py) for the dashboard pages and
the site's bare page (tests/bench/bare_urls.py) for the search.

Asserted: each page's query count is the same for the chain and for the small chain,
the latter read as a chain is (one group at a time: its limit lowered for the count)
(the bench does not assert on time: the ratios are printed and written to
bench-results/chain.json).

The data set lives in its own database (`test_<database>_chain`), built once and reused
while `chain_data.data_key()` (a version plus the migrations) is unchanged.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection, connections
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from bookings.dashboard import calendar
from properties.models import Business, PropertyGroup, User
from tests.bench import chain_data
from tests.bench.chain_data import (
    CHAIN,
    MANAGED_HOTEL,
    SEARCH_CHECK_IN,
    SMALL,
    TODAY,
    Shape,
    hotel_name,
)
from tests.bench.conftest import report, summarize
from tests.bench.test_dashboard_bench import _kept_key, _served, _server, on_database
from tests.conftest import APP_HOST

pytestmark = [pytest.mark.bench, pytest.mark.django_db(transaction=True)]

REQUESTS = 30  # per page, after warming up (each round takes some 10 s on a loaded machine)
WARM = 3
RATIO = 10  # p95 of a page / p95 of its bare view: reported, not asserted
MOMENT = datetime(TODAY.year, TODAY.month, TODAY.day, 9, 30, tzinfo=UTC)
DASHBOARD_BARE = "bare template view (dashboard baseline)"
SITE_BARE = "bare site page (site baseline)"


def data_set() -> tuple[str, float | None]:
    """The name of the database holding the chains, built unless kept from an earlier
    run (then the seconds it took to build, else None)."""
    template = connection.settings_dict["NAME"]
    run = os.environ.get("HOLIDESK_TEST_RUN", "")
    name = f"{template.removesuffix(f'_{run}')}_chain"
    key = chain_data.data_key()
    if _kept_key(name) == key:
        return name, None
    began = time.perf_counter()
    for conn in connections.all():
        conn.close()
    with _server() as server:
        server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        try:
            server.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
            migrated = True
        except Exception:  # the template is in use
            server.execute(f'CREATE DATABASE "{name}"')
            migrated = False
    with on_database(name):
        if not migrated:
            call_command("migrate", verbosity=0)
        with connection.cursor() as cursor:
            steps = chain_data.build(cursor)
            cursor.execute("CREATE TABLE dash_bench_meta (key text NOT NULL)")
            cursor.execute("INSERT INTO dash_bench_meta VALUES (%s)", [key])
    seconds = time.perf_counter() - began
    print(
        f"\nBuilt {name} in {seconds:.0f} s: " + ", ".join(f"{k} {v:.1f}" for k, v in steps.items())
    )
    return name, seconds


def _managed(shape: Shape) -> str:
    return hotel_name(MANAGED_HOTEL if shape is CHAIN else 1)


def _client(shape: Shape, who: str, host: str = APP_HOST) -> Client:
    client = Client(HTTP_HOST=host)
    if who:
        client.force_login(User.objects.get(email=f"{who}@{shape.slug}.example.com"))
    return client


# (page, who signs in ("" for a visitor), url): the same pages for either chain.
def _pages(shape: Shape) -> list[tuple[str, str, str]]:
    business = Business.objects.get(slug=shape.slug)
    group = PropertyGroup.objects.get(business=business, name=_managed(shape))
    month = f"{TODAY:%Y-%m}"
    check_in = SEARCH_CHECK_IN
    stay = (
        f"check_in={check_in:%Y-%m-%d}&check_out={check_in + timedelta(days=7):%Y-%m-%d}&guests=2"
    )
    return [
        (DASHBOARD_BARE, "owner", "/bench/bare/"),
        ("Today, group manager", "manager", "/dashboard/"),
        ("Today, owner, one group", "owner", f"/dashboard/?group={group.pk}"),
        (
            "calendar, owner, one group",
            "owner",
            f"/dashboard/calendar/?month={month}&group={group.pk}",
        ),
        ("calendar, group manager", "manager", f"/dashboard/calendar/?month={month}"),
        ("bookings list", "owner", "/dashboard/bookings/"),
        (
            "bookings search",
            "owner",
            "/dashboard/bookings/?q=guest&status=confirmed&source=direct&when=all",
        ),
        (SITE_BARE, "", "/bench/bare/"),
        ("site search, hotels and room types", "", f"/search/?{stay}"),
        ("site search, page 2", "", f"/search/?{stay}&page=2"),
        ("site search, one hotel's rooms", "", f"/search/?{stay}&group={group.pk}&list=1"),
    ]


def _clients(shape: Shape) -> Callable[[str, str], Client]:
    made: dict[tuple[str, bool], Client] = {}

    def client_for(who: str, url: str) -> Client:
        site = who == "" or url.startswith("/search/")
        key = (who, site)
        if key not in made:
            host = f"{shape.slug}.localhost" if site else APP_HOST
            made[key] = _client(shape, who, host)
        return made[key]

    return client_for


def _site(page: str) -> bool:
    return page == SITE_BARE or page.startswith("site ")


def _get(client: Client, page: str, url: str) -> Any:
    return _served(client, url)


def _query_counts(shape: Shape) -> dict[str, int]:
    client_for = _clients(shape)
    counts = {}
    for page, who, url in _pages(shape):
        client = client_for(who, url)
        _get(client, page, url)  # warm
        with CaptureQueriesContext(connection) as queries:
            response = _get(client, page, url)
        assert response.status_code == 200, (page, response.status_code)
        counts[page] = len(queries)
    return counts


def _timings(shape: Shape) -> dict[str, list[float]]:
    client_for = _clients(shape)
    pages = _pages(shape)
    samples: dict[str, list[float]] = {page: [] for page, _, _ in pages}
    for round_no in range(REQUESTS + WARM):
        for page, who, url in pages:
            client = client_for(who, url)
            began = time.perf_counter()
            response = _get(client, page, url)
            seconds = time.perf_counter() - began
            assert response.status_code == 200, (page, response.status_code)
            if round_no >= WARM:
                samples[page].append(seconds)
    return samples


def _count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")
        return int(cursor.fetchone()[0])


@override_settings(
    ROOT_URLCONF="tests.bench.urls", HOLIDESK_SITE_URLCONF="tests.bench.bare_urls", DEBUG=False
)
def test_chain_pages_at_full_scale() -> None:
    name, built = data_set()
    with time_machine.travel(MOMENT, tick=True), on_database(name):
        data = {
            table: _count(table)
            for table in (
                "properties_propertygroup",
                "properties_property",
                "bookings_booking",
                "messaging_turnover",
            )
        }
        # The small chain is read the way a chain is (one group at a time), so that
        # both go down the same path and only the size differs.
        with mock.patch.object(calendar, "ONE_GROUP_ABOVE", SMALL.rooms // 2):
            counts_small = _query_counts(SMALL)
        counts_chain = _query_counts(CHAIN)
        samples = _timings(CHAIN)
    baselines = {
        DASHBOARD_BARE: summarize(samples[DASHBOARD_BARE]),
        SITE_BARE: summarize(samples[SITE_BARE]),
    }
    rows: list[dict[str, Any]] = []
    for page, page_samples in samples.items():
        stats = summarize(page_samples)
        base = baselines[SITE_BARE if _site(page) else DASHBOARD_BARE]
        rows.append(
            {
                "page": page,
                "p50_ms": round(stats["median_ms"], 2),
                "p95_ms": round(stats["p95_ms"], 2),
                "p95_x_baseline": round(stats["p95_ms"] / base["p95_ms"], 2),
                "target": "-" if "baseline" in page else f"<= {RATIO}x",
                "queries_chain": counts_chain[page],
                "queries_small": counts_small[page],
            }
        )
    report(
        "chain",
        rows,
        {
            "data_set": {**data, "database": name, "built_in_s": built},
            "requests_per_page": REQUESTS,
            "client": "django.test.Client handler, in process",
            "load_average": _load(),
        },
    )
    for conn in connections.all():
        conn.close()
    assert data["properties_property"] == CHAIN.properties + SMALL.properties
    assert data["bookings_booking"] > 1_900_000
    for row in rows:
        assert row["queries_chain"] == row["queries_small"], row


def _load() -> str:
    try:
        with open("/proc/loadavg") as handle:
            return " ".join(handle.read().split()[:3])
    except OSError:
        return ""
