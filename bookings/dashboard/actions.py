"""The owner's actions on one stay, each a plain form with POST-redirect-GET: change the
dates (with the price difference first), refund part of what was paid, record a
payment taken offline. Pages shape input and show errors; the payment services decide.

A partner's stay is refused with the reason (the partner owns it), as is a stay not in
a state the action applies to. Bad input re-renders the form with its error (400),
dates already taken are a 409 with the stay in the way named, and nothing is written
either way."""

from __future__ import annotations

from decimal import Decimal
from typing import TypeVar

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from bookings.dashboard.forms import (
    ChangeDatesForm,
    ConfirmDatesForm,
    OfflinePaymentForm,
    PartialRefundForm,
)
from bookings.dashboard.slots import booking_lock_reason
from bookings.dashboard.views import booking_or_404, detail_url
from bookings.errors import BookingError, PriceChanged, StayUnavailable
from bookings.models import Booking
from bookings.payments.models import Refund
from bookings.payments.services.balance import amount_due, payment_record_offline
from bookings.payments.services.date_changes import (
    DateChangeQuote,
    booking_dates_change,
    date_change_quote,
)
from bookings.payments.services.refunds import booking_refund_partial, refundable
from properties.dashboard.access import Acting
from properties.dashboard.views import render_page
from properties.money import format_money


def _refuse(request: HttpRequest, booking: Booking, reason: str) -> HttpResponse:
    messages.error(request, reason)
    return redirect(detail_url(booking))


def _form_error(form: forms.Form, exc: BookingError) -> None:
    """Put a service's error on the fields it names (when the form has them)."""
    named = [name for name in exc.fields if name in form.fields and not form[name].is_hidden]
    if named:
        form.add_error(named[0], exc.message)
    else:
        form.add_error(None, exc.message)


# --- Change dates ---------------------------------------------------------------------


def booking_dates_page(request: HttpRequest, acting: Acting, reference: str) -> HttpResponse:
    """GET without dates: the form. GET with dates: the preview (free or not, the new
    total, the difference, what happens to the money, the emails and the cleaning).
    POST: the change, if the price is still the one shown."""
    booking = booking_or_404(acting, reference)
    locked = booking_lock_reason(booking)
    if locked:
        return _refuse(request, booking, locked)
    if booking.is_block or booking.status != Booking.Status.CONFIRMED:
        return _refuse(
            request,
            booking,
            f"Only a confirmed stay can change dates: {booking.reference} is "
            f"{booking.get_status_display().lower()}.",
        )
    if request.method == "POST":
        return _dates_confirm(request, acting, booking)
    asked = "check_in" in request.GET or "check_out" in request.GET
    form = ChangeDatesForm(
        request.GET if asked else None,
        initial={"check_in": booking.check_in, "check_out": booking.check_out},
    )
    preview, status = None, 200
    if asked:
        preview, status = _preview(form, booking)
    return _dates_render(request, acting, booking, form, preview, status=status)


def _preview(form: ChangeDatesForm, booking: Booking) -> tuple[DateChangeQuote | None, int]:
    if not form.is_valid():
        return None, 400
    try:
        preview = date_change_quote(
            booking=booking,
            check_in=form.cleaned_data["check_in"],
            check_out=form.cleaned_data["check_out"],
        )
    except BookingError as exc:
        _form_error(form, exc)
        return None, exc.http_status
    return preview, 200


def _dates_render(
    request: HttpRequest,
    acting: Acting,
    booking: Booking,
    form: ChangeDatesForm,
    preview: DateChangeQuote | None,
    *,
    confirm: ConfirmDatesForm | None = None,
    status: int = 200,
) -> HttpResponse:
    if preview is not None and confirm is None:
        confirm = ConfirmDatesForm(
            initial={
                "check_in": preview.check_in,
                "check_out": preview.check_out,
                "expected_total": preview.total,
                "settle": "refund",
            }
        )
    context = {
        "booking": booking,
        "form": form,
        "preview": preview,
        "confirm": confirm,
        "paid": booking.amount_paid - booking.amount_refunded,
    }
    return render_page(
        request, acting, "dashboard/bookings/change_dates.html", context, status=status
    )


def _dates_confirm(request: HttpRequest, acting: Acting, booking: Booking) -> HttpResponse:
    confirm = ConfirmDatesForm(request.POST)
    dates = ChangeDatesForm(request.POST)
    if not confirm.is_valid():
        dates.is_valid()
        if not dates.errors:
            dates.add_error(None, "The confirmation was incomplete: check the dates again.")
        return _dates_render(request, acting, booking, dates, None, status=400)
    data = confirm.cleaned_data
    try:
        change = booking_dates_change(
            booking=booking,
            check_in=data["check_in"],
            check_out=data["check_out"],
            expected_total=data["expected_total"],
            refund_overpayment=data.get("settle") == "refund",
        )
    except PriceChanged as exc:
        # Show the figures as they are now, and ask again.
        messages.warning(request, exc.message)
        dates.is_valid()
        preview, _ = _preview(dates, booking)
        return _dates_render(request, acting, booking, dates, preview, status=409)
    except StayUnavailable as exc:
        dates.is_valid()
        dates.add_error(None, f"{exc.message} Nothing was changed.")
        return _dates_render(request, acting, booking, dates, None, status=409)
    except BookingError as exc:
        dates.is_valid()
        _form_error(dates, exc)
        return _dates_render(request, acting, booking, dates, None, status=exc.http_status)
    moved = change.booking
    currency = moved.currency
    text = (
        f"{moved.reference} now runs from {moved.check_in:%-d %b} to "
        f"{moved.check_out:%-d %b %Y}. New total {format_money(moved.total, currency)}."
    )
    due = amount_due(moved)
    if due > 0:
        text += f" {format_money(due, currency)} is due from the guest."
    if change.refunded:
        text += f" {format_money(change.refunded, currency)} is on its way back to the guest."
    if change.refused:
        messages.success(request, text)
        return _refuse(
            request,
            moved,
            "The payment provider refused the refund of "
            f"{format_money(sum(r.amount for r in change.refused), currency)}: "
            f"{change.refused[0].error}. Refund the guest from the booking again, or from "
            "your payment provider's dashboard.",
        )
    messages.success(request, text)
    return redirect(detail_url(moved))


# --- Partial refund -------------------------------------------------------------------


def booking_refund_page(request: HttpRequest, acting: Acting, reference: str) -> HttpResponse:
    """GET: the form, with what can still be refunded. POST: refund through the gateway;
    a refusal is shown on the form (and stays recorded, as on Today)."""
    booking = booking_or_404(acting, reference)
    locked = booking_lock_reason(booking)
    if locked:
        return _refuse(request, booking, locked)
    available = refundable(booking=booking)
    if booking.is_block or available <= 0:
        return _refuse(request, booking, f"Nothing paid on {booking.reference} is left to refund.")
    form = PartialRefundForm(request.POST or None, initial={"expected_refundable": available})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                refunds = booking_refund_partial(
                    booking=booking,
                    amount=form.cleaned_data["amount"],
                    note=form.cleaned_data["reason"],
                    expected_refundable=form.cleaned_data["expected_refundable"],
                )
            except BookingError as exc:
                _form_error(form, exc)
                status = exc.http_status
                if isinstance(exc, PriceChanged):
                    booking.refresh_from_db()
                    available = refundable(booking=booking)
                    form = _rebound(form, expected_refundable=available)
            else:
                refused = [r for r in refunds if r.status == Refund.Status.FAILED]
                if not refused:
                    money = format_money(sum(r.amount for r in refunds), booking.currency)
                    messages.success(
                        request, f"Refunded {money} to the guest of {booking.reference}."
                    )
                    return redirect(detail_url(booking))
                booking.refresh_from_db()
                available = refundable(booking=booking)
                form = _rebound(form, expected_refundable=available)
                form.add_error(
                    None,
                    "The payment provider refused the refund of "
                    f"{format_money(sum(r.amount for r in refused), booking.currency)}: "
                    f"{refused[0].error} It is recorded on the booking and under "
                    "“Refunds the payment provider refused” on Today.",
                )
                # The page answered; the provider did not: a form error, not a failure
                # of this request.
                status = 200
    context = {
        "booking": booking,
        "form": form,
        "refundable": available,
        "paid": booking.amount_paid - booking.amount_refunded,
    }
    return render_page(request, acting, "dashboard/bookings/refund.html", context, status=status)


F = TypeVar("F", bound=forms.Form)


def _rebound(sent: F, **hidden: Decimal) -> F:
    """The form again with the owner's input, its errors, and the amounts (hidden
    fields) as they are now, so that confirming again acts on what is shown."""
    data = {name: sent.data.get(name) for name in sent.data}
    for name, value in hidden.items():
        data[name] = str(value)
    fresh = type(sent)(data)
    fresh.is_valid()
    for field, errors in sent.errors.items():
        for error in errors:
            fresh.add_error(None if field == "__all__" else field, error)
    return fresh


# --- Offline payment ------------------------------------------------------------------


def booking_offline_payment_page(
    request: HttpRequest, acting: Acting, reference: str
) -> HttpResponse:
    """GET: the form, the amount due filled in. POST: record the payment."""
    booking = booking_or_404(acting, reference)
    locked = booking_lock_reason(booking)
    if locked:
        return _refuse(request, booking, locked)
    due = amount_due(booking)
    if due <= 0:
        return _refuse(request, booking, f"Nothing is due on {booking.reference}.")
    form = OfflinePaymentForm(
        request.POST or None, initial={"amount": due, "expected_due": due, "method": "cash"}
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                payment = payment_record_offline(
                    booking=booking,
                    amount=form.cleaned_data["amount"],
                    method=form.cleaned_data["method"],
                    note=form.cleaned_data["note"],
                    recorded_by=acting.user,
                    expected_due=form.cleaned_data["expected_due"],
                )
            except BookingError as exc:
                _form_error(form, exc)
                status = exc.http_status
                if isinstance(exc, PriceChanged):
                    booking.refresh_from_db()
                    due = amount_due(booking)
                    form = _rebound(form, expected_due=due)
            else:
                messages.success(
                    request,
                    f"Recorded {format_money(payment.amount, payment.currency)} paid by "
                    f"{payment.get_method_display().lower()} on {booking.reference}.",
                )
                return redirect(detail_url(booking))
    context = {"booking": booking, "form": form, "due": due}
    return render_page(
        request, acting, "dashboard/bookings/offline_payment.html", context, status=status
    )
