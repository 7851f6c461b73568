"""Today: each app's panel shows its items, links to where they are acted on, and the
page costs the same number of queries however busy the business is."""

from __future__ import annotations

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from messaging.models import KeyCode, Turnover
from tests.conftest import Tenant
from tests.dashboard.conftest import Day, make_busy_day
from tests.factories import BusinessFactory, MembershipFactory


def test_today_shows_arrivals_with_key_code_and_cleaner_answer(owner: Client, day: Day) -> None:
    response = owner.get("/dashboard/")
    assert response.status_code == 200
    html = response.content.decode()
    code = KeyCode.objects.get(turnover__next_booking=day.arriving)
    arrivals = html.split('id="panel-arrivals"', 1)[1].split("</section>", 1)[0]
    assert "Ada Lovelace" in arrivals
    assert reverse("dashboard:booking-detail", args=[day.arriving.reference]) in arrivals
    assert f"Key code {code.code}" in arrivals
    assert "Cleaner accepted" in arrivals


def test_today_shows_departures_in_house_and_cleaning(owner: Client, day: Day) -> None:
    html = owner.get("/dashboard/").content.decode()
    departures = html.split('id="panel-departures"', 1)[1].split("</section>", 1)[0]
    assert "Grace Hopper" in departures
    in_house = html.split('id="panel-in_house"', 1)[1].split("</section>", 1)[0]
    assert "Alan Turing" in in_house
    cleaning = html.split('id="panel-cleaning"', 1)[1].split("</section>", 1)[0]
    assert "Sea View" in cleaning
    assert "Maria Cleaner" in cleaning
    assert "Cleaner accepted" in cleaning


def test_today_lists_what_needs_attention(owner: Client, day: Day) -> None:
    html = owner.get("/dashboard/").content.decode()
    conflicts = html.split('id="panel-conflicts"', 1)[1].split("</section>", 1)[0]
    assert "Linus Partner" in conflicts
    assert reverse("dashboard:conflict", args=[day.conflict.public_id]) in conflicts
    emails = html.split('id="panel-emails"', 1)[1].split("</section>", 1)[0]
    assert "550 mailbox unavailable" in emails
    refunds = html.split('id="panel-refunds"', 1)[1].split("</section>", 1)[0]
    assert "Card expired" in refunds
    assert reverse("dashboard:booking-detail", args=[day.departing.reference]) in refunds
    channels = html.split('id="panel-channels"', 1)[1].split("</section>", 1)[0]
    assert "1 push gave up" in channels
    assert "Feed answered 404" in channels


def test_a_quiet_day_says_nothing_needs_attention(owner: Client, tenant: Tenant) -> None:
    html = owner.get("/dashboard/").content.decode()
    assert "Nothing needs you right now" in html
    assert "No arrivals today." in html
    assert 'id="panel-conflicts"' not in html


def test_a_new_business_is_shown_its_first_steps(db: None) -> None:
    membership = MembershipFactory(business=BusinessFactory(name="Fresh Start"))
    client = Client(HTTP_HOST="localhost")
    client.force_login(membership.user)
    html = client.get("/dashboard/").content.decode()
    assert "Set up Fresh Start" in html
    first = html.index("Add your first property")
    assert first < html.index("Connect a channel") < html.index("Connect Stripe")
    assert reverse("dashboard:property-new") in html


def test_setup_steps_disappear_once_done(owner: Client, day: Day) -> None:
    from bookings.payments.models import StripeAccount

    StripeAccount.objects.create(business=day.tenant.business, account_id="acct_seaside")
    assert "Set up " not in owner.get("/dashboard/").content.decode()


def test_today_costs_the_same_queries_for_a_busier_business(
    tenant: Tenant, outsider: Tenant
) -> None:
    make_busy_day(tenant)
    make_busy_day(outsider, extra_properties=6)
    Turnover.objects.update(state=Turnover.State.PENDING)

    def count(t: Tenant) -> int:
        client = t.admin_client()
        client.get("/dashboard/")  # warm the session
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/dashboard/").status_code == 200
        return len(queries)

    assert count(outsider) == count(tenant)
