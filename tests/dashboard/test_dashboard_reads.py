"""The dashboard's reads that were reshaped for scale still answer the same: a stay's
emails include its cleaner's, Today's totals count beyond the rows shown, a channel's
counts are not multiplied by its listings, Today's stay lists find the right guests."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from bookings.dashboard.selectors import calendar_bookings, stays_around
from integrations.dashboard.selectors import channel_problems, channels_health
from integrations.models import ListingLink, PushOutbox
from messaging.dashboard.selectors import booking_messages, messages_in_trouble
from messaging.models import Kind, ScheduledMessage
from properties.dashboard.reads import first_with_total
from tests.conftest import Tenant
from tests.dashboard.conftest import Day, stay
from tests.factories import PropertyFactory


def test_a_stays_emails_include_the_cleaning_job_after_it_and_nothing_else(day: Day) -> None:
    emails = list(booking_messages(day.departing))
    assert {m.booking_id for m in emails if m.booking_id} == {day.departing.pk}
    cleaning = [m for m in emails if m.turnover_id]
    assert cleaning
    assert {m.turnover.booking_id for m in cleaning} == {day.departing.pk}


def test_totals_count_beyond_the_rows_shown(day: Day) -> None:
    business = day.tenant.business
    for n in range(6):
        ScheduledMessage.objects.create(
            business=business,
            booking=day.arriving,
            kind=Kind.REMINDER,
            recipient="ada@example.com",
            key=f"test:failed:{n}",
            send_at=timezone.now() - timedelta(hours=3 + n),
            state=ScheduledMessage.State.FAILED,
        )
    rows, total = messages_in_trouble(business=business, now=timezone.now())
    assert len(rows) == 5
    assert total == 7
    assert first_with_total(ScheduledMessage.objects.none(), 5) == ([], 0)


def test_a_channels_counts_are_its_own_whatever_its_listings(day: Day) -> None:
    business = day.tenant.business
    for n in range(3):
        ListingLink.objects.create(
            business=business,
            channel=day.channel,
            listing_id=f"L-extra-{n}",
            property=PropertyFactory(business=business),
        )
    PushOutbox.objects.create(
        business=business,
        channel=day.channel,
        listing=ListingLink.objects.filter(channel=day.channel).first(),
        kind=PushOutbox.Kind.LISTING,
        status=PushOutbox.Status.DEAD,
        next_attempt_at=timezone.now(),
    )
    (health,) = channels_health(business=business)
    (trouble,) = [r for r in channel_problems(business=business) if r["kind"] == "channel"]
    assert (health.dead, health.listings, health.pending) == (2, 4, 0)
    assert (trouble["kind"], trouble["dead"]) == ("channel", 2)


def test_todays_lists_and_the_calendar_find_the_right_stays(day: Day, outsider: Tenant) -> None:
    # Another business's guests on the same days are not this business's.
    stay(outsider.prop, day.today, 2, name="Other Arrival")
    today = day.today
    around = stays_around(business=day.tenant.business, day=today)
    assert around.arriving == [day.arriving]
    assert around.departing == [day.departing]
    assert around.in_house == [day.staying]
    month = calendar_bookings(
        business=day.tenant.business,
        start=today - timedelta(days=5),
        end=today + timedelta(days=20),
    )
    assert {b.pk for b in month} == {
        day.departing.pk,
        day.arriving.pk,
        day.staying.pk,
        day.block.pk,
    }
