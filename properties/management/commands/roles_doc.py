"""Write docs/roles.md from the permission module (or check that it is up to date)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from properties.roles_doc import render

DOC = Path(settings.BASE_DIR) / "docs" / "roles.md"


class Command(BaseCommand):
    help = "Write docs/roles.md from properties/permissions.py and the URL conf."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--check", action="store_true", help="Fail if docs/roles.md is out of date."
        )

    def handle(self, *args: Any, check: bool = False, **options: Any) -> None:
        text = render()
        if check:
            if not DOC.exists() or DOC.read_text() != text:
                raise CommandError("docs/roles.md is out of date: run `manage.py roles_doc`.")
            self.stdout.write("docs/roles.md is up to date.")
            return
        DOC.write_text(text)
        self.stdout.write(f"Wrote {DOC}.")
