"""The hotel chain bench's data set, built in SQL (INSERT ... SELECT over
generate_series) and kept between runs in its own database.

One chain of 80 hotels (property groups) x 400 rooms = 32,000 properties, and a small
chain of 2 hotels x 10 rooms beside it (the comparison point for query counts). Each
hotel has three room types (1, 2 or 3 bedrooms, for 2, 4 or 6 guests).

Every room repeats the same 30 nights around the fixed day `TODAY` (the bench travels
to it) for a year: five stays of 4, 4, 4, 4 and 5 nights with one-night gaps after the
first two, then 7 free nights, so 21 of 30 nights are taken (70 %) and 61 stays a year
(about 1.95 million). The cycle starts on a different day for each room (its number
modulo 30), so every day some 1,070 rooms welcome guests and a 7-night stay from any
day finds about 1,070 rooms free, spread over every hotel and room type. One stay in
20 is an owner block.

Around the stays only what the measured pages read near `TODAY`: the cleaning job after
each stay leaving in the fortnight around it, a cleaner per business, an owner, a
group manager of one hotel, a Stripe account.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.backends.utils import CursorWrapper
from django.db.migrations.loader import MigrationLoader

from tests.bench.dashboard_data import STAFF_PER_BUSINESS, STRIPE_ACCOUNT_PER_BUSINESS

# Raise it whenever what `build` writes changes: a kept data set of another version is
# dropped and built again.
VERSION = "chain-1"
TODAY = date(2030, 6, 12)  # a Wednesday
TIMEZONE = "Europe/London"
CYCLE = 30  # nights
# (start, end) of the stays within a cycle: 21 of its 30 nights.
STAYS = ((0, 4), (5, 9), (10, 14), (14, 18), (18, 23))
HALF_YEAR = 182
# The hotel whose manager the bench signs in as (its number, 1-based).
MANAGED_HOTEL = 40
# A week that rooms whose cycle starts on day 7 have free (their 7 free nights start
# on day 23 of the cycle): a 30th of every hotel's rooms.
SEARCH_CHECK_IN = TODAY + timedelta(days=CYCLE)


@dataclass(frozen=True)
class Shape:
    slug: str
    hotels: int
    rooms: int  # per hotel

    @property
    def properties(self) -> int:
        return self.hotels * self.rooms


CHAIN = Shape(slug="chain", hotels=80, rooms=400)
SMALL = Shape(slug="chainlet", hotels=2, rooms=10)


def data_key() -> str:
    """The version plus the migrations on disk: a schema change rebuilds too."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    names = sorted(f"{app}.{name}" for app, name in loader.disk_migrations)
    digest = hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]
    return f"{VERSION}:{digest}"


def hotel_name(number: int) -> str:
    return f"Hotel {number:02d}"


def _owned_indexes(cursor: CursorWrapper, table: str) -> tuple[list[str], list[str]]:
    """(statements recreating, statements dropping) the table's secondary indexes
    and its exclusion constraints: cheaper built once over the rows than kept up to
    date row by row."""
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype = 'x'",
        [table],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = %s "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
        [table],
    )
    indexes = cursor.fetchall()
    create = [f'ALTER TABLE {table} ADD CONSTRAINT "{n}" {d}' for n, d in constraints]
    create += [d for _, d in indexes]
    drop = [f'ALTER TABLE {table} DROP CONSTRAINT "{n}"' for n, _ in constraints]
    drop += [f'DROP INDEX "{n}"' for n, _ in indexes]
    return create, drop


def build(cursor: CursorWrapper) -> dict[str, float]:
    """Write the data set; return seconds per step."""
    timings: dict[str, float] = {}

    def step(name: str, sql: str, params: list[Any] | None = None) -> None:
        began = time.perf_counter()
        cursor.execute(sql, params or [])
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - began

    cursor.execute("SET maintenance_work_mem = '256MB'")
    # No foreign-key triggers row by row: every id below comes from the same build.
    cursor.execute("SET session_replication_role = replica")
    for shape in (SMALL, CHAIN):
        step(
            "businesses",
            """
            INSERT INTO properties_business (name, slug, timezone, currency, contact_email, logo,
                accent_colour, about, created_at, domain_token, require_owner_two_factor)
            VALUES (initcap(%s), %s, %s, 'EUR', %s, '', '#0E7490', '', now(), md5(%s), false)
            """,
            [shape.slug, shape.slug, TIMEZONE, f"desk@{shape.slug}.example.com", shape.slug],
        )
        step(
            "groups",
            """
            INSERT INTO properties_propertygroup (business_id, name)
            SELECT b.id, 'Hotel ' || lpad(h::text, 2, '0')
            FROM properties_business b, generate_series(1, %s) h WHERE b.slug = %s
            """,
            [shape.hotels, shape.slug],
        )
        step(
            "properties",
            """
            INSERT INTO properties_property (business_id, group_id, name, slug, description,
                address, max_guests, bedrooms, bathrooms, amenities, check_in_time,
                check_out_time, timezone, base_price, cleaning_fee, min_nights, tax_percent,
                max_nights, booking_horizon_days, advance_notice_days, weekly_discount_percent,
                monthly_discount_percent, cancellation_policy, published, created_at, updated_at)
            SELECT g.business_id, g.id, 'Room ' || lpad(r::text, 3, '0'),
                'h' || substr(g.name, 7) || '-' || r, '', '', 2 + 2 * (r %% 3), 1 + r %% 3, 1,
                '{}', '15:00', '11:00', '', 90 + 40 * (r %% 3), 20, 1, 10, 30, 730, 0, 0, 0,
                'moderate', true, now(), now()
            FROM properties_propertygroup g
                JOIN properties_business b ON b.id = g.business_id,
                generate_series(1, %s) r
            WHERE b.slug = %s
            ORDER BY g.name, r
            """,
            [shape.rooms, shape.slug],
        )
    cursor.execute(
        "CREATE TEMP TABLE chain_prop AS SELECT id, business_id, group_id, "
        "(((row_number() OVER (PARTITION BY business_id ORDER BY id)) - 1) %% %s)::int AS o "
        "FROM properties_property",
        [CYCLE],
    )
    step(
        "people",
        """
        INSERT INTO properties_user (password, is_superuser, first_name, last_name, is_staff,
            is_active, date_joined, email, name, phone)
        SELECT '!', false, '', '', false, true, now(), who || '@' || slug || '.example.com',
            initcap(who) || ' of ' || name, ''
        FROM properties_business, (VALUES ('owner'), ('manager')) AS w(who)
        """,
    )
    step(
        "people",
        """
        INSERT INTO properties_membership (role, created_at, business_id, user_id)
        SELECT CASE WHEN u.email LIKE 'owner@%%' THEN 'owner' ELSE 'group_manager' END,
            now(), b.id, u.id
        FROM properties_business b JOIN properties_user u
            ON u.email IN ('owner@' || b.slug || '.example.com',
                           'manager@' || b.slug || '.example.com')
        """,
    )
    # The small chain's manager runs its first hotel; the chain's, hotel MANAGED_HOTEL.
    step(
        "people",
        """
        INSERT INTO properties_membership_groups (membership_id, propertygroup_id)
        SELECT m.id, g.id
        FROM properties_membership m
            JOIN properties_business b ON b.id = m.business_id
            JOIN properties_propertygroup g ON g.business_id = b.id
        WHERE m.role = 'group_manager'
            AND g.name = CASE WHEN b.slug = %s THEN %s ELSE %s END
        """,
        [CHAIN.slug, hotel_name(MANAGED_HOTEL), hotel_name(1)],
    )
    step("people", STAFF_PER_BUSINESS)
    step("people", STRIPE_ACCOUNT_PER_BUSINESS)
    create, drop = _owned_indexes(cursor, "bookings_booking")
    for statement in drop:
        cursor.execute(statement)
    step(
        "bookings",
        """
        INSERT INTO bookings_booking (reference, business_id, property_id, stay, status, kind,
            source, guest_name, guest_email, guest_phone, guests, note, price_breakdown, total,
            amount_paid, amount_refunded, currency, confirmed_at, cancelled_at, created_at,
            updated_at)
        SELECT 'C' || p.id || '-' || k, p.business_id, p.id, daterange(d.ci, d.co, '[)'),
            'confirmed',
            CASE WHEN k %% 20 = 7 THEN 'owner_block' ELSE 'stay' END,
            CASE WHEN k %% 20 = 7 THEN 'owner'
                ELSE (ARRAY['direct', 'direct', 'booking', 'booking', 'airbnb'])[k %% 5 + 1]
            END,
            CASE WHEN k %% 20 = 7 THEN '' ELSE 'Guest ' || p.id || '-' || k END,
            CASE WHEN k %% 20 = 7 THEN '' ELSE 'guest' || p.id || 'k' || k || '@example.com' END,
            '', 2, '', '{}',
            CASE WHEN k %% 20 = 7 THEN 0 ELSE 110 * (d.co - d.ci) END,
            CASE WHEN k %% 20 = 7 THEN 0 ELSE 110 * (d.co - d.ci) END,
            0, 'EUR', d.ci - 30, NULL, d.ci - 30, d.ci - 30
        FROM chain_prop p, generate_series(-8, 7) c,
            (VALUES %s) AS s(j, a, b),
            LATERAL (SELECT (c + 8) * 5 + s.j AS k,
                %s::date + %s * c + p.o + s.a AS ci,
                %s::date + %s * c + p.o + s.b AS co) d
        WHERE d.ci >= %s::date - %s AND d.ci < %s::date + %s
        """.replace(
            "(VALUES %s)",
            "(VALUES " + ", ".join(f"({j}, {a}, {b})" for j, (a, b) in enumerate(STAYS)) + ")",
        ),
        [TODAY, CYCLE, TODAY, CYCLE, TODAY, HALF_YEAR, TODAY, HALF_YEAR + 1],
    )
    began = time.perf_counter()
    for statement in create:
        cursor.execute(statement)
    timings["booking indexes"] = time.perf_counter() - began
    # The cleaning after each stay leaving in the fortnight around TODAY, ready for
    # the next arrival: done before TODAY, accepted or pending after.
    step(
        "turnovers",
        """
        CREATE TEMP TABLE chain_near AS
        SELECT b.id, b.business_id, b.property_id, b.stay, p.o,
            lead(b.id) OVER w AS next_id, lead(lower(b.stay)) OVER w AS next_in
        FROM bookings_booking b JOIN chain_prop p ON p.id = b.property_id
        WHERE b.stay && daterange(%s::date - 10, %s::date + 30) AND b.kind = 'stay'
        WINDOW w AS (PARTITION BY b.property_id ORDER BY lower(b.stay))
        """,
        [TODAY, TODAY],
    )
    step(
        "turnovers",
        """
        INSERT INTO messaging_turnover (starts_at, ends_at, accept_by, state, revision, problem,
            created_at, updated_at, booking_id, business_id, cleaner_id, next_booking_id,
            property_id, code_outcome, accepted_at, done_at)
        SELECT s.out_at, s.ready_at, s.out_at - interval '2 days',
            CASE WHEN s.out_at < %s::date THEN 'done'
                WHEN s.o %% 2 = 0 THEN 'accepted' ELSE 'pending' END,
            1, '', now(), now(), s.id, s.business_id, st.id, s.next_id, s.property_id, '',
            CASE WHEN s.o %% 2 = 0 OR s.out_at < %s::date THEN s.out_at - interval '3 days' END,
            CASE WHEN s.out_at < %s::date THEN s.out_at + interval '3 hours' END
        FROM (SELECT *, (upper(stay) + time '11:00') AT TIME ZONE %s AS out_at,
                (next_in + time '15:00') AT TIME ZONE %s AS ready_at FROM chain_near) s
            JOIN messaging_staff st ON st.business_id = s.business_id
        WHERE upper(s.stay) BETWEEN %s::date - 7 AND %s::date + 7
        """,
        [TODAY, TODAY, TODAY, TIMEZONE, TIMEZONE, TODAY, TODAY],
    )
    cursor.execute("SET session_replication_role = DEFAULT")
    began = time.perf_counter()
    cursor.execute("ANALYZE")
    timings["analyze"] = time.perf_counter() - began
    cursor.execute("DROP TABLE chain_prop")
    cursor.execute("DROP TABLE chain_near")
    return timings
