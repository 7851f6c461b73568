from __future__ import annotations

from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from properties.money import format_money


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (Decimal("95.00"), "GBP", "£95.00"),
        (Decimal("1234.5"), "EUR", "€1,234.50"),
        (Decimal("12000.00"), "JPY", "¥12,000"),
        (Decimal("-20.00"), "USD", "\u2212$20.00"),
        (Decimal("1499.00"), "SEK", "1,499.00 SEK"),
        (None, "EUR", ""),
    ],
)
def test_format_money(amount: Decimal | None, currency: str, shown: str) -> None:
    assert format_money(amount, currency) == shown


def test_money_filter_in_templates() -> None:
    template = Template("{% load money %}{{ amount|money:currency }}")
    assert template.render(Context({"amount": Decimal("95"), "currency": "GBP"})) == "£95.00"
    assert template.render(Context({"amount": "garbage", "currency": "GBP"})) == "garbage GBP"


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (Decimal("550"), "EUR", "550,00 €"),
        (Decimal("1234.5"), "EUR", "1.234,50 €"),
        (Decimal("12000"), "JPY", "12.000 ¥"),
        (Decimal("-20"), "CHF", "\u221220,00 CHF"),
    ],
)
def test_format_money_in_german(amount: Decimal, currency: str, shown: str) -> None:
    with translation.override("de"):
        assert format_money(amount, currency) == shown
    assert format_money(amount, currency) != shown  # English again outside
