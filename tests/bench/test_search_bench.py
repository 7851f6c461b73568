"""Search benchmark: a 7-night stay searched across a 20-property business and across a
400-unit hotel business (4 hotels x 100 rooms), each place with a year of bookings.

Measured in-process through the whole request stack (host routing, sessions,
middleware, rendering) with Django's test client: the search page, the visitor API's
search, and — the baseline in the same run — a bare page on the same host
(tests/bench/bare_urls.py: the site's layout and one query; `/healthz`, which skips
host routing and templates, is printed too). Prints median, p95 and query count, writes bench-results/search.json, and
asserts: a number of queries that does not grow with the business (at most
MAX_QUERIES for every search, the 400-unit hotel business included), p95 within 10x of
the bare page's.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from tests.bench.conftest import report, summarize

pytestmark = [pytest.mark.bench, pytest.mark.django_db(transaction=True)]

REPEAT = 60
# Host lookup, filters (+ hotel names), count (when results run past one page), page,
# seasonal rates, photos: whatever the number of places.
MAX_QUERIES = 8
STAYS_PER_UNIT = 12


def _generate(slug: str, units: int, hotels: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO properties_business (name, slug, timezone, currency, contact_email, logo,
                accent_colour, about, created_at, domain_token, require_owner_two_factor)
            VALUES (%s, %s, 'Europe/London', 'EUR', 'bench@example.com', '', '#0E7490', '',
                now(), md5(%s), false)
            """,
            [slug.title(), slug, slug],
        )
        cursor.execute("SELECT id FROM properties_business WHERE slug = %s", [slug])
        business_id = cursor.fetchone()[0]
        for h in range(hotels):
            cursor.execute(
                "INSERT INTO properties_propertygroup (business_id, name) VALUES (%s, %s)",
                [business_id, f"Hotel {h}"],
            )
        cursor.execute(
            """
            INSERT INTO properties_property (business_id, group_id, name, slug, description,
                address, max_guests, bedrooms, bathrooms, amenities, check_in_time,
                check_out_time, timezone, base_price, cleaning_fee, min_nights, tax_percent,
                max_nights, booking_horizon_days, advance_notice_days, weekly_discount_percent,
                monthly_discount_percent, cancellation_policy, published, created_at, updated_at)
            SELECT %s,
                (SELECT g.id FROM properties_propertygroup g WHERE g.business_id = %s
                 ORDER BY g.id OFFSET (p %% greatest(%s, 1)) LIMIT 1),
                'Unit ' || p, 'unit-' || p, '', '', 2 + p %% 3, 1 + p %% 3, 1, '{}',
                '16:00', '10:00', '', 80 + p %% 50, 30, 1, 7, 90, 730, 0, 10, 20, 'moderate',
                true, now(), now()
            FROM generate_series(1, %s) p
            """,
            [business_id, business_id, hotels, units],
        )
        # A year of stays: one of 3-6 nights every 30 days, offset per unit, so about
        # half of the units are free for any given week.
        cursor.execute(
            """
            INSERT INTO bookings_booking (reference, business_id, property_id, stay, status, kind,
                source, guest_name, guest_email, guest_phone, guests, note, price_breakdown, total,
                amount_paid, amount_refunded, currency, created_at, updated_at)
            SELECT %s || '-' || p.id || '-' || g, p.business_id, p.id,
                daterange(current_date + (p.id %% 30)::int + g * 30,
                          current_date + ((p.id %% 30) + g * 30 + 3 + (p.id %% 4))::int, '[)'),
                'confirmed', 'stay', 'direct', 'Guest', '', '', 2, '', '{}', 400, 0, 0, 'EUR',
                now(), now()
            FROM properties_property p, generate_series(0, %s) g
            WHERE p.business_id = %s
            """,
            [slug[:1].upper(), STAYS_PER_UNIT - 1, business_id],
        )
        # Seasonal prices on every unit for the summer.
        cursor.execute(
            """
            INSERT INTO properties_seasonalrate (business_id, property_id, name, start, "end",
                nightly_price, min_nights)
            SELECT p.business_id, p.id, 'High season', current_date + 20, current_date + 80,
                150, NULL
            FROM properties_property p WHERE p.business_id = %s
            """,
            [business_id],
        )
        cursor.execute("ANALYZE")


def _timed(client: Client, path: str, params: dict[str, str]) -> tuple[list[float], int]:
    response = client.get(path, params)  # warm
    assert response.status_code == 200, response.content[:300]
    queries: list[str] = []

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        client.get(path, params)
    samples = []
    for _ in range(REPEAT):
        began = time.perf_counter()
        client.get(path, params)
        samples.append(time.perf_counter() - began)
    return samples, len(queries)


def test_search_is_constant_in_queries_and_close_to_a_bare_view(settings: Any) -> None:
    settings.DEBUG = False
    settings.HOLIDESK_SITE_URLCONF = "tests.bench.bare_urls"
    _generate("villas", units=20, hotels=0)
    _generate("grandhotels", units=400, hotels=4)
    check_in = date.today() + timedelta(days=30)
    stay = {
        "check_in": check_in.isoformat(),
        "check_out": (check_in + timedelta(days=7)).isoformat(),
        "guests": "2",
    }
    rows: list[dict[str, Any]] = []
    counts: dict[str, set[int]] = {"page": set(), "api": set()}
    for slug, label in (("villas", "20 places"), ("grandhotels", "400 hotel units")):
        client = Client(HTTP_HOST=f"{slug}.localhost")
        health, health_queries = _timed(client, "/healthz", {})
        bare, bare_queries = _timed(client, "/bench/bare/", {})
        bare_p95 = summarize(bare)["p95_ms"]
        rows.append(
            {
                "business": label,
                "view": "/healthz",
                **summarize(health),
                "queries": health_queries,
                "x_bare_p95": summarize(health)["p95_ms"] / bare_p95,
            }
        )
        rows.append(
            {
                "business": label,
                "view": "bare page (baseline)",
                **summarize(bare),
                "queries": bare_queries,
                "x_bare_p95": 1.0,
            }
        )
        cases = [
            ("page", "search page", "/search/", {**stay, "list": "1"}),
            ("page", "search page, by room type", "/search/", stay),
            ("api", "API search", "/api/v1/search", stay),
            (
                "api",
                "API search, by room type",
                "/api/v1/search",
                {**stay, "group_by": "room_type"},
            ),
        ]
        for kind, name, path, params in cases:
            if slug == "villas" and "room type" in name:
                continue
            samples, queries = _timed(client, path, params)
            stats = summarize(samples)
            if "room type" not in name:
                counts[kind].add(queries)
            rows.append(
                {
                    "business": label,
                    "view": name,
                    **stats,
                    "queries": queries,
                    "x_bare_p95": stats["p95_ms"] / bare_p95,
                }
            )
    report("search", rows, {"stay_nights": 7, "repeat": REPEAT})
    assert all(q <= MAX_QUERIES for seen in counts.values() for q in seen), counts
    for row in rows:
        if row["view"] != "/healthz":
            assert row["x_bare_p95"] <= 10, row
