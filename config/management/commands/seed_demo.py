"""`manage.py seed_demo [--json] [--channel-endpoint URL]`: demo data, idempotently.

Each app seeds its own part in `<app>/demo.py`, in dependency order: properties
(businesses, owners, properties), then bookings, messaging and integrations. An app's
`seed(seeded, channel_endpoint=...)` creates what is missing; its optional
`describe(entry, demo)` adds its part to the printed JSON (see the API contract).
"""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from bookings import demo as booking_demo
from integrations import demo as integration_demo
from messaging import demo as messaging_demo
from properties import demo as property_demo
from properties.urls_util import app_url, business_site_url

APP_DEMOS: list[ModuleType] = [booking_demo, messaging_demo, integration_demo]


class Command(BaseCommand):
    help = "Create the demo businesses (seaside, alpine) and print their logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")
        parser.add_argument(
            "--channel-endpoint",
            default=None,
            help="Set every demo channel's outbound endpoint URL to this.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            seeded = property_demo.seed_businesses()
            for module in APP_DEMOS:
                module.seed(seeded, channel_endpoint=options["channel_endpoint"])
        result: dict[str, Any] = {"app_url": app_url(), "businesses": []}
        for demo in seeded:
            business = demo.business
            entry: dict[str, Any] = {
                "slug": business.slug,
                "site_url": business_site_url(business),
                "owner": {
                    "email": demo.owner.email,
                    "password": demo.password,
                    "api_token": demo.api_token,
                },
                "properties": [{"id": prop.pk, "name": prop.name} for prop in demo.properties],
            }
            for module in APP_DEMOS:
                describe = getattr(module, "describe", None)
                if describe is not None:
                    describe(entry, demo)
            result["businesses"].append(entry)
        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2))
            return
        self.stdout.write(
            f"Holidesk demo data is ready. Owners sign in at {result['app_url']}/dashboard/"
        )
        for entry in result["businesses"]:
            owner = entry["owner"]
            self.stdout.write(
                f"  {entry['slug']:<8} site {entry['site_url']}\n"
                f"           owner {owner['email']} / {owner['password']}\n"
                f"           API token {owner['api_token']}"
            )
