"""Conflicts side by side with their consequences, resolved through the conflict
service; channels with their last exchanges, dead letters re-driven."""

from __future__ import annotations

from django.test import Client

from bookings.models import Booking
from integrations.models import BookingConflict, Channel, ListingLink, PushOutbox
from tests.conftest import Tenant
from tests.dashboard.conftest import Day, paid


def test_conflicts_page_lists_open_conflicts(owner: Client, day: Day) -> None:
    html = owner.get("/dashboard/conflicts/").content.decode()
    assert "Linus Partner" in html
    assert "Sea View" in html
    assert f"/dashboard/conflicts/{day.conflict.public_id}/" in html


def test_a_conflict_shows_both_stays_and_what_each_choice_does(owner: Client, day: Day) -> None:
    paid(day.arriving)
    html = owner.get(f"/dashboard/conflicts/{day.conflict.public_id}/").content.decode()
    assert "Already on your calendar" in html
    assert "Ada Lovelace" in html
    assert "HMX-42" in html
    assert "Linus Partner" in html
    assert "€480.00" in html
    assert f"{day.arriving.reference} (Ada Lovelace, Direct) is cancelled" in html
    assert "€450.00 is refunded in full" in html


def test_keeping_the_existing_stay_closes_the_conflict_and_changes_nothing(
    owner: Client, day: Day
) -> None:
    response = owner.post(
        f"/dashboard/conflicts/{day.conflict.public_id}/", {"action": "keep_existing"}
    )
    assert response.status_code == 302
    day.conflict.refresh_from_db()
    assert day.conflict.status == BookingConflict.Status.RESOLVED
    day.arriving.refresh_from_db()
    assert day.arriving.status == Booking.Status.CONFIRMED
    assert "No double bookings to resolve" in owner.get("/dashboard/conflicts/").content.decode()


def test_taking_the_partner_stay_cancels_the_existing_one(
    owner: Client, day: Day, settings: object
) -> None:
    settings.PAYMENTS_BACKEND = "fake"  # type: ignore[attr-defined]
    owner.post(f"/dashboard/conflicts/{day.conflict.public_id}/", {"action": "take_partner"})
    day.arriving.refresh_from_db()
    assert day.arriving.status == Booking.Status.CANCELLED
    assert Booking.objects.filter(guest_name="Linus Partner", status="confirmed").exists()


def test_an_unknown_resolution_changes_nothing(owner: Client, day: Day) -> None:
    response = owner.post(
        f"/dashboard/conflicts/{day.conflict.public_id}/", {"action": "drop_table"}
    )
    assert response.status_code == 302
    day.conflict.refresh_from_db()
    assert day.conflict.status == BookingConflict.Status.OPEN


def test_a_resolved_conflict_cannot_be_resolved_twice(owner: Client, day: Day) -> None:
    url = f"/dashboard/conflicts/{day.conflict.public_id}/"
    owner.post(url, {"action": "done"})
    response = owner.post(url, {"action": "take_partner"})
    assert response.status_code == 302
    assert "already resolved" in owner.get(url).content.decode()
    day.arriving.refresh_from_db()
    assert day.arriving.status == Booking.Status.CONFIRMED


def test_channels_page_shows_health_dead_letters_and_feeds(owner: Client, day: Day) -> None:
    Channel.objects.filter(pk=day.channel.pk).update(last_push_error="HTTP 503 from partner")
    html = owner.get("/dashboard/channels/").content.decode()
    assert f'id="channel-{day.channel.public_id}"' in html
    assert "1 push gave up" in html
    assert "Send the current calendar again" in html
    assert "HTTP 503 from partner" in html
    assert f'id="feed-{day.feed.pk}"' in html
    assert "Failing (3)" in html


def test_a_dead_letter_is_redriven_with_the_current_state(owner: Client, day: Day) -> None:
    dead = PushOutbox.objects.get(status=PushOutbox.Status.DEAD)
    response = owner.post("/dashboard/channels/redrive/", {"push": [dead.pk]})
    assert response.status_code == 302
    dead.refresh_from_db()
    assert dead.status == PushOutbox.Status.SUPERSEDED
    assert PushOutbox.objects.filter(
        listing=dead.listing, status=PushOutbox.Status.PENDING
    ).exists()


def test_another_business_dead_letters_are_not_redriven(outsider_client: Client, day: Day) -> None:
    dead = PushOutbox.objects.get(status=PushOutbox.Status.DEAD)
    outsider_client.post("/dashboard/channels/redrive/", {"push": [dead.pk, "x"]})
    dead.refresh_from_db()
    assert dead.status == PushOutbox.Status.DEAD


def test_a_business_without_channels_is_shown_how_to_connect_one(
    owner: Client, tenant: Tenant
) -> None:
    html = owner.get("/dashboard/channels/").content.decode()
    assert "No channels yet" in html
    assert "/admin/integrations/channel/add/" in html
    assert not ListingLink.objects.exists()
