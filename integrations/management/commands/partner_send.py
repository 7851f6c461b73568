"""`manage.py partner_send <channel_id>`: send a signed sample event to a channel's
events URL, as a partner would, and print the answer. For owners testing a setup."""

from __future__ import annotations

import json
import secrets
from datetime import date, timedelta
from typing import Any

import requests
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from integrations import signatures
from integrations.models import Channel, ListingLink
from integrations.services.channels import channel_events_url, channel_inbound_secrets

TYPES = ("reservation.created", "reservation.modified", "reservation.cancelled", "message.created")


def sample_event(
    event_type: str, listing_id: str, reservation_id: str, revision: int, start: Any
) -> dict[str, Any]:
    now = timezone.now()
    event_id = "evt_" + secrets.token_hex(8)
    occurred = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    if event_type == "message.created":
        data: dict[str, Any] = {
            "reservation_id": reservation_id,
            "message_id": "msg_" + secrets.token_hex(6),
            "sender": "guest",
            "body": "Hello! What time can we check in?",
            "sent_at": occurred,
        }
    elif event_type == "reservation.cancelled":
        data = {"reservation_id": reservation_id, "revision": revision, "listing_id": listing_id}
    else:
        data = {
            "reservation_id": reservation_id,
            "revision": revision,
            "listing_id": listing_id,
            "check_in": start.isoformat(),
            "check_out": (start + timedelta(days=3)).isoformat(),
            "guests": 2,
            "guest": {"name": "Ada Lovelace", "email": "ada@example.com", "phone": "+441234567890"},
            "total": {"amount": "450.00", "currency": "EUR"},
        }
    return {"id": event_id, "type": event_type, "occurred_at": occurred, "data": data}


class Command(BaseCommand):
    help = "Send a signed sample partner event to a channel and print the answer."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("channel_id", help="The channel's public id (ch_...).")
        parser.add_argument("--type", default="reservation.created", choices=TYPES)
        parser.add_argument("--listing", default=None, help="listing_id (default: the first).")
        parser.add_argument("--reservation", default=None, help="reservation_id to use.")
        parser.add_argument("--revision", type=int, default=1)
        parser.add_argument("--check-in", default=None, help="YYYY-MM-DD (default: in 60 days).")
        parser.add_argument("--url", default=None, help="Events URL (default: this app's).")
        parser.add_argument("--dry-run", action="store_true", help="Print, do not send.")

    def handle(self, *args: Any, **options: Any) -> None:
        channel = Channel.objects.filter(public_id=options["channel_id"]).first()
        if channel is None:
            raise CommandError(f"No channel {options['channel_id']!r}.")
        listing_id = options["listing"]
        if listing_id is None:
            link = ListingLink.objects.filter(channel=channel).order_by("id").first()
            if link is None:
                raise CommandError("The channel has no listing; give --listing.")
            listing_id = link.listing_id
        start = timezone.now().date() + timedelta(days=60)
        if options["check_in"]:
            start = date.fromisoformat(options["check_in"])
        reservation_id = options["reservation"] or "HM" + secrets.token_hex(4).upper()
        event = sample_event(
            options["type"], listing_id, reservation_id, options["revision"], start
        )
        body = json.dumps(event).encode()
        signature = signatures.sign(channel_inbound_secrets(channel)[0], body)
        url = options["url"] or channel_events_url(channel)
        self.stdout.write(f"POST {url}\n{signatures.HEADER}: {signature}\n{body.decode()}")
        if options["dry_run"]:
            return
        try:
            response = requests.post(
                url,
                data=body,
                headers={"Content-Type": "application/json", signatures.HEADER: signature},
                timeout=10,
            )
        except requests.RequestException as exc:
            raise CommandError(f"Could not reach {url}: {exc}") from exc
        self.stdout.write(f"-> HTTP {response.status_code} {response.text}")
