"""Quotes: the night-by-night price of a stay and the rules it must satisfy.

Dates are property-local calendar dates; "today" is today where the property is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext, ngettext

from bookings.errors import (
    AdvanceNotice,
    MaximumStay,
    MinimumStay,
    TooManyGuests,
)
from bookings.rules import stay_dates_check, stay_span_check
from properties.dates import format_day
from properties.models import Property, SeasonalRate
from properties.money import round_money

HUNDRED = Decimal(100)
WEEK, MONTH = 7, 28


@dataclass(frozen=True)
class Night:
    date: date
    price: Decimal
    rate: str  # "Standard" or the seasonal rule's name


@dataclass(frozen=True)
class Quote:
    property_id: int
    check_in: date
    check_out: date
    guests: int
    currency: str
    nights: list[Night]
    subtotal: Decimal
    discount: Decimal
    discount_label: str
    cleaning_fee: Decimal
    tax: Decimal
    tax_percent: Decimal
    total: Decimal
    lines: list[dict[str, str]] = field(default_factory=list)

    @property
    def night_count(self) -> int:
        return len(self.nights)

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe form, stored on the booking as its price breakdown."""
        return {
            "currency": self.currency,
            "check_in": self.check_in.isoformat(),
            "check_out": self.check_out.isoformat(),
            "guests": self.guests,
            "nights": [
                {"date": n.date.isoformat(), "price": str(n.price), "rate": n.rate}
                for n in self.nights
            ],
            "subtotal": str(self.subtotal),
            "discount": str(self.discount),
            "discount_label": self.discount_label,
            "cleaning_fee": str(self.cleaning_fee),
            "tax_percent": str(self.tax_percent),
            "tax": str(self.tax),
            "total": str(self.total),
            "lines": self.lines,
        }


def rate_for(night: date, rates: list[SeasonalRate]) -> SeasonalRate | None:
    # Overlapping rules: the one that starts latest is the more specific one.
    best = None
    for rate in rates:
        if rate.start <= night < rate.end and (best is None or rate.start >= best.start):
            best = rate
    return best


def _percent(value: Decimal) -> str:
    """10.00 -> '10', 12.50 -> '12.5'."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _fmt(day: date) -> str:
    return format_day(day, "j M Y")


def check_rules(
    *,
    prop: Property,
    check_in: date,
    check_out: date,
    guests: int,
    rates: list[SeasonalRate],
    today: date | None = None,
) -> None:
    """Raise the first rule the stay breaks, with a message naming it."""
    today = today or prop.local_today()
    stay_dates_check(property=prop, check_in=check_in, check_out=check_out, today=today)
    if guests < 1:
        raise TooManyGuests(
            gettext("A stay needs at least 1 guest."), fields={"guests": ["at least 1"]}
        )
    if guests > prop.max_guests:
        raise TooManyGuests(
            gettext("%(name)s sleeps at most %(guests)d.")
            % {"name": prop.name, "guests": prop.max_guests},
            fields={"guests": [f"at most {prop.max_guests}"]},
        )
    earliest = today + timedelta(days=prop.advance_notice_days)
    if check_in < earliest:
        raise AdvanceNotice(
            ngettext(
                "%(name)s needs %(days)d day's notice: the earliest check-in is %(day)s.",
                "%(name)s needs %(days)d days' notice: the earliest check-in is %(day)s.",
                prop.advance_notice_days,
            )
            % {"name": prop.name, "days": prop.advance_notice_days, "day": _fmt(earliest)},
            fields={"check_in": [f"on or after {earliest.isoformat()}"]},
        )
    nights = (check_out - check_in).days
    if nights > prop.max_nights:
        raise MaximumStay(
            ngettext(
                "The longest stay at %(name)s is %(nights)d night.",
                "The longest stay at %(name)s is %(nights)d nights.",
                prop.max_nights,
            )
            % {"name": prop.name, "nights": prop.max_nights},
            fields={"check_out": [f"at most {prop.max_nights} nights"]},
        )
    arrival_rule = rate_for(check_in, rates)
    minimum, reason = prop.min_nights, ""
    if arrival_rule and arrival_rule.min_nights and arrival_rule.min_nights > minimum:
        minimum, reason = arrival_rule.min_nights, arrival_rule.name
    if nights < minimum:
        message = (
            ngettext(
                "Minimum %(nights)d night for arrivals in %(season)s.",
                "Minimum %(nights)d nights for arrivals in %(season)s.",
                minimum,
            )
            if reason
            else ngettext("Minimum %(nights)d night.", "Minimum %(nights)d nights.", minimum)
        )
        raise MinimumStay(
            message % {"nights": minimum, "season": reason},
            fields={"check_out": [f"at least {minimum} nights"]},
            minimum_nights=minimum,
        )


def rates_for(prop: Property, start: date, end: date) -> list[SeasonalRate]:
    return list(SeasonalRate.objects.filter(property=prop, start__lt=end, end__gt=start))


def price_nights(
    prop: Property, check_in: date, check_out: date, rates: Iterable[SeasonalRate]
) -> list[Night]:
    rate_list = list(rates)
    nights = []
    day = check_in
    while day < check_out:
        rule = rate_for(day, rate_list)
        nights.append(
            Night(
                day,
                rule.nightly_price if rule else prop.base_price,
                rule.name if rule else "Standard",
            )
        )
        day += timedelta(days=1)
    return nights


def quote(
    prop: Property,
    check_in: date,
    check_out: date,
    guests: int,
    *,
    enforce_rules: bool = True,
    today: date | None = None,
    rates: list[SeasonalRate] | None = None,
) -> Quote:
    """The price of a stay, or a RuleViolation naming the rule it breaks. Without
    `enforce_rules` only the engine's date limits apply (no range is priced that no
    stay could have). `rates`: the property's seasonal rates overlapping the stay, when
    the caller already has them (a page of search results prices many at once)."""
    stay_span_check(check_in=check_in, check_out=check_out, today=today or prop.local_today())
    if rates is None:
        rates = rates_for(prop, check_in, check_out)
    if enforce_rules:
        check_rules(
            prop=prop,
            check_in=check_in,
            check_out=check_out,
            guests=guests,
            rates=rates,
            today=today,
        )
    currency = prop.business.currency
    nights = price_nights(prop, check_in, check_out, rates)
    subtotal = sum((n.price for n in nights), Decimal(0))
    discount, label = Decimal(0), ""
    if len(nights) >= MONTH and prop.monthly_discount_percent:
        discount = subtotal * prop.monthly_discount_percent / HUNDRED
        label = gettext("Monthly discount (%(percent)s%%)") % {
            "percent": _percent(prop.monthly_discount_percent)
        }
    elif len(nights) >= WEEK and prop.weekly_discount_percent:
        discount = subtotal * prop.weekly_discount_percent / HUNDRED
        label = gettext("Weekly discount (%(percent)s%%)") % {
            "percent": _percent(prop.weekly_discount_percent)
        }
    discount = round_money(discount, currency)
    cleaning = round_money(prop.cleaning_fee, currency)
    taxable = subtotal - discount + cleaning
    tax = round_money(taxable * prop.tax_percent / HUNDRED, currency)
    total = round_money(taxable + tax, currency)
    lines = _lines(nights, currency)
    if discount:
        lines.append({"label": label, "amount": str(-discount)})
    if cleaning:
        lines.append({"label": gettext("Cleaning fee"), "amount": str(cleaning)})
    if tax:
        taxes = gettext("Taxes (%(percent)s%%)") % {"percent": _percent(prop.tax_percent)}
        lines.append({"label": taxes, "amount": str(tax)})
    return Quote(
        property_id=prop.pk,
        check_in=check_in,
        check_out=check_out,
        guests=guests,
        currency=currency,
        nights=nights,
        subtotal=round_money(subtotal, currency),
        discount=discount,
        discount_label=label,
        cleaning_fee=cleaning,
        tax=tax,
        tax_percent=prop.tax_percent,
        total=total,
        lines=lines,
    )


def _lines(nights: list[Night], currency: str) -> list[dict[str, str]]:
    """'3 nights x 120.00 (Standard)' lines: consecutive nights at one price grouped."""
    groups: list[tuple[str, Decimal, int]] = []
    for night in nights:
        if groups and groups[-1][0] == night.rate and groups[-1][1] == night.price:
            groups[-1] = (night.rate, night.price, groups[-1][2] + 1)
        else:
            groups.append((night.rate, night.price, 1))
    return [
        {
            "label": ngettext(
                "%(count)d night × %(price)s (%(rate)s)",  # noqa: RUF001
                "%(count)d nights × %(price)s (%(rate)s)",  # noqa: RUF001
                count,
            )
            % {"count": count, "price": price, "rate": rate},
            "amount": str(round_money(price * count, currency)),
        }
        for rate, price, count in groups
    ]
