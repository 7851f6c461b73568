"""Money helpers: amounts are Decimal in the business currency; Stripe wants minor units.

The single place that knows how many decimals a currency has.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.utils import translation

# ISO 4217 currencies without minor units, as Stripe lists them (zero-decimal currencies).
ZERO_DECIMAL_CURRENCIES = frozenset(
    {
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    }
)


def currency_exponent(currency: str) -> int:
    return 0 if currency.upper() in ZERO_DECIMAL_CURRENCIES else 2


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round to what the currency can pay: cents for EUR, whole yen for JPY."""
    exponent = currency_exponent(currency)
    quantum = Decimal(1).scaleb(-exponent)
    return amount.quantize(quantum, rounding=ROUND_HALF_UP).quantize(Decimal("0.01"))


def to_minor_units(amount: Decimal, currency: str) -> int:
    """Decimal amount -> integer minor units (cents; yen stay yen). Refuses to round."""
    exponent = currency_exponent(currency)
    scaled = amount.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} {currency} has more precision than the currency allows.")
    return int(scaled)


def from_minor_units(units: int, currency: str) -> Decimal:
    return (Decimal(units).scaleb(-currency_exponent(currency))).quantize(Decimal("0.01"))


# Prefix symbols for the currencies our businesses use most; others print their code.
CURRENCY_SYMBOLS = {"EUR": "€", "GBP": "£", "USD": "$", "JPY": "¥", "AUD": "A$", "CAD": "C$"}

# How a language writes amounts, where it differs from English ("£1,234.50"): its
# thousands separator and decimal mark, and the symbol after the number ("1.234,50 €").
NUMBER_STYLES = {"de": (".", ",")}


def format_money(amount: Decimal | int | str | None, currency: str, *, whole: bool = False) -> str:
    """An amount as visitors read it in the active language: "£1,234.50", "¥12,000",
    "1,234.50 SEK" in English, "1.234,50 £" in German; with `whole`, rounded to whole
    units ("£1,235"), as on a chart's axis."""
    if amount is None or amount == "":
        return ""
    value = Decimal(str(amount))
    exponent = 0 if whole else currency_exponent(currency)
    digits = f"{abs(value):,.{exponent}f}"
    sign = "\u2212" if value < 0 else ""  # a true minus sign
    symbol = CURRENCY_SYMBOLS.get(currency.upper())
    style = NUMBER_STYLES.get((translation.get_language() or "").split("-")[0])
    if style is not None:
        thousands, decimal_mark = style
        digits = digits.translate(str.maketrans(",.", thousands + decimal_mark))
        return f"{sign}{digits} {symbol or currency.upper()}"
    if symbol:
        return f"{sign}{symbol}{digits}"
    return f"{sign}{digits} {currency.upper()}"
