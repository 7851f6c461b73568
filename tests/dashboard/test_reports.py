"""Reports: occupancy, nights, revenue, ADR and RevPAR on a hand-built data set whose
answers are worked out here; the CSV of each table; charts readable without sight;
isolation between businesses; a constant number of queries."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bookings.models import Booking
from bookings.reports import occupancy_report
from bookings.services.blocks import block_create
from bookings.services.cancellation import booking_cancel_without_refund
from bookings.services.stays import booking_create
from properties.models import Property
from tests.conftest import Tenant
from tests.dashboard.conftest import business_today
from tests.factories import PropertyFactory


def september(tenant: Tenant) -> date:
    """September of next year: 30 nights, and in the future whenever the tests run."""
    return date(business_today(tenant.business).year + 1, 9, 1)


def stay(prop: Property, start: date, nights: int, total: str, source: str = "direct") -> Booking:
    return booking_create(
        property=prop,
        check_in=start,
        check_out=start + timedelta(days=nights),
        source=source,
        guest_name="Guest",
        guest_email="guest@example.com",
        total=Decimal(total),
    )


def hand_built_month(tenant: Tenant) -> date:
    """One property, September (30 nights):

    - 1-5 Sep, 4 nights, direct, 400.00
    - 10-15 Sep, 5 nights, Airbnb, 600.00
    - 28 Sep-4 Oct, 6 nights, Booking.com, 600.00: 3 nights (300.00) in each month
    - 20-25 Sep, an owner block of 5 nights
    - 16-18 Sep cancelled, 25-27 Sep a hold: neither counts

    September: 30 nights, 5 blocked, 25 bookable, 12 sold -> occupancy 48.0%;
    revenue 1,300.00; ADR 1,300 / 12 = 108.33; RevPAR 1,300 / 25 = 52.00.
    """
    prop = tenant.prop
    Property.objects.filter(pk=prop.pk).update(name="Sea View")
    prop.refresh_from_db()
    sep = september(tenant)
    stay(prop, sep, 4, "400.00")
    stay(prop, sep + timedelta(days=9), 5, "600.00", source="airbnb")
    stay(prop, sep + timedelta(days=27), 6, "600.00", source="booking")
    block_create(property=prop, start=sep + timedelta(days=19), end=sep + timedelta(days=24))
    cancelled = stay(prop, sep + timedelta(days=15), 2, "250.00")
    booking_cancel_without_refund(booking=cancelled, by_owner=True)
    Booking.objects.create(
        business=prop.business,
        property=prop,
        stay=(sep + timedelta(days=24), sep + timedelta(days=26)),
        status=Booking.Status.HELD,
        hold_expires_at=timezone.now() + timedelta(minutes=30),
        total=Decimal("300.00"),
        currency="EUR",
    )
    return sep


def report_url(start: date, end: date | None = None, **extra: object) -> str:
    end = end or start
    query = f"start={start:%Y-%m}&end={end:%Y-%m}"
    for key, value in extra.items():
        query += f"&{key}={value}"
    return f"/dashboard/reports/?{query}"


def csv_rows(response: object) -> list[dict[str, str]]:
    body = response.content.decode()  # type: ignore[attr-defined]
    return list(csv.DictReader(io.StringIO(body)))


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_a_hand_built_month_gives_exact_occupancy_adr_and_revpar(
    owner: Client, tenant: Tenant
) -> None:
    sep = hand_built_month(tenant)
    response = owner.get(report_url(sep))
    assert response.status_code == 200
    total = response.context["report"].total
    assert (total.available, total.blocked, total.bookable, total.sold) == (30, 5, 25, 12)
    assert total.occupancy_percent == Decimal("48.0")
    assert total.revenue == Decimal("1300.00")
    assert total.adr == Decimal("108.33")
    assert total.revpar == Decimal("52.00")
    assert total.stays == 3
    page = text_of(response.content.decode())
    assert "48.0%" in page
    assert "€1,300.00" in page
    assert "€108.33" in page
    assert "€52.00" in page
    assert "12 of 25 bookable nights sold" in page


def test_a_stay_across_two_months_counts_in_each_for_its_nights(
    owner: Client, tenant: Tenant
) -> None:
    sep = hand_built_month(tenant)
    october = date(sep.year, 10, 1)
    report = owner.get(report_url(sep, october)).context["report"]
    oct_figures = report.by_month[october]
    assert (oct_figures.available, oct_figures.sold, oct_figures.blocked) == (31, 3, 0)
    assert oct_figures.revenue == Decimal("300.00")
    assert oct_figures.adr == Decimal("100.00")
    assert oct_figures.revpar == Decimal("9.68")  # 300 / 31
    assert report.by_month[sep].revenue == Decimal("1300.00")
    total = report.total
    assert (total.available, total.bookable, total.sold) == (61, 56, 15)
    assert total.revenue == Decimal("1600.00")
    assert total.occupancy_percent == Decimal("26.8")  # 15 / 56
    assert total.adr == Decimal("106.67")  # 1600 / 15
    assert total.revpar == Decimal("28.57")  # 1600 / 56
    # By source, in the order of revenue (then nights sold); the block sells nothing.
    sources = {s: (f.sold, f.blocked, f.revenue, f.stays) for s, f in report.by_source.items()}
    assert list(sources) == ["booking", "airbnb", "direct", "owner"]
    assert sources["booking"] == (6, 0, Decimal("600.00"), 1)
    assert sources["owner"] == (0, 5, Decimal("0.00"), 0)
    assert report.by_month_source[(sep, "booking")].revenue == Decimal("300.00")


def test_revenue_shares_add_up_to_the_stay_total(tenant: Tenant) -> None:
    """100.00 over 3 nights, one in September and two in October: 33.33 + 66.67."""
    sep = september(tenant)
    stay(tenant.prop, sep + timedelta(days=29), 3, "100.00")
    october = date(sep.year, 10, 1)
    report = occupancy_report(
        business=tenant.business, start=sep, end=date(sep.year, 11, 1), property=None
    )
    assert report.by_month[sep].revenue == Decimal("33.33")
    assert report.by_month[october].revenue == Decimal("66.67")
    assert report.total.revenue == Decimal("100.00")


def test_properties_and_their_months_are_reported_side_by_side(
    owner: Client, tenant: Tenant
) -> None:
    sep = hand_built_month(tenant)
    hill = PropertyFactory(business=tenant.business, name="Hill Barn")
    stay(hill, sep, 15, "1500.00")
    response = owner.get(report_url(sep))
    report = response.context["report"]
    assert report.by_property[hill.pk].occupancy_percent == Decimal("50.0")
    assert report.total.available == 60
    assert report.total.sold == 27
    assert report.by_property_month[(hill.pk, sep)].revpar == Decimal("50.00")
    html = response.content.decode()
    assert 'class="num heat-3">50.0%' in html  # the property x month table
    # One property alone.
    only = owner.get(report_url(sep, property=hill.pk)).context["report"]
    assert only.total.available == 30
    assert only.total.revenue == Decimal("1500.00")


def test_csv_of_each_table(owner: Client, tenant: Tenant) -> None:
    sep = hand_built_month(tenant)
    query = f"?start={sep:%Y-%m}&end={sep.year}-10"
    response = owner.get(f"/dashboard/reports/months.csv{query}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert f"-months-{sep:%Y%m}-{sep.year}10.csv" in response["Content-Disposition"]
    months = csv_rows(response)
    assert [m["month"] for m in months] == [f"{sep:%Y-%m}", f"{sep.year}-10"]
    assert months[0] == {
        "month": f"{sep:%Y-%m}",
        "nights_available": "30",
        "nights_blocked": "5",
        "nights_bookable": "25",
        "nights_sold": "12",
        "occupancy_percent": "48.0",
        "revenue": "1300.00",
        "adr": "108.33",
        "revpar": "52.00",
        "currency": "EUR",
    }
    sources = csv_rows(owner.get(f"/dashboard/reports/sources.csv{query}"))
    assert [(s["source"], s["nights_sold"], s["revenue"]) for s in sources] == [
        ("Booking.com", "6", "600.00"),
        ("Airbnb", "5", "600.00"),
        ("Direct", "4", "400.00"),
        ("Owner", "0", "0.00"),
    ]
    assert sources[0]["revenue_share_percent"] == "37.5"
    assert sources[3]["nights_blocked"] == "5"
    properties = csv_rows(owner.get(f"/dashboard/reports/properties.csv{query}"))
    assert [(p["property"], p["nights_sold"], p["revenue"]) for p in properties] == [
        ("Sea View", "15", "1600.00")
    ]
    grid = csv_rows(owner.get(f"/dashboard/reports/property-months.csv{query}"))
    assert [(g["month"], g["occupancy_percent"]) for g in grid] == [
        (f"{sep:%Y-%m}", "48.0"),
        (f"{sep.year}-10", "9.7"),
    ]
    by_source = csv_rows(owner.get(f"/dashboard/reports/month-sources.csv{query}"))
    assert {(r["month"], r["source"], r["revenue"]) for r in by_source} >= {
        (f"{sep:%Y-%m}", "Booking.com", "300.00"),
        (f"{sep.year}-10", "Booking.com", "300.00"),
    }
    assert owner.get(f"/dashboard/reports/bogus.csv{query}").status_code == 404


def test_csv_defuses_formulas_in_property_names(owner: Client, tenant: Tenant) -> None:
    Property.objects.filter(pk=tenant.prop.pk).update(name="=HYPERLINK(evil)")
    rows = csv_rows(owner.get("/dashboard/reports/properties.csv"))
    assert rows[0]["property"] == "'=HYPERLINK(evil)"


def test_the_default_period_is_the_last_twelve_months(owner: Client, tenant: Tenant) -> None:
    today = business_today(tenant.business)
    report = owner.get("/dashboard/reports/").context["report"]
    assert len(report.months) == 12
    assert report.months[-1] == today.replace(day=1)
    assert report.months[0].month == (today.month % 12) + 1


def test_a_bad_period_is_a_form_error(owner: Client, tenant: Tenant) -> None:
    for query, message in (
        ("start=2026-13&end=2026-12", "Enter a month as YYYY-MM"),
        ("start=2026-06&end=2026-01", "Pick a month after the first one."),
        ("start=2020-01&end=2026-01", "at most 36 months"),
    ):
        response = owner.get(f"/dashboard/reports/?{query}")
        assert response.status_code == 400, query
        assert message in response.content.decode(), query
        assert owner.get(f"/dashboard/reports/months.csv?{query}").status_code == 400


def test_blocks_by_source_and_other_currencies_are_shown_apart(
    owner: Client, tenant: Tenant
) -> None:
    sep = september(tenant)
    block_create(
        property=tenant.prop,
        start=sep,
        end=sep + timedelta(days=3),
        kind=Booking.Kind.PARTNER_BLOCK,
        source=Booking.Source.ICAL,
    )
    booking_create(
        property=tenant.prop,
        check_in=sep + timedelta(days=5),
        check_out=sep + timedelta(days=7),
        source="booking",
        total=Decimal("500.00"),
        currency="USD",
    )
    response = owner.get(report_url(sep))
    total = response.context["report"].total
    assert (total.blocked, total.sold, total.unpriced) == (3, 2, 2)
    assert total.revenue == Decimal("0.00")
    assert total.adr is None  # no sold night has revenue in EUR
    page = text_of(response.content.decode())
    assert "2 nights sold in another currency than EUR" in page
    assert "iCal" in page


def test_charts_are_images_with_a_title_each_followed_by_its_table(
    owner: Client, tenant: Tenant
) -> None:
    sep = hand_built_month(tenant)
    PropertyFactory(business=tenant.business, name="Hill Barn")
    html = owner.get(report_url(sep)).content.decode()
    charts = re.findall(r'<svg class="chart" role="img" aria-labelledby="([^"]+)"', html)
    assert len(charts) == 4
    for labels in charts:
        title_id, desc_id = labels.split()
        assert f'<title id="{title_id}">' in html
        assert f'<desc id="{desc_id}">' in html
        after = html.split(f'<title id="{title_id}">', 1)[1]
        if "<svg" in after:
            assert after.index("<table") < after.index("<svg")
        else:
            assert "<table" in after
    assert "style=" not in html  # colours come from classes (no inline style)


def test_another_business_sees_neither_these_numbers_nor_its_properties(
    owner: Client, outsider_client: Client, tenant: Tenant, outsider: Tenant
) -> None:
    sep = hand_built_month(tenant)
    response = outsider_client.get(report_url(sep))
    assert response.status_code == 200
    assert response.context["report"].total.sold == 0
    assert "Sea View" not in response.content.decode()
    for url in (
        report_url(sep, property=tenant.prop.pk),
        f"/dashboard/reports/months.csv?property={tenant.prop.pk}",
    ):
        assert outsider_client.get(url).status_code == 404, url
    assert owner.get(report_url(sep, property="x")).status_code == 404
    assert owner.get(report_url(sep, property=outsider.prop.pk)).status_code == 404


def test_reports_need_a_signed_in_member(anonymous: Client) -> None:
    for url in ("/dashboard/reports/", "/dashboard/reports/months.csv"):
        response = anonymous.get(url)
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


def test_a_business_without_properties_is_told_what_to_do(owner: Client, tenant: Tenant) -> None:
    Property.objects.filter(pk=tenant.prop.pk).delete()
    response = owner.get("/dashboard/reports/")
    assert response.status_code == 200
    assert "No properties yet" in response.content.decode()
    assert owner.get("/dashboard/reports/months.csv").status_code == 200


def busy_year(tenant: Tenant, properties: int) -> None:
    start = business_today(tenant.business).replace(day=1) - timedelta(days=300)
    sources = ["direct", "airbnb", "booking", "vrbo", "owner"]
    for n in range(properties):
        prop = PropertyFactory(business=tenant.business, name=f"Cottage {n}")
        for i in range(8):
            stay(prop, start + timedelta(days=20 * i + n), 5, "500.00", source=sources[i % 5])
        block_create(
            property=prop, start=start + timedelta(days=200), end=start + timedelta(days=203)
        )


@pytest.mark.parametrize("url", ["/dashboard/reports/", "/dashboard/reports/sources.csv"])
def test_the_number_of_queries_does_not_grow_with_the_business(
    owner: Client, tenant: Tenant, url: str
) -> None:
    stay(tenant.prop, business_today(tenant.business) - timedelta(days=40), 3, "300.00")
    owner.get(url)  # warm up: session, sites, content types
    with CaptureQueriesContext(connection) as small:
        assert owner.get(url).status_code == 200
    busy_year(tenant, properties=6)
    with CaptureQueriesContext(connection) as large:
        response = owner.get(url)
    assert response.status_code == 200
    assert len(large) == len(small), [q["sql"][:120] for q in large.captured_queries]
    if url.endswith(".csv"):
        assert len(csv_rows(response)) == 5  # direct, airbnb, booking, vrbo, owner
    else:
        assert response.context["report"].total.stays == 49


def test_one_end_of_the_period_gives_twelve_months_from_it(owner: Client, tenant: Tenant) -> None:
    response = owner.get("/dashboard/reports/?start=2026-03")
    report = response.context["report"]
    assert (report.months[0], report.months[-1]) == (date(2026, 3, 1), date(2027, 2, 1))
    assert 'value="2027-02"' in response.content.decode()  # the form shows it
