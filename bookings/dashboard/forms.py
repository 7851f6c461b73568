"""Forms of the bookings pages: they shape input; the services decide."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.html import conditional_escape, escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from bookings.dashboard.selectors import WHEN_CHOICES
from bookings.models import Booking
from bookings.payments.models import Payment
from properties.models import Property

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _attrs(attrs: dict[str, Any]) -> SafeString:
    """django/forms/widgets/attrs.html: ` name="value"`, ` name` for True, nothing for
    False."""
    return format_html_join(
        "",
        "{}",
        (
            (format_html(" {}", name) if value is True else format_html(' {}="{}"', name, value),)
            for name, value in attrs.items()
            if value is not False
        ),
    )


class QuickSelect(forms.Select):
    """A select spelled in Python, as Django's select templates spell it: the filters'
    property list renders one template per option otherwise (options without groups)."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        # Django's optgroups() makes a dict of attributes per option: a hotel's 400 rooms
        # took longer than the rest of the form. The same markup, spelled directly.
        if any(isinstance(label, list | tuple) for _, label in self.choices):
            return self._render_groups(name, value, attrs)
        widget = forms.Widget.get_context(self, name, value, attrs)["widget"]
        if self.allow_multiple_selected:
            widget["attrs"]["multiple"] = True
        chosen = set(widget["value"])
        parts = []
        has_selected = False
        for option_value, label in self.choices:
            key = "" if option_value is None else str(option_value)
            selected = (not has_selected or self.allow_multiple_selected) and key in chosen
            has_selected |= selected
            parts.append(
                f'\n  <option value="{escape(key)}"{" selected" if selected else ""}>'
                f"{conditional_escape(str(label))}</option>\n"
            )
        return format_html(
            '<select name="{}"{}>{}\n</select>',
            widget["name"],
            _attrs(widget["attrs"]),
            mark_safe("".join(parts)),  # noqa: S308 (escaped above)
        )

    def _render_groups(self, name: str, value: Any, attrs: dict[str, Any] | None) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        options = format_html_join(
            "",
            '\n  <option value="{}"{}>{}</option>\n',
            (
                (str(option["value"]), _attrs(option["attrs"]), option["label"])
                for _, group, _ in widget["optgroups"]
                for option in group
            ),
        )
        return format_html(
            '<select name="{}"{}>{}\n</select>', widget["name"], _attrs(widget["attrs"]), options
        )


class DateRangeForm(forms.Form):
    """A form whose `end` must come after its `start`, when both are given."""

    end_not_after_start = "Pick a day after the first one."

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if isinstance(start, date) and isinstance(end, date) and end <= start:
            self.add_error("end", self.end_not_after_start)
        return data


class BlockForm(DateRangeForm):
    """Close nights on one property. `end` is the day the property is free again,
    like a check-out day."""

    end_not_after_start = "Pick a day after the first night."

    property = forms.TypedChoiceField(label="Property", coerce=int, widget=QuickSelect)
    start = forms.DateField(label="First night", widget=DATE_INPUT)
    end = forms.DateField(
        label="Free again on",
        widget=DATE_INPUT,
        help_text="The day after the last blocked night.",
    )
    kind = forms.ChoiceField(
        label="Reason",
        choices=[
            (Booking.Kind.OWNER_BLOCK, "Owner use"),
            (Booking.Kind.MAINTENANCE, "Maintenance"),
        ],
        initial=Booking.Kind.OWNER_BLOCK,
    )
    note = forms.CharField(
        label="Note (only you see it)",
        required=False,
        max_length=2000,
    )

    def __init__(self, *args: Any, properties: list[Property], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.properties = {prop.pk: prop for prop in properties}
        field = self.fields["property"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [(prop.pk, prop.name) for prop in properties]

    def chosen_property(self) -> Property:
        return self.properties[self.cleaned_data["property"]]


class BookingFilterForm(DateRangeForm):
    """The bookings list's search and filters (GET). Invalid values are reported and
    ignored, never a server error."""

    q = forms.CharField(label="Search", required=False, max_length=100)
    group = forms.ChoiceField(label="Group", required=False, widget=QuickSelect)
    property = forms.TypedChoiceField(
        label="Property", coerce=int, required=False, empty_value=None, widget=QuickSelect
    )
    status = forms.ChoiceField(
        label="Status",
        required=False,
        widget=QuickSelect,
        choices=[("", "Any status"), *Booking.Status.choices],
    )
    source = forms.ChoiceField(
        label="Source",
        required=False,
        widget=QuickSelect,
        choices=[("", "Any source"), *Booking.Source.choices],
    )
    kind = forms.ChoiceField(
        label="Type",
        required=False,
        widget=QuickSelect,
        choices=[("", "Stays and blocks"), *Booking.Kind.choices],
    )
    when = forms.ChoiceField(label="When", required=False, choices=WHEN_CHOICES, widget=QuickSelect)
    start = forms.DateField(label="Staying from", required=False, widget=DATE_INPUT)
    end = forms.DateField(label="until", required=False, widget=DATE_INPUT)

    def __init__(
        self,
        *args: Any,
        properties: list[Property],
        groups: list[tuple[str, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["property"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", "All properties"), *((p.pk, p.name) for p in properties)]
        if groups:
            group = self.fields["group"]
            assert isinstance(group, forms.ChoiceField)
            group.choices = [("", "All groups"), *groups]
        else:
            del self.fields["group"]

    def filters(self) -> tuple[str, dict[str, Any]]:
        """(search text, filters) from the valid fields only."""
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        filters = {
            name: data.get(name)
            for name in ("group", "property", "status", "source", "kind", "when", "start", "end")
            if name not in self.errors
        }
        return str(data.get("q") or ""), filters


class CancelForm(forms.Form):
    REFUND_CHOICES = [
        ("full", "Refund everything paid (you cancel)"),
        ("policy", "Refund under the cancellation policy (the guest asked to cancel)"),
    ]

    refund = forms.ChoiceField(
        label="Refund", choices=REFUND_CHOICES, widget=forms.RadioSelect, initial="full"
    )
    # The amounts the owner saw on the preview: if the quote has moved since (a policy
    # threshold passed, a payment arrived), they confirm again instead of being surprised.
    expected_full = forms.DecimalField(widget=forms.HiddenInput, required=False)
    expected_policy = forms.DecimalField(widget=forms.HiddenInput, required=False)
    reason = forms.CharField(
        label="Reason (kept on the booking)",
        required=False,
        max_length=300,
        widget=forms.TextInput(attrs={"placeholder": "e.g. the guest asked to cancel"}),
    )

    def policy_only(self) -> None:
        """For a member who may not refund beyond the policy (front desk)."""
        refund = self.fields["refund"]
        assert isinstance(refund, forms.ChoiceField)
        refund.choices = [c for c in self.REFUND_CHOICES if c[0] == "policy"]
        refund.initial = "policy"


MONEY_INPUT = forms.NumberInput(attrs={"step": "0.01", "min": "0.01", "inputmode": "decimal"})


class ChangeDatesForm(forms.Form):
    """Step 1 of a date change (GET): the dates to look at."""

    check_in = forms.DateField(label="New check-in", widget=DATE_INPUT)
    check_out = forms.DateField(label="New check-out", widget=DATE_INPUT)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("check_in"), data.get("check_out")
        if isinstance(start, date) and isinstance(end, date) and end <= start:
            self.add_error("check_out", "Pick a check-out after the check-in.")
        return data


class ConfirmDatesForm(ChangeDatesForm):
    """Step 2 (POST): the dates and the total the owner saw, and what to do with money
    paid beyond the new total."""

    SETTLE_CHOICES = [
        ("refund", "Refund the difference to the guest now"),
        ("keep", "Keep it for now (refund it later from the booking)"),
    ]

    check_in = forms.DateField(widget=forms.HiddenInput)
    check_out = forms.DateField(widget=forms.HiddenInput)
    expected_total = forms.DecimalField(widget=forms.HiddenInput, max_digits=12, decimal_places=2)
    settle = forms.ChoiceField(
        label="The guest paid more than the new total",
        choices=SETTLE_CHOICES,
        widget=forms.RadioSelect,
        initial="refund",
        required=False,
    )


class PartialRefundForm(forms.Form):
    amount = forms.DecimalField(
        label="Amount to refund",
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        widget=MONEY_INPUT,
    )
    reason = forms.CharField(
        label="Reason (kept with the refund)",
        max_length=300,
        widget=forms.TextInput(attrs={"placeholder": "e.g. the hot tub was out of order"}),
    )
    # What the owner saw as refundable: a second submit of the same form is refused.
    expected_refundable = forms.DecimalField(
        widget=forms.HiddenInput, max_digits=12, decimal_places=2
    )


class OfflinePaymentForm(forms.Form):
    amount = forms.DecimalField(
        label="Amount received",
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        widget=MONEY_INPUT,
    )
    method = forms.ChoiceField(
        label="Paid by",
        choices=Payment.Method.choices,
        widget=forms.RadioSelect,
        initial=Payment.Method.CASH,
    )
    note = forms.CharField(
        label="Note (only you see it)",
        required=False,
        max_length=300,
        widget=forms.TextInput(attrs={"placeholder": "e.g. paid at check-in"}),
    )
    expected_due = forms.DecimalField(widget=forms.HiddenInput, max_digits=12, decimal_places=2)
