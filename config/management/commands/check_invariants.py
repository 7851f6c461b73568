"""`manage.py check_invariants [--database-url URL]`: check the data's invariants.

Run against a restored copy before switching to it (docs/runbook.md), or against the
live database. Prints one line per check and exits non-zero if any fails.
"""

from __future__ import annotations

from typing import Any

import psycopg
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.utils import timezone

from config.env import database_from_url
from config.invariants import Result, check_all


class Command(BaseCommand):
    help = "Check the data's invariants (no overlapping stays, messages, outbox keys)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--database-url",
            default="",
            help="postgres:// URL of the database to check (default: the app's own).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        today = timezone.now().date()
        url: str = options["database_url"]
        if url:
            database_from_url(url)  # refuses anything but a postgres:// URL
            try:
                with psycopg.connect(url, connect_timeout=10) as conn, conn.cursor() as cursor:
                    results = check_all(cursor, today=today)
            except psycopg.OperationalError as exc:
                raise CommandError(f"Cannot connect to the database: {exc}") from exc
        else:
            with connection.cursor() as cursor:
                results = check_all(cursor, today=today)
        self._report(results)

    def _report(self, results: list[Result]) -> None:
        for result in results:
            if result.ok:
                self.stdout.write(f"ok    {result.name}: {result.description}")
            else:
                examples = "; ".join(", ".join(map(str, row)) for row in result.offenders)
                self.stdout.write(f"FAIL  {result.name}: {result.description} (e.g. {examples})")
        failed = [result.name for result in results if not result.ok]
        if failed:
            raise CommandError(f"Invariants broken: {', '.join(failed)}")
        self.stdout.write("All invariants hold.")
