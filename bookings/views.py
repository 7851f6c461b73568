"""Visitor pages of direct booking (business hosts) and Stripe's webhook (app host).

Pages stay thin: they read through selectors and pricing, write through
bookings.payments.services, and turn domain errors into a message on the page (never a
500). The business always comes from the host (`request.business`); a booking of
another business, or of another visitor, is a 404 exactly like a missing one.
"""

from __future__ import annotations

import calendar
import json
import logging
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import stripe
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from bookings.errors import BookingError, StayUnavailable
from bookings.models import Booking
from bookings.payment_models import Payment, Refund
from bookings.payments import services as payments
from bookings.payments.gateway import PaymentUnavailable
from bookings.pricing import Quote, quote
from bookings.rules import month_from_param
from bookings.selectors import property_calendar, unavailable_ranges
from bookings.services.cancellation import CANCELLATION_POLICIES, refund_quote
from properties.access import published_property, site_business
from properties.models import Property, User
from properties.money import format_money

logger = logging.getLogger(__name__)

MAX_WEBHOOK_BYTES = 512 * 1024


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # login_required
    return user


def _origin(request: HttpRequest) -> str:
    """This business host's origin, as the visitor reached it (validated by the host
    middleware), for the gateway's success and cancel URLs."""
    return request.build_absolute_uri("/").rstrip("/")


def _parse_date(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _parse_guests(raw: str | None, default: int = 2) -> int:
    try:
        return max(1, min(int(raw or default), 500))
    except ValueError:
        return default


# --- Property page: calendar and quote ----------------------------------------------------


@dataclass(frozen=True)
class DayCell:
    day: date
    available: bool
    past: bool
    selected: bool
    href: str
    label: str


def _month_param(raw: str | None, first: date, last: date) -> date:
    wanted = month_from_param(raw)
    if wanted is None:
        return first
    return min(max(wanted, first), last)


def _add_month(month: date, step: int) -> date:
    index = month.year * 12 + month.month - 1 + step
    return date(index // 12, index % 12 + 1, 1)


def _calendar(
    request: HttpRequest,
    prop: Property,
    *,
    check_in: date | None,
    check_out: date | None,
    guests: int,
) -> dict[str, Any]:
    """A plain month grid: every night available or not, and links that pick dates
    (first the check-in, then the check-out), so it works without JavaScript."""
    today = prop.local_today()
    first_month = today.replace(day=1)
    last_month = (today + timedelta(days=prop.booking_horizon_days)).replace(day=1)
    default = check_in.replace(day=1) if check_in else first_month
    month = _month_param(
        request.GET.get("month") or default.strftime("%Y-%m"), first_month, last_month
    )
    end = _add_month(month, 1)
    nights = {n.date: n for n in property_calendar(property=prop, start=month, end=end)}
    weeks: list[list[DayCell | None]] = []
    for week in calendar.Calendar(firstweekday=0).monthdatescalendar(month.year, month.month):
        row: list[DayCell | None] = []
        for day in week:
            if day.month != month.month:
                row.append(None)
                continue
            night = nights[day]
            past = day < today
            params: dict[str, str] = {"month": month.strftime("%Y-%m"), "guests": str(guests)}
            if check_in and not check_out and day > check_in:
                params.update(check_in=check_in.isoformat(), check_out=day.isoformat())
                action = "choose as check-out"
            else:
                params["check_in"] = day.isoformat()
                action = "choose as check-in"
            selected = bool(check_in and check_out and check_in <= day < check_out)
            state = "unavailable" if not night.available else "available"
            label = f"{day:%A %-d %B %Y}, {state}"
            if night.available and not past:
                label += (
                    f", {format_money(night.price, prop.business.currency)} per night, {action}"
                )
            row.append(
                DayCell(
                    day=day,
                    available=night.available,
                    past=past,
                    selected=selected,
                    href="?" + urlencode(params) + "#calendar",
                    label=label,
                )
            )
        weeks.append(row)

    def nav(target: date) -> str:
        params = {"month": target.strftime("%Y-%m"), "guests": str(guests)}
        if check_in:
            params["check_in"] = check_in.isoformat()
        if check_out:
            params["check_out"] = check_out.isoformat()
        return "?" + urlencode(params) + "#calendar"

    return {
        "month": month,
        "weeks": weeks,
        "weekdays": [(calendar.day_abbr[i], calendar.day_name[i]) for i in range(7)],
        "prev_url": nav(_add_month(month, -1)) if month > first_month else "",
        "next_url": nav(end) if end <= last_month else "",
    }


def _unavailable_message(prop: Property, check_in: date, check_out: date) -> str:
    taken = unavailable_ranges(property=prop, start=check_in, end=check_out)
    if not taken:
        return ""
    first, last = taken[0][0], taken[-1][1] - timedelta(days=1)
    return (
        f"Some of those nights are already booked ({first:%-d %b}"
        + (f" to {last:%-d %b %Y}" if last > first else f" {first:%Y}")
        + "). Please choose other dates."
    )


def _quote_checked(
    prop: Property, check_in: date, check_out: date, guests: int
) -> tuple[Quote | None, str, int]:
    """The quote, or what is wrong and its HTTP status: 409 when nights are taken,
    400 for anything else about the request."""
    try:
        priced = quote(prop, check_in, check_out, guests)
    except BookingError as exc:
        return None, exc.message, 409 if isinstance(exc, StayUnavailable) else 400
    problem = _unavailable_message(prop, check_in, check_out)
    return (None, problem, 409) if problem else (priced, "", 200)


def property_page(request: HttpRequest, slug: str) -> HttpResponse:
    """A property of the host's business: its details and the booking box."""
    prop = published_property(site_business(request), slug)
    context = {"property": prop, **property_booking_context(request, prop)}
    return render(request, "site/property.html", context)


def property_booking_context(request: HttpRequest, prop: Property) -> dict[str, Any]:
    """The booking box of the property page: calendar, date form, quote."""
    check_in = _parse_date(request.GET.get("check_in"))
    check_out = _parse_date(request.GET.get("check_out"))
    guests = _parse_guests(request.GET.get("guests"), default=min(2, prop.max_guests))
    context: dict[str, Any] = {
        "check_in": check_in,
        "check_out": check_out,
        "guests": guests,
        "guest_choices": range(1, prop.max_guests + 1),
        "quote": None,
        "quote_error": "",
        "policy": prop.get_cancellation_policy_display(),
        "calendar": _calendar(request, prop, check_in=check_in, check_out=check_out, guests=guests),
    }
    if request.GET.get("check_in") and check_in is None:
        context["quote_error"] = "Please enter the check-in date as YYYY-MM-DD."
    elif request.GET.get("check_out") and check_out is None:
        context["quote_error"] = "Please enter the check-out date as YYYY-MM-DD."
    elif check_in and check_out:
        context["quote"], context["quote_error"], _status = _quote_checked(
            prop, check_in, check_out, guests
        )
        if context["quote"] is not None:
            context["book_url"] = (
                reverse("site-checkout", args=[prop.slug])
                + "?"
                + urlencode(
                    {
                        "check_in": check_in.isoformat(),
                        "check_out": check_out.isoformat(),
                        "guests": guests,
                    }
                )
            )
    return context


# --- Checkout -----------------------------------------------------------------------------


class CheckoutForm(forms.Form):
    check_in = forms.DateField(widget=forms.HiddenInput)
    check_out = forms.DateField(widget=forms.HiddenInput)
    guests = forms.IntegerField(min_value=1, max_value=500, widget=forms.HiddenInput)
    guest_name = forms.CharField(
        label="Full name", max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    guest_phone = forms.CharField(
        label="Phone",
        max_length=40,
        help_text="So the host can reach you on the day of arrival.",
        widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
    )
    note = forms.CharField(
        label="Arrival note (optional)",
        max_length=2000,
        required=False,
        help_text="Expected arrival time, questions for the host.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )


def _open_hold(
    user: User, prop: Property, check_in: date, check_out: date, guests: int
) -> Payment | None:
    """A visitor who submits twice (or comes back) resumes their own pending checkout
    when it is for exactly the same stay (property, dates and guests). A pending
    checkout of theirs for other dates or guests that would collide with this one is
    released, so the new request starts its own hold."""
    pending = list(
        Payment.objects.filter(
            business=prop.business,
            kind=Payment.Kind.STAY,
            status=Payment.Status.PENDING,
            booking__guest_user=user,
            booking__property=prop,
            booking__status=Booking.Status.HELD,
        )
        .filter(booking__in=Booking.objects.active().overlapping(check_in, check_out))
        .select_related("booking")
        .order_by("pk")
    )
    for payment in pending:
        held = payment.booking
        if payment.checkout_url and (held.check_in, held.check_out, held.guests) == (
            check_in,
            check_out,
            guests,
        ):
            return payment
    for payment in pending:
        payments.payment_abandon(
            payment=payment,
            status=Payment.Status.FAILED,
            reason="Replaced by a new checkout for other dates or guests.",
        )
    return None


@login_required
def checkout(request: HttpRequest, slug: str) -> HttpResponse:
    business = site_business(request)
    prop = published_property(business, slug)
    user = _user(request)
    source = request.POST if request.method == "POST" else request.GET
    check_in = _parse_date(source.get("check_in"))
    check_out = _parse_date(source.get("check_out"))
    guests = _parse_guests(source.get("guests"))
    back = f"/p/{prop.slug}/"
    if not (check_in and check_out):
        messages.error(request, "Please choose your dates first.")
        return redirect(back)
    if request.method == "POST":
        pending = _open_hold(user, prop, check_in, check_out, guests)
        if pending is not None:
            return redirect(pending.checkout_url)
    priced, problem, problem_status = _quote_checked(prop, check_in, check_out, guests)
    initial = {
        "check_in": check_in,
        "check_out": check_out,
        "guests": guests,
        "guest_name": user.name,
        "guest_phone": user.phone,
    }
    form = CheckoutForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST" and priced is not None and form.is_valid():
        data = form.cleaned_data
        try:
            started = payments.checkout_start(
                property=prop,
                check_in=data["check_in"],
                check_out=data["check_out"],
                guests=data["guests"],
                user=user,
                guest_name=data["guest_name"],
                guest_phone=data["guest_phone"],
                note=data["note"],
                site_origin=_origin(request),
            )
        except StayUnavailable:
            problem = (
                "Sorry, those dates were just taken by another guest. "
                "Nothing was charged. Please choose other dates."
            )
            status = 409
        except BookingError as exc:
            problem = exc.message
            status = exc.http_status if isinstance(exc, PaymentUnavailable) else 400
        else:
            return redirect(started.redirect_url)
    elif priced is None:
        status = problem_status
    return render(
        request,
        "site/checkout.html",
        {
            "property": prop,
            "form": form,
            "quote": priced,
            "problem": problem,
            "check_in": check_in,
            "check_out": check_out,
            "guests": guests,
            "back_url": back
            + "?"
            + urlencode(
                {
                    "check_in": check_in.isoformat(),
                    "check_out": check_out.isoformat(),
                    "guests": guests,
                }
            ),
            "hold_minutes": settings.HOLIDESK_HOLD_MINUTES,
            "policy": prop.get_cancellation_policy_display(),
        },
        status=status,
    )


def _fake_payment(request: HttpRequest, session_id: str) -> Payment:
    business = site_business(request)
    if settings.PAYMENTS_BACKEND != "fake":
        raise Http404("The fake gateway is off.")
    payment = (
        Payment.objects.filter(
            business=business,
            gateway="fake",
            checkout_id=session_id,
            booking__guest_user=_user(request),
        )
        .select_related("booking", "booking__property")
        .first()
    )
    if payment is None:
        raise Http404("No such checkout.")
    return payment


@login_required
def fake_checkout(request: HttpRequest, session_id: str) -> HttpResponse:
    """The fake gateway's hosted page: "Pay" drives the same confirmation path as
    Stripe's webhook; "Decline" the same release as an expired Stripe checkout."""
    payment = _fake_payment(request, session_id)
    booking = payment.booking
    if request.method == "POST" and payment.status == Payment.Status.PENDING:
        if request.POST.get("action") == "pay":
            outcome = payments.payment_succeeded(payment=payment)
            if outcome.status in ("confirmed", "already"):
                return redirect(f"/trips/{booking.reference}/confirmation/")
            if outcome.status == "extended":
                messages.success(request, "Payment received: your stay is extended.")
            else:
                messages.error(request, outcome.message)
            return redirect(f"/trips/{booking.reference}/")
        payments.payment_abandon(payment=payment, status=Payment.Status.FAILED)
        if payment.kind == Payment.Kind.STAY:
            messages.error(request, "The payment was declined; those dates were released.")
            return redirect(f"/p/{booking.property.slug}/")
        messages.error(request, "The payment was declined; your stay is unchanged.")
        return redirect(f"/trips/{booking.reference}/")
    if payment.status != Payment.Status.PENDING:
        return redirect(f"/trips/{booking.reference}/")
    return render(request, "site/fake_checkout.html", {"payment": payment, "booking": booking})


# --- Confirmation and My trips --------------------------------------------------------------


def _own_booking(request: HttpRequest, reference: str) -> Booking:
    booking = (
        Booking.objects.filter(
            business=site_business(request),
            reference=reference.upper(),
            guest_user=_user(request),
            kind=Booking.Kind.STAY,
        )
        .select_related("property", "property__business")
        .prefetch_related(
            Prefetch("payments", queryset=Payment.objects.order_by("created_at")),
            Prefetch("refunds", queryset=Refund.objects.order_by("created_at")),
        )
        .first()
    )
    if booking is None:
        raise Http404("No such trip.")
    return booking


@login_required
def confirmation(request: HttpRequest, reference: str) -> HttpResponse:
    booking = _own_booking(request, reference)
    if booking.status == Booking.Status.HELD:
        # Back from the provider before its webhook: ask it directly.
        for payment in Payment.objects.filter(booking=booking, status=Payment.Status.PENDING):
            payments.payment_sync(payment=payment)
        booking.refresh_from_db()
    return render(request, "site/confirmation.html", {"booking": booking})


@login_required
def trips(request: HttpRequest) -> HttpResponse:
    business = site_business(request)
    rows = list(
        Booking.objects.filter(business=business, guest_user=_user(request), kind=Booking.Kind.STAY)
        .select_related("property")
        .order_by("-stay")
    )
    today = max((b.property.local_today() for b in rows), default=None)
    upcoming = [b for b in rows if today is None or b.check_out >= today]
    past = [b for b in rows if today is not None and b.check_out < today]
    return render(request, "site/trips.html", {"upcoming": upcoming, "past": past})


def _trip_context(booking: Booking) -> dict[str, Any]:
    prop = booking.property
    today = prop.local_today()
    can_change = booking.status == Booking.Status.CONFIRMED and booking.check_out > today
    pending = next(
        (
            p
            for p in booking.payments.all()
            if p.status == Payment.Status.PENDING and p.checkout_url
        ),
        None,
    )
    auto_refunds = [
        r for r in booking.refunds.all() if r.reason in payments.AUTOMATIC_REFUND_REASONS
    ]
    return {
        "booking": booking,
        "property": prop,
        "lines": (booking.price_breakdown or {}).get("lines", []),
        "can_cancel": booking.status in (Booking.Status.HELD, Booking.Status.CONFIRMED)
        and booking.check_out > today,
        "can_extend": can_change,
        "refund_now": refund_quote(booking=booking) if can_change else Decimal(0),
        "pending_payment": pending if booking.status == Booking.Status.HELD else None,
        "pending_extension": pending if booking.status == Booking.Status.CONFIRMED else None,
        "auto_refunds": auto_refunds,
        "policy": prop.get_cancellation_policy_display(),
        "policy_known": prop.cancellation_policy in CANCELLATION_POLICIES,
    }


@login_required
def trip_detail(request: HttpRequest, reference: str) -> HttpResponse:
    booking = _own_booking(request, reference)
    return render(request, "site/trip_detail.html", _trip_context(booking))


@login_required
@require_POST
def trip_cancel(request: HttpRequest, reference: str) -> HttpResponse:
    booking = _own_booking(request, reference)
    if booking.check_out <= booking.property.local_today():
        messages.error(request, "A stay that has ended cannot be cancelled.")
        return redirect("site-trip", reference=booking.reference)
    try:
        cancelled, refund = payments.booking_cancel_and_refund(booking=booking)
    except BookingError as exc:
        messages.error(request, exc.message)
    else:
        if refund > 0:
            messages.success(
                request,
                f"Booking {cancelled.reference} is cancelled. "
                f"{format_money(refund, cancelled.currency)} is on its way back to you.",
            )
        else:
            messages.success(request, f"Booking {cancelled.reference} is cancelled.")
    return redirect("site-trip", reference=booking.reference)


EXTEND_FIELDS = {"check_in": "New check-in", "check_out": "New check-out"}


def _extension_error(exc: BookingError) -> tuple[str, str]:
    """The message, prefixed with the date field it is about, and that field."""
    field = next((name for name in exc.fields if name in EXTEND_FIELDS), "")
    if not field:
        return exc.message, ""
    return f"{EXTEND_FIELDS[field]}: {exc.message}", field


@login_required
def trip_extend(request: HttpRequest, reference: str) -> HttpResponse:
    booking = _own_booking(request, reference)
    source = request.POST if request.method == "POST" else request.GET
    raw = {name: (source.get(name) or "").strip() for name in EXTEND_FIELDS}
    parsed = {name: _parse_date(value) for name, value in raw.items()}
    check_in = parsed["check_in"] or booking.check_in
    check_out = parsed["check_out"] or booking.check_out
    context = _trip_context(booking)
    context.update(
        {"new_check_in": check_in, "new_check_out": check_out, "extension_error_field": ""}
    )
    bad = next((name for name in EXTEND_FIELDS if raw[name] and parsed[name] is None), "")
    if bad:
        context["extension_error"] = f"{EXTEND_FIELDS[bad]}: please enter a date as YYYY-MM-DD."
        context["extension_error_field"] = bad
        return render(request, "site/trip_extend.html", context, status=400)
    if request.method != "POST" and not any(raw.values()):
        return render(request, "site/trip_extend.html", context)
    status = 200
    try:
        context["extension"] = payments.extension_quote(
            booking=booking, check_in=check_in, check_out=check_out
        )
        if request.method == "POST":
            started = payments.extension_start(
                booking=booking,
                check_in=check_in,
                check_out=check_out,
                site_origin=_origin(request),
            )
            if started.payment is None:
                messages.success(request, "Your stay now has the new dates.")
            return redirect(started.redirect_url)
    except BookingError as exc:
        context["extension_error"], context["extension_error_field"] = _extension_error(exc)
        status = exc.http_status
    return render(request, "site/trip_extend.html", context, status=status)


# --- Stripe webhook (app host) --------------------------------------------------------------


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "fields": {}}}, status=status)


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    """Verify over the raw body, then hand the event to the service, which records its
    id under a UNIQUE constraint before acting. Nothing is written for a 4xx."""
    raw_length = request.headers.get("Content-Length") or "0"
    if not raw_length.isascii() or not raw_length.isdigit():
        return _error(400, "invalid_request", "The Content-Length header is not valid.")
    if int(raw_length) > MAX_WEBHOOK_BYTES:
        return _error(413, "payload_too_large", "The body is larger than 512 KiB.")
    payload = request.body
    signature = request.headers.get("Stripe-Signature", "")
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not signature or not secret:
        return _error(400, "invalid_signature", "Missing Stripe-Signature header.")
    try:
        stripe.Webhook.construct_event(payload, signature, secret)
        event = json.loads(payload)
    except stripe.SignatureVerificationError:
        return _error(400, "invalid_signature", "The Stripe signature does not verify.")
    except ValueError:
        return _error(400, "invalid_payload", "The body is not a JSON event.")
    if not isinstance(event, dict) or not event.get("id") or not event.get("type"):
        return _error(400, "invalid_payload", "The body is not a Stripe event.")
    result = payments.stripe_event_handle(event=event)
    return JsonResponse({"status": result.status, "outcome": result.outcome})
