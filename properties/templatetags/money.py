"""`{% load money %}` then `{{ amount|money:currency }}` -> "£1,234.50"."""

from __future__ import annotations

from decimal import InvalidOperation
from typing import Any

from django import template

from properties.money import format_money

register = template.Library()


@register.filter
def money(amount: Any, currency: str) -> str:
    try:
        return format_money(amount, currency or "")
    except (InvalidOperation, ValueError, TypeError):
        return "" if amount is None else f"{amount} {currency}"
