"""The owner dashboard's bench data sets, built in SQL (INSERT ... SELECT over
generate_series) and kept between runs in their own databases.

Every property gets the same year around the fixed day `TODAY` (the bench travels to
it): 50 four-night stays and blocks, one a week, its offset in the week taken from
the property's number, so that each business — of 5 properties or 20 — has guests
arriving, leaving and in the house that day, a cleaning job, failed emails, refused
refunds, unread messages, open conflicts and a dead push. Around each stay: the
cleaning after it, three emails, a payment and a conversation for direct stays, a
push to the channel and its attempt.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.backends.utils import CursorWrapper
from django.db.migrations.loader import MigrationLoader

# Raise it whenever what `build` writes changes: a kept data set of another version is
# dropped and built again.
VERSION = "dashboard-1"
TODAY = date(2030, 6, 12)  # a Wednesday
STAYS_PER_PROPERTY = 50
NIGHTS = 4
TIMEZONE = "Europe/London"


@dataclass(frozen=True)
class Shape:
    """`businesses` businesses of `properties` properties each."""

    businesses: int
    properties: int

    @property
    def prefix(self) -> str:
        return f"d{self.properties}x"


# Rows every business of a data set gets: a cleaner, and a Stripe account that takes
# payments (shared with chain_data).
STAFF_PER_BUSINESS = """
INSERT INTO messaging_staff (name, email, phone, kind, active, created_at, business_id)
SELECT 'Maria Cleaner', 'clean@' || slug || '.example.com', '', 'cleaner', true, now(), id
FROM properties_business
"""
STRIPE_ACCOUNT_PER_BUSINESS = """
INSERT INTO bookings_stripeaccount (account_id, charges_enabled, created_at, business_id,
    account_type, details_submitted, payouts_enabled, requirements_due, disabled_reason)
SELECT 'acct_' || slug, true, now(), id, 'standard', true, true, '[]', ''
FROM properties_business
"""


def data_key() -> str:
    """The version plus the migrations on disk: a schema change rebuilds too."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    names = sorted(f"{app}.{name}" for app, name in loader.disk_migrations)
    digest = hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]
    return f"{VERSION}:{digest}"


def build(cursor: CursorWrapper, shapes: list[Shape]) -> dict[str, float]:
    """Write the data set; return seconds per step."""
    timings: dict[str, float] = {}

    def step(name: str, sql: str, params: list[Any] | None = None) -> None:
        began = time.perf_counter()
        cursor.execute(sql, params or [])
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - began

    for shape in shapes:
        step(
            "businesses",
            """
            INSERT INTO properties_business (name, slug, timezone, currency, contact_email, logo,
                accent_colour, about, created_at, domain_token, require_owner_two_factor)
            SELECT 'Dash ' || %s || b, %s || b, %s, 'EUR', %s || b || '@example.com', '',
                '#0E7490', '', now(), 'tok-' || %s || b, false
            FROM generate_series(1, %s) b
            """,
            [shape.prefix] * 2 + [TIMEZONE] + [shape.prefix] * 2 + [shape.businesses],
        )
        step(
            "properties",
            """
            INSERT INTO properties_property (business_id, name, slug, description, address,
                max_guests, bedrooms, bathrooms, amenities, check_in_time, check_out_time, timezone,
                base_price, cleaning_fee, min_nights, tax_percent, max_nights, booking_horizon_days,
                advance_notice_days, weekly_discount_percent, monthly_discount_percent,
                cancellation_policy, published, created_at, updated_at)
            SELECT b.id, 'Unit ' || lpad(p::text, 2, '0'), 'unit-' || p, '', '', 4, 2, 1, '{}',
                '16:00', '10:00', '', 120, 40, 1, 0, 90, 2000, 0, 0, 0, 'moderate', true, now(),
                now()
            FROM properties_business b, generate_series(1, %s) p
            WHERE b.slug LIKE %s
            """,
            [shape.properties, shape.prefix + "%"],
        )
    cursor.execute(
        "CREATE TEMP TABLE dash_prop AS SELECT id, business_id, "
        "substr(slug, 6)::int AS n FROM properties_property"
    )
    step(
        "owners",
        """
        INSERT INTO properties_user (password, is_superuser, first_name, last_name, is_staff,
            is_active, date_joined, email, name, phone)
        SELECT '!', false, '', '', false, true, now(), 'owner@' || slug || '.example.com',
            'Owner ' || slug, ''
        FROM properties_business
        """,
    )
    step(
        "owners",
        """
        INSERT INTO properties_membership (role, created_at, business_id, user_id)
        SELECT 'owner', now(), b.id, u.id
        FROM properties_business b JOIN properties_user u ON u.email = 'owner@' || b.slug
            || '.example.com'
        """,
    )
    step("staff", STAFF_PER_BUSINESS)
    step("stripe", STRIPE_ACCOUNT_PER_BUSINESS)
    # One a week for 50 weeks, the week's day from the property's number: on TODAY
    # unit 1 (and 8, 15) welcomes a guest, unit 4 sees one off, unit 5 has one in the
    # house. Every tenth is an owner block, one in 25 was cancelled.
    step(
        "bookings",
        """
        INSERT INTO bookings_booking (reference, business_id, property_id, stay, status, kind,
            source, guest_name, guest_email, guest_phone, guests, note, price_breakdown, total,
            amount_paid, amount_refunded, currency, confirmed_at, cancelled_at, created_at,
            updated_at)
        SELECT 'D' || p.id || 'K' || k, p.business_id, p.id,
            daterange(d.check_in, d.check_in + %(nights)s, '[)'),
            CASE WHEN k %% 25 = 12 THEN 'cancelled' ELSE 'confirmed' END,
            CASE WHEN k %% 10 = 7 THEN 'owner_block' ELSE 'stay' END,
            CASE WHEN k %% 10 = 7 THEN 'owner'
                ELSE (ARRAY['direct', 'direct', 'airbnb', 'booking', 'vrbo'])[(k + p.n) %% 5 + 1]
            END,
            CASE WHEN k %% 10 = 7 THEN '' ELSE 'Guest ' || p.id || '-' || k END,
            CASE WHEN k %% 10 = 7 THEN '' ELSE 'guest' || p.id || 'k' || k || '@example.com' END,
            '', 2, '', '{}',
            CASE WHEN k %% 10 = 7 THEN 0 ELSE 520 END,
            CASE WHEN k %% 10 = 7 THEN 0 ELSE 520 END,
            0, 'EUR', d.check_in - 30,
            CASE WHEN k %% 25 = 12 THEN d.check_in - 10 END,
            d.check_in - 30, d.check_in - 30
        FROM dash_prop p, generate_series(0, %(stays)s - 1) k,
            LATERAL (SELECT %(today)s::date + 7 * (k - %(stays)s / 2) + (p.n - 1) %% 7
                AS check_in) d
        """.replace("%(nights)s", str(NIGHTS))
        .replace("%(stays)s", str(STAYS_PER_PROPERTY))
        .replace("%(today)s", f"'{TODAY.isoformat()}'"),
    )
    cursor.execute(
        "CREATE TEMP TABLE dash_stay AS SELECT b.id, b.business_id, b.property_id, b.stay, "
        "b.source, b.guest_email, p.n, substr(b.reference, strpos(b.reference, 'K') + 1)::int "
        "AS k, lead(b.id) OVER w AS next_id, lead(lower(b.stay)) OVER w AS next_in "
        "FROM bookings_booking b JOIN dash_prop p ON p.id = b.property_id "
        "WHERE b.status = 'confirmed' "
        "WINDOW w AS (PARTITION BY b.property_id ORDER BY lower(b.stay))"
    )
    cursor.execute(
        "DELETE FROM dash_stay WHERE id IN (SELECT id FROM bookings_booking WHERE kind <> 'stay')"
    )
    # Cleaning after every stay, ready for the next arrival; done before TODAY.
    step(
        "turnovers",
        """
        INSERT INTO messaging_turnover (starts_at, ends_at, accept_by, state, revision, problem,
            created_at, updated_at, booking_id, business_id, cleaner_id, next_booking_id,
            property_id, code_outcome, accepted_at, done_at)
        SELECT s.out_at, s.ready_at, s.out_at - interval '2 days',
            CASE WHEN s.out_at < %s::date THEN 'done'
                WHEN s.n %% 2 = 0 THEN 'accepted' ELSE 'pending' END,
            1, '', now(), now(), s.id, s.business_id, st.id, s.next_id, s.property_id, '',
            CASE WHEN s.n %% 2 = 0 OR s.out_at < %s::date THEN s.out_at - interval '3 days' END,
            CASE WHEN s.out_at < %s::date THEN s.out_at + interval '3 hours' END
        FROM (SELECT *, (upper(stay) + time '10:00') AT TIME ZONE %s AS out_at,
                (next_in + time '16:00') AT TIME ZONE %s AS ready_at FROM dash_stay) s
            JOIN messaging_staff st ON st.business_id = s.business_id
        """,
        [TODAY, TODAY, TODAY, TIMEZONE, TIMEZONE],
    )
    step(
        "key codes",
        """
        INSERT INTO messaging_keycode (code, valid_from, created_at, business_id, property_id)
        SELECT lpad(((p.id * 7919 + g * 104729) %% 10000)::text, 4, '0'), %s::date + g * 21,
            now(), p.business_id, p.id
        FROM dash_prop p, generate_series(-3, 1) g
        """,
        [TODAY],
    )
    # Three emails per stay; the reminders of units 2 and 3 over the last month failed.
    step(
        "emails",
        """
        INSERT INTO messaging_scheduledmessage (kind, recipient, recipient_name, key, send_at,
            priority, state, context, attempts, last_error, needs_review, sent_at, message_id,
            provider_message_id, created_at, updated_at, booking_id, business_id)
        SELECT m.kind, s.guest_email, 'Guest', 'dash:' || s.id || ':' || m.kind, m.send_at,
            10,
            CASE WHEN m.kind = 'reminder' AND s.n IN (2, 3)
                    AND m.send_at BETWEEN %s::date - 30 AND %s::date THEN 'failed'
                WHEN m.send_at < %s::date THEN 'sent' ELSE 'scheduled' END,
            '{}',
            CASE WHEN m.send_at < %s::date THEN 1 ELSE 0 END,
            CASE WHEN m.kind = 'reminder' AND s.n IN (2, 3)
                AND m.send_at BETWEEN %s::date - 30 AND %s::date
                THEN '550 mailbox unavailable' ELSE '' END,
            false,
            CASE WHEN m.send_at < %s::date THEN m.send_at END,
            '', '', now(), now(), s.id, s.business_id
        FROM dash_stay s, LATERAL (VALUES
            ('confirmation', (lower(s.stay) - 30 + time '09:00') AT TIME ZONE %s),
            ('reminder', (lower(s.stay) - 3 + time '09:00') AT TIME ZONE %s),
            ('welcome', (lower(s.stay) + time '12:00') AT TIME ZONE %s)
        ) AS m(kind, send_at)
        WHERE s.guest_email <> ''
        """,
        [TODAY] * 7 + [TIMEZONE] * 3,
    )
    # Direct guests paid by card; units 1 and 2 had refunds the gateway refused.
    step(
        "payments",
        """
        INSERT INTO bookings_payment (kind, gateway, status, amount, currency, amount_minor,
            checkout_id, checkout_url, payment_intent_id, connected_account, outcome,
            created_at, updated_at, paid_at, booking_id, business_id, method, note)
        SELECT 'stay', 'fake', 'succeeded', 520, 'EUR', 52000, 'cs_dash_' || s.id, '',
            'pi_dash_' || s.id, '', '', lower(s.stay) - 30, lower(s.stay) - 30,
            lower(s.stay) - 30, s.id, s.business_id, '', ''
        FROM dash_stay s WHERE s.source = 'direct'
        """,
    )
    step(
        "refunds",
        """
        INSERT INTO bookings_refund (amount, currency, reason, status, gateway_refund_id, error,
            created_at, updated_at, booking_id, business_id, payment_id, attempts, last_error,
            note)
        SELECT 50, 'EUR', 'cancellation', 'failed', '', 'Card expired', now(), now(),
            s.id, s.business_id, pay.id, 1, 'Card expired', ''
        FROM dash_stay s JOIN bookings_payment pay ON pay.booking_id = s.id
        WHERE s.n IN (1, 2) AND s.k BETWEEN 15 AND 24
        """,
    )
    # A conversation per direct stay; those arriving in the next fortnight are unread.
    step(
        "conversations",
        """
        INSERT INTO messaging_conversation (kind, partner_channel, partner_name,
            partner_reservation, guest_name, guest_email, last_message_at, last_preview,
            last_from_guest, unread, created_at, booking_id, business_id, property_id)
        SELECT 'direct', '', '', '', 'Guest', s.guest_email,
            (lower(s.stay) - 5 + time '18:00') AT TIME ZONE %s, 'What time can we arrive?',
            true, lower(s.stay) BETWEEN %s::date AND %s::date + 14,
            lower(s.stay) - 30, s.id, s.business_id, s.property_id
        FROM dash_stay s WHERE s.source = 'direct'
        """,
        [TIMEZONE, TODAY, TODAY],
    )
    step(
        "conversations",
        """
        INSERT INTO messaging_conversationmessage (direction, author, body, created_at,
            external_id, delivery, delivery_error, business_id, conversation_id)
        SELECT 'in', 'Guest', 'What time can we arrive?', c.last_message_at, '', '', '',
            c.business_id, c.id
        FROM messaging_conversation c
        """,
    )
    step(
        "channels",
        """
        INSERT INTO integrations_channel (public_id, platform, name, active, endpoint_url,
            inbound_secret_enc, previous_inbound_secret_enc, outbound_secret_enc,
            last_push_ok_at, last_push_error, created_at, business_id,
            previous_outbound_secret_enc)
        SELECT 'ch_' || slug, 'airbnb', 'Airbnb', true, 'https://partner.example.com/push', '',
            '', '', now(), '', now(), id, ''
        FROM properties_business
        """,
    )
    step(
        "channels",
        """
        INSERT INTO integrations_listinglink (listing_id, created_at, business_id, channel_id,
            property_id)
        SELECT 'L' || p.id, now(), p.business_id, c.id, p.id
        FROM dash_prop p JOIN integrations_channel c ON c.business_id = p.business_id
        """,
    )
    step(
        "channels",
        """
        INSERT INTO integrations_icalfeed (platform, url, active, etag, last_modified,
            last_error, last_error_at, consecutive_failures, created_at, business_id,
            property_id)
        SELECT 'vrbo', 'https://ical.example.com/' || p.id || '.ics', true, '', '',
            CASE WHEN p.n = 2 THEN 'Feed answered 404' ELSE '' END,
            CASE WHEN p.n = 2 THEN now() END, CASE WHEN p.n = 2 THEN 3 ELSE 0 END, now(),
            p.business_id, p.id
        FROM dash_prop p WHERE p.n IN (2, 3)
        """,
    )
    # Every stay pushed the calendar once; two pushes per business gave up.
    step(
        "pushes",
        """
        INSERT INTO integrations_pushoutbox (push_id, kind, status, attempts, next_attempt_at,
            last_status_code, last_error, delivered_at, created_at, updated_at, business_id,
            channel_id, listing_id)
        SELECT 'p' || s.id, 'availability',
            CASE WHEN s.n = 1 AND s.k IN (20, 21) THEN 'dead' ELSE 'delivered' END,
            1, lower(s.stay) - 30,
            CASE WHEN s.n = 1 AND s.k IN (20, 21) THEN 503 ELSE 200 END,
            CASE WHEN s.n = 1 AND s.k IN (20, 21) THEN 'HTTP 503' ELSE '' END,
            lower(s.stay) - 30, lower(s.stay) - 30, lower(s.stay) - 30, s.business_id,
            l.channel_id, l.id
        FROM dash_stay s JOIN integrations_listinglink l ON l.property_id = s.property_id
        """,
    )
    step(
        "pushes",
        """
        INSERT INTO integrations_pushattempt (number, url, status_code, latency_ms, error, ok,
            attempted_at, business_id, push_id)
        SELECT 1, 'https://partner.example.com/push', last_status_code, 120, last_error,
            status = 'delivered', created_at, business_id, id
        FROM integrations_pushoutbox
        """,
    )
    # Open double bookings on unit 1 over the coming weeks, and older resolved ones.
    step(
        "conflicts",
        """
        INSERT INTO integrations_bookingconflict (public_id, external_id, check_in, check_out,
            partner_data, status, resolution, created_at, resolved_at, business_id,
            existing_booking_id, property_id, channel_id)
        SELECT 'cf' || s.id, 'HMX-' || s.id, lower(s.stay) + 1, lower(s.stay) + 3,
            '{"guest_name": "Partner Guest", "guests": 2, "total": "480.00", "currency": "EUR"}',
            CASE WHEN s.k >= 25 THEN 'open' ELSE 'resolved' END,
            CASE WHEN s.k >= 25 THEN '' ELSE 'kept_existing' END,
            lower(s.stay) - 20, CASE WHEN s.k < 25 THEN lower(s.stay) - 18 END,
            s.business_id, s.id, s.property_id, c.id
        FROM dash_stay s JOIN integrations_channel c ON c.business_id = s.business_id
        WHERE s.n = 1 AND s.k BETWEEN 12 AND 30
        """,
    )
    began = time.perf_counter()
    cursor.execute("ANALYZE")
    timings["analyze"] = time.perf_counter() - began
    cursor.execute("DROP TABLE dash_prop")
    cursor.execute("DROP TABLE dash_stay")
    return timings
