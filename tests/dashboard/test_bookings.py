"""The bookings list (search, filters, pages, CSV) and one booking: its money, its
emails and cleaning, and the owner's cancel-with-refund in two steps."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bookings.dashboard import views
from bookings.dashboard.selectors import upcoming_first
from bookings.models import Booking
from bookings.payments.models import Refund
from messaging.models import ScheduledMessage
from tests.conftest import Tenant
from tests.dashboard.conftest import Day, business_today, make_busy_day, paid, stay
from tests.factories import PropertyFactory


def rows_of(html: str) -> str:
    return html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""


def test_search_finds_by_guest_name_email_and_reference(owner: Client, day: Day) -> None:
    assert "Ada Lovelace" in rows_of(owner.get("/dashboard/bookings/?q=lovel").content.decode())
    by_email = rows_of(owner.get("/dashboard/bookings/?q=alan@example").content.decode())
    assert "Alan Turing" in by_email
    assert "Ada Lovelace" not in by_email
    ref = day.arriving.reference.lower()
    assert "Ada Lovelace" in rows_of(owner.get(f"/dashboard/bookings/?q={ref}").content.decode())


def test_filters_narrow_by_property_status_source_and_dates(owner: Client, day: Day) -> None:
    hill = day.staying.property
    html = rows_of(owner.get(f"/dashboard/bookings/?property={hill.pk}").content.decode())
    assert "Alan Turing" in html
    assert "Ada Lovelace" not in html
    assert "Blocked" in html
    html = rows_of(owner.get("/dashboard/bookings/?source=airbnb").content.decode())
    assert "Grace Hopper" in html
    assert "Ada Lovelace" not in html
    html = rows_of(owner.get("/dashboard/bookings/?kind=owner_block").content.decode())
    assert "Blocked" in html
    assert "Alan Turing" not in html
    start = day.today + timedelta(days=9)
    html = rows_of(
        owner.get(
            f"/dashboard/bookings/?start={start}&end={start + timedelta(days=5)}"
        ).content.decode()
    )
    assert "Blocked" in html
    assert "Ada Lovelace" not in html
    html = rows_of(owner.get("/dashboard/bookings/?when=past").content.decode())
    assert html == ""


def test_bad_filters_are_reported_not_a_crash(owner: Client, day: Day) -> None:
    response = owner.get("/dashboard/bookings/?start=31-31-2020&status=bogus&property=abc&page=zzz")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="error"' in html
    assert "Ada Lovelace" in html  # the valid part of the search still applies


def test_another_business_bookings_never_appear(owner: Client, day: Day, outsider: Tenant) -> None:
    stay(outsider.prop, day.today + timedelta(days=3), 2, name="Outside Person")
    assert "Outside Person" not in owner.get("/dashboard/bookings/?when=all").content.decode()
    csv_body = b"".join(owner.get("/dashboard/bookings/export.csv?when=all").streaming_content)
    assert b"Outside Person" not in csv_body
    html = owner.get(f"/dashboard/bookings/?property={outsider.prop.pk}").content.decode()
    assert "Outside Person" not in html


def test_the_list_pages_fifty_at_a_time(owner: Client, tenant: Tenant) -> None:
    start = business_today(tenant.business) + timedelta(days=1)
    for n in range(55):
        stay(tenant.prop, start + timedelta(days=2 * n), 2, name=f"Guest Number{n:02d}")
    first = owner.get("/dashboard/bookings/").content.decode()
    assert "55 bookings, page 1 of 2" in first
    assert "Guest Number00" in first
    assert "Guest Number54" not in first
    second = owner.get("/dashboard/bookings/?page=2").content.decode()
    assert "Guest Number54" in second
    assert "Guest Number00" not in second


def test_csv_export_has_the_filtered_bookings_and_defuses_formulas(
    owner: Client, tenant: Tenant
) -> None:
    start = business_today(tenant.business) + timedelta(days=3)
    stay(tenant.prop, start, 2, name="=HYPERLINK(evil) Person")
    stay(tenant.prop, start + timedelta(days=5), 2, name="Plain Person", source="airbnb")
    response = owner.get("/dashboard/bookings/export.csv?source=direct")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["guest_name"] for r in rows] == ["'=HYPERLINK(evil) Person"]
    assert rows[0]["check_in"] == start.isoformat()
    assert rows[0]["nights"] == "2"


def test_booking_page_shows_guest_price_money_emails_and_cleaning(owner: Client, day: Day) -> None:
    paid(day.arriving)
    html = owner.get(f"/dashboard/bookings/{day.arriving.reference}/").content.decode()
    assert "ada@example.com" in html
    assert "4 nights × 100.00 (Standard)" in html  # noqa: RUF001
    assert "€450.00" in html
    assert '"nights"' not in html  # no raw JSON
    assert 'id="emails"' in html
    assert "550 mailbox unavailable" in html
    assert "Send again" in html
    assert "Key code for the guest" in html
    assert "Maria Cleaner" in html
    assert "Cleaner accepted" in html


def test_a_partner_stay_is_read_only_with_the_reason(owner: Client, day: Day) -> None:
    html = owner.get(f"/dashboard/bookings/{day.departing.reference}/").content.decode()
    assert "Read-only here." in html
    assert "change or cancel it on Airbnb" in html
    assert "Cancel booking…" not in html
    response = owner.post(
        f"/dashboard/bookings/{day.departing.reference}/cancel/",
        {"refund": "full", "expected_full": "0", "expected_policy": "0"},
    )
    assert response.status_code == 302
    day.departing.refresh_from_db()
    assert day.departing.status == Booking.Status.CONFIRMED


def test_cancel_shows_the_refund_then_cancels_and_refunds_on_confirmation(
    owner: Client, tenant: Tenant, settings: object
) -> None:
    settings.PAYMENTS_BACKEND = "fake"  # type: ignore[attr-defined]
    start = business_today(tenant.business) + timedelta(days=30)
    booking = stay(tenant.prop, start, 3)
    paid(booking)
    url = f"/dashboard/bookings/{booking.reference}/cancel/"
    preview = owner.get(url)
    assert preview.status_code == 200
    html = preview.content.decode()
    assert "€350.00" in html  # everything paid, back in full
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED  # looking changes nothing

    response = owner.post(
        url,
        {
            "refund": "full",
            "expected_full": "350.00",
            "expected_policy": "350.00",
            "reason": "Roof leak",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == f"/dashboard/bookings/{booking.reference}/"
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert "Roof leak" in booking.note
    refund = Refund.objects.get(booking=booking)
    assert refund.amount == Decimal("350.00")
    assert refund.status == Refund.Status.SUCCEEDED
    page = owner.get(response["Location"]).content.decode()
    assert "is on its way back to the guest" in page


def test_cancel_under_the_policy_refunds_the_policy_share(
    owner: Client, tenant: Tenant, settings: object
) -> None:
    settings.PAYMENTS_BACKEND = "fake"  # type: ignore[attr-defined]
    start = business_today(tenant.business) + timedelta(days=2)  # moderate: half back
    booking = stay(tenant.prop, start, 3)
    paid(booking)
    url = f"/dashboard/bookings/{booking.reference}/cancel/"
    assert "€175.00" in owner.get(url).content.decode()
    owner.post(url, {"refund": "policy", "expected_full": "350.00", "expected_policy": "175.00"})
    assert Refund.objects.get(booking=booking).amount == Decimal("175.00")


def test_a_refund_that_moved_since_the_preview_asks_again(owner: Client, tenant: Tenant) -> None:
    booking = stay(tenant.prop, business_today(tenant.business) + timedelta(days=30), 3)
    paid(booking)
    response = owner.post(
        f"/dashboard/bookings/{booking.reference}/cancel/",
        {"refund": "full", "expected_full": "100.00", "expected_policy": "100.00"},
    )
    assert response.status_code == 409
    assert "refund changed" in response.content.decode()
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    assert not Refund.objects.exists()


def test_a_cancel_without_a_choice_is_a_form_error(owner: Client, tenant: Tenant) -> None:
    booking = stay(tenant.prop, business_today(tenant.business) + timedelta(days=30), 3)
    response = owner.post(f"/dashboard/bookings/{booking.reference}/cancel/", {"refund": "all"})
    assert response.status_code == 400
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED


def test_a_cancelled_booking_cannot_be_cancelled_again(owner: Client, tenant: Tenant) -> None:
    booking = stay(tenant.prop, business_today(tenant.business) + timedelta(days=30), 3)
    url = f"/dashboard/bookings/{booking.reference}/cancel/"
    owner.post(url, {"refund": "full", "expected_full": "0", "expected_policy": "0"})
    response = owner.get(url)
    assert response.status_code == 302
    assert "nothing to cancel" in owner.get(response["Location"]).content.decode()


def test_an_owner_block_is_removed_from_its_page(owner: Client, day: Day) -> None:
    html = owner.get(f"/dashboard/bookings/{day.block.reference}/").content.decode()
    assert "Remove this block" in html
    response = owner.post(f"/dashboard/bookings/{day.block.reference}/remove-block/")
    assert response.status_code == 302
    day.block.refresh_from_db()
    assert day.block.status == Booking.Status.CANCELLED


def test_a_failed_email_is_sent_again_from_the_booking_page(owner: Client, day: Day) -> None:
    response = owner.post(f"/dashboard/messages/{day.failed_email.pk}/send-again/")
    assert response.status_code == 302
    assert response["Location"].endswith(f"/dashboard/bookings/{day.arriving.reference}/#emails")
    day.failed_email.refresh_from_db()
    assert day.failed_email.state == ScheduledMessage.State.SCHEDULED


def test_list_and_booking_pages_cost_the_same_queries_for_a_busier_business(
    tenant: Tenant, outsider: Tenant
) -> None:
    small = make_busy_day(tenant)
    big = make_busy_day(outsider, extra_properties=6)
    for n in range(10):
        prop = PropertyFactory(business=outsider.business)
        booking = stay(prop, big.today + timedelta(days=20 + n), 2)
        paid(booking)
    paid(big.arriving)
    paid(small.arriving)

    def count(t: Tenant, url: str) -> int:
        client = t.admin_client()
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    assert count(outsider, "/dashboard/bookings/") == count(tenant, "/dashboard/bookings/")
    assert count(outsider, f"/dashboard/bookings/{big.arriving.reference}/") == count(
        tenant, f"/dashboard/bookings/{small.arriving.reference}/"
    )


def test_stays_under_way_come_first_by_start_then_the_coming_ones_page_by_page(
    tenant: Tenant, outsider: Tenant
) -> None:
    today = business_today(tenant.business)
    one, two, three = tenant.prop, *(PropertyFactory(business=tenant.business) for _ in range(2))
    stay(three, today - timedelta(days=6), 2, name="Gone Before")  # past: not listed
    started_3 = stay(one, today - timedelta(days=3), 4, name="Started Three")
    started_1 = stay(two, today - timedelta(days=1), 3, name="Started One")
    leaving = stay(three, today - timedelta(days=2), 2, name="Leaving Today")
    arriving = stay(three, today, 2, name="Arriving Today")
    coming_1 = stay(one, today + timedelta(days=1), 2, name="Coming One")
    coming_5 = stay(two, today + timedelta(days=5), 2, name="Coming Five")
    stay(outsider.prop, today - timedelta(days=1), 3, name="Outside Person")
    expired = stay(one, today + timedelta(days=9), 2, name="Abandoned Checkout")
    Booking.objects.filter(pk=expired.pk).update(status=Booking.Status.EXPIRED)
    order = [started_3, leaving, started_1, arriving, coming_1, coming_5]

    listed = upcoming_first(business=tenant.business, today=today, cap=100)

    assert listed.count() == len(order)
    assert [b.pk for b in listed[0:10]] == [b.pk for b in order]
    for start in range(len(order)):
        page = listed[start : start + 2]
        assert [b.pk for b in page] == [b.pk for b in order[start : start + 2]]
    assert upcoming_first(business=tenant.business, today=today, cap=3).count() == 4
    html = rows_of(tenant.admin_client().get("/dashboard/bookings/").content.decode())
    assert html.index("Started Three") < html.index("Leaving Today") < html.index("Coming Five")
    assert "Outside Person" not in html


def test_a_text_search_is_counted_no_further_than_its_cap(
    owner: Client, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "SEARCH_CAP", 3)
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    start = business_today(tenant.business) + timedelta(days=1)
    for n in range(5):
        stay(tenant.prop, start + timedelta(days=2 * n), 1, name=f"Searched Person{n}")
    searched = owner.get("/dashboard/bookings/?q=searched&when=all").content.decode()
    assert "More than 3 bookings: narrow the search to see them all, page 1 of 2" in searched
    assert "Searched Person4" in searched  # newest first
    # Without a text the list is counted to the end, as before.
    listed = owner.get("/dashboard/bookings/?when=all").content.decode()
    assert "5 bookings, page 1 of 3" in listed
