"""Restore drill: dump the database with pg_dump, restore it into a fresh database with
pg_restore, and check the invariants on the copy with `manage.py check_invariants`, as
the runbook's point-in-time restore does before switching to a restored instance. The
checks must also catch a copy whose invariants are broken."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from datetime import timedelta
from io import StringIO
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from bookings.services.blocks import block_create
from bookings.services.stays import booking_create
from integrations.models import PushOutbox
from tests.conftest import make_tenant
from tests.integrations.conftest import make_partner

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _tool(name: str) -> str:
    found = shutil.which(name) or f"/usr/lib/postgresql/15/bin/{name}"
    if not os.path.exists(found):
        pytest.skip(f"{name} is not installed")
    return found


def _url(name: str) -> str:
    db = connection.settings_dict
    auth = quote(db["USER"] or "postgres")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"])
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"


@pytest.fixture
def restored(tmp_path: Path) -> Iterator[str]:
    """A fresh database restored from a pg_dump of the test database; its URL."""
    source = connection.settings_dict["NAME"]
    copy = f"{source}_restore_{uuid.uuid4().hex[:8]}"
    dump = tmp_path / "holidesk.dump"
    env = {**os.environ, "PGPASSWORD": connection.settings_dict["PASSWORD"] or ""}
    subprocess.run(
        [_tool("pg_dump"), "--format=custom", f"--file={dump}", _url(source)],
        check=True,
        env=env,
        capture_output=True,
    )
    with psycopg.connect(_url("postgres"), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{copy}"')
    try:
        subprocess.run(
            [
                _tool("pg_restore"),
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                f"--dbname={_url(copy)}",
                str(dump),
            ],
            check=True,
            env=env,
            capture_output=True,
        )
        yield _url(copy)
    finally:
        with psycopg.connect(_url("postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')


@pytest.fixture
def live_data() -> None:
    """A business with confirmed stays (their messages scheduled), a block, and a
    partner channel with a pending push."""
    tenant = make_tenant("drill")
    make_partner(tenant, endpoint="https://partner.example.com/hook")
    start = tenant.prop.local_today() + timedelta(days=20)
    for n in range(3):
        check_in = start + timedelta(days=n * 5)
        booking_create(
            property=tenant.prop,
            check_in=check_in,
            check_out=check_in + timedelta(days=3),
            source="direct",
            guest_name=f"Guest {n}",
            guest_email=f"guest{n}@example.com",
        )
    block_create(
        property=tenant.prop, start=start + timedelta(days=40), end=start + timedelta(days=42)
    )
    assert PushOutbox.objects.filter(status="pending").exists()


def _check(url: str) -> str:
    out = StringIO()
    call_command("check_invariants", "--database-url", url, stdout=out)
    return out.getvalue()


def test_a_restored_copy_passes_every_invariant_check(live_data: None, restored: str) -> None:
    output = _check(restored)
    assert "All invariants hold." in output
    for name in (
        "no-overlapping-stays",
        "stays-have-messages",
        "outbox-keys-unique",
        "one-pending-push",
    ):
        assert f"ok    {name}" in output


def test_the_checks_fail_on_a_copy_whose_invariants_are_broken(
    live_data: None, restored: str
) -> None:
    with psycopg.connect(restored, autocommit=True) as copy:
        # Overlap: drop the exclusion constraint and double-book the first stay.
        copy.execute("ALTER TABLE bookings_booking DROP CONSTRAINT booking_no_overlap")
        copy.execute(
            """
            INSERT INTO bookings_booking
              (reference, business_id, property_id, stay, status, kind, source, guest_name,
               guest_email, guest_phone, guests, note, price_breakdown, total, amount_paid,
               amount_refunded, currency, created_at, updated_at)
            SELECT 'HD-DRILL1', business_id, property_id, stay, 'confirmed', 'stay', 'direct',
                   '', '', '', 1, '', '{}', 0, 0, 0, currency, now(), now()
            FROM bookings_booking WHERE guest_email = 'guest0@example.com'
            """
        )
        # A confirmed stay loses its welcome message.
        copy.execute(
            """
            DELETE FROM messaging_scheduledmessage
            WHERE kind = 'welcome' AND recipient = 'guest1@example.com'
            """
        )
        # A second row with an existing outbox key, and a second pending push.
        copy.execute(
            "ALTER TABLE messaging_scheduledmessage "
            "DROP CONSTRAINT messaging_scheduledmessage_key_key"
        )
        copy.execute(
            """
            INSERT INTO messaging_scheduledmessage
              (business_id, booking_id, kind, recipient, recipient_name, key, send_at,
               priority, state, context, attempts, last_error, needs_review, message_id,
               provider_message_id, created_at, updated_at)
            SELECT business_id, booking_id, kind, recipient, recipient_name, key, send_at,
                   priority, state, context, attempts, last_error, needs_review, message_id,
                   provider_message_id, created_at, updated_at
            FROM messaging_scheduledmessage WHERE kind = 'confirmation' LIMIT 1
            """
        )
        copy.execute("DROP INDEX push_one_pending_per_listing")
        copy.execute(
            """
            INSERT INTO integrations_pushoutbox
              (business_id, push_id, channel_id, listing_id, kind, status, attempts,
               next_attempt_at, last_error, created_at, updated_at)
            SELECT business_id, 'out_drill', channel_id, listing_id, kind, status, 0,
                   next_attempt_at, '', now(), now()
            FROM integrations_pushoutbox WHERE status = 'pending' LIMIT 1
            """
        )

    with pytest.raises(CommandError) as failure:
        _check(restored)
    message = str(failure.value)
    for name in (
        "no-overlapping-stays",
        "stays-have-messages",
        "outbox-keys-unique",
        "one-pending-push",
    ):
        assert name in message
    # The live database was never touched.
    assert "All invariants hold." in _check(_url(connection.settings_dict["NAME"]))


def test_check_invariants_refuses_a_database_it_cannot_reach() -> None:
    with pytest.raises(CommandError, match="Cannot connect"):
        _check("postgres://nobody@127.0.0.1:1/none")
    with pytest.raises(Exception, match="postgres"):
        _check("mysql://x/y")
