"""Quotes: night-by-night prices, seasonal rules, discounts, fees, taxes, rounding."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from bookings.errors import BeyondHorizon, InvalidDates, MaximumStay, MinimumStay, TooManyGuests
from bookings.pricing import quote
from properties.models import Property, SeasonalRate
from properties.money import from_minor_units, round_money, to_minor_units
from tests.conftest import Tenant

TODAY = date(2030, 1, 1)


@pytest.fixture
def prop(tenant: Tenant) -> Property:
    p = tenant.prop
    p.base_price = Decimal("100.00")
    p.cleaning_fee = Decimal("50.00")
    p.tax_percent = Decimal("10.00")
    p.save()
    return p


def _rate(
    prop: Property, name: str, start: date, end: date, price: str, min_nights: int | None = None
) -> SeasonalRate:
    return SeasonalRate.objects.create(
        business=prop.business,
        property=prop,
        name=name,
        start=start,
        end=end,
        nightly_price=Decimal(price),
        min_nights=min_nights,
    )


def test_plain_quote(prop: Property) -> None:
    q = quote(prop, date(2030, 2, 1), date(2030, 2, 4), 2, today=TODAY)
    assert [n.price for n in q.nights] == [Decimal("100.00")] * 3
    assert q.subtotal == Decimal("300.00")
    assert q.cleaning_fee == Decimal("50.00")
    assert q.tax == Decimal("35.00")
    assert q.total == Decimal("385.00")
    assert q.lines[0] == {"label": "3 nights × 100.00 (Standard)", "amount": "300.00"}  # noqa: RUF001
    assert {"label": "Taxes (10%)", "amount": "35.00"} in q.lines


def test_seasonal_rates_night_by_night_latest_start_wins(prop: Property) -> None:
    _rate(prop, "July", date(2030, 7, 1), date(2030, 8, 1), "180.00")
    _rate(prop, "Festival", date(2030, 7, 3), date(2030, 7, 5), "250.00")
    q = quote(prop, date(2030, 6, 30), date(2030, 7, 6), 2, today=TODAY)
    assert [(n.date.day, n.price, n.rate) for n in q.nights] == [
        (30, Decimal("100.00"), "Standard"),
        (1, Decimal("180.00"), "July"),
        (2, Decimal("180.00"), "July"),
        (3, Decimal("250.00"), "Festival"),
        (4, Decimal("250.00"), "Festival"),
        (5, Decimal("180.00"), "July"),
    ]


def test_seasonal_minimum_stay_is_named(prop: Property) -> None:
    _rate(prop, "July", date(2030, 7, 1), date(2030, 8, 1), "180.00", min_nights=3)
    with pytest.raises(MinimumStay, match="Minimum 3 nights for arrivals in July"):
        quote(prop, date(2030, 7, 10), date(2030, 7, 12), 2, today=TODAY)
    assert quote(prop, date(2030, 6, 29), date(2030, 7, 1), 2, today=TODAY).night_count == 2


@pytest.mark.parametrize(
    ("nights", "label", "discount"),
    [
        (6, "", "0.00"),
        (7, "Weekly discount (10%)", "70.00"),
        (28, "Monthly discount (25%)", "700.00"),
    ],
)
def test_length_of_stay_discounts(prop: Property, nights: int, label: str, discount: str) -> None:
    prop.weekly_discount_percent = Decimal("10")
    prop.monthly_discount_percent = Decimal("25")
    prop.save()
    q = quote(prop, date(2030, 3, 1), date(2030, 3, 1) + timedelta(days=nights), 2, today=TODAY)
    assert q.discount == Decimal(discount)
    assert q.discount_label == label
    expected = (Decimal(100 * nights) - Decimal(discount) + 50) * Decimal("1.1")
    assert q.total == round_money(expected, "EUR")


def test_zero_decimal_currency_rounds_to_whole_units(prop: Property) -> None:
    prop.business.currency = "JPY"
    prop.business.save()
    prop.base_price = Decimal("12345")
    prop.cleaning_fee = Decimal("3000")
    prop.tax_percent = Decimal("8.5")
    prop.save()
    q = quote(prop, date(2030, 2, 1), date(2030, 2, 3), 2, today=TODAY)
    assert q.tax == Decimal("2354.00")  # 27,690 x 8.5% = 2,353.65: whole yen, half up
    assert q.total == q.subtotal + q.cleaning_fee + q.tax
    assert to_minor_units(q.total, "JPY") == int(q.total)


def test_minor_units() -> None:
    assert to_minor_units(Decimal("12.34"), "EUR") == 1234
    assert to_minor_units(Decimal("1234"), "JPY") == 1234
    assert from_minor_units(1234, "JPY") == Decimal("1234.00")
    assert from_minor_units(1234, "GBP") == Decimal("12.34")
    with pytest.raises(ValueError, match="precision"):
        to_minor_units(Decimal("12.5"), "JPY")


@pytest.mark.parametrize(
    ("check_in", "check_out", "guests", "error", "message"),
    [
        (date(2030, 2, 3), date(2030, 2, 1), 2, InvalidDates, "Check-out must be after check-in."),
        (date(2029, 12, 30), date(2030, 1, 2), 2, InvalidDates, "Check-in cannot be in the past."),
        (date(2030, 2, 1), date(2030, 2, 3), 9, TooManyGuests, "sleeps at most 4"),
        (date(2030, 2, 1), date(2030, 2, 3), 0, TooManyGuests, "at least 1 guest"),
        (date(2031, 8, 1), date(2031, 8, 3), 2, BeyondHorizon, "Bookings open up to"),
        (date(2030, 2, 1), date(2030, 6, 1), 2, MaximumStay, "longest stay"),
    ],
)
def test_rules_broken_are_named(
    prop: Property, check_in: date, check_out: date, guests: int, error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        quote(prop, check_in, check_out, guests, today=TODAY)
