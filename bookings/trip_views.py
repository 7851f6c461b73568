"""A visitor's own stays on a business's site: the confirmation after paying, My trips,
one trip, and what a guest does with it (cancel with the refund shown first, pay what is
due, extend)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from bookings.errors import BookingError
from bookings.models import Booking
from bookings.payments.models import Payment, Refund
from bookings.payments.services.balance import amount_due, balance_checkout_start
from bookings.payments.services.extensions import extension_quote, extension_start
from bookings.payments.services.refunds import AUTOMATIC_REFUND_REASONS, booking_cancel_and_refund
from bookings.payments.services.stripe_events import payment_sync
from bookings.services.cancellation import CANCELLATION_POLICIES, refund_quote
from bookings.site import (
    parse_date,
    site_origin,
    trip_sections,
    visitor,
    visitor_trips,
)
from properties.access import site_business
from properties.money import format_money


def _own_booking(request: HttpRequest, reference: str) -> Booking:
    booking = (
        visitor_trips(request)
        .filter(reference=reference.upper())
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
            payment_sync(payment=payment)
        booking.refresh_from_db()
    return render(request, "site/confirmation.html", {"booking": booking})


@login_required
def trips(request: HttpRequest) -> HttpResponse:
    business = site_business(request)
    rows = list(
        Booking.objects.filter(
            business=business, guest_user=visitor(request), kind=Booking.Kind.STAY
        )
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
            if p.status == Payment.Status.PENDING
            and p.checkout_url
            and p.kind in (Payment.Kind.STAY, Payment.Kind.EXTENSION)
        ),
        None,
    )
    auto_refunds = [r for r in booking.refunds.all() if r.reason in AUTOMATIC_REFUND_REASONS]
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
        "due": amount_due(booking),
        "policy": prop.get_cancellation_policy_display(),
        "policy_known": prop.cancellation_policy in CANCELLATION_POLICIES,
    }


@login_required
def trip_detail(request: HttpRequest, reference: str) -> HttpResponse:
    booking = _own_booking(request, reference)
    context = {**_trip_context(booking), "sections": trip_sections(request, booking)}
    return render(request, "site/trip_detail.html", context)


@login_required
def trip_cancel(request: HttpRequest, reference: str) -> HttpResponse:
    """Cancel a trip in two steps: a page that shows what cancelling now pays back
    under the policy, and its "Yes, cancel" button (a POST with `confirm`). A POST
    without it only shows the page."""
    booking = _own_booking(request, reference)
    if request.method != "POST" or request.POST.get("confirm") != "yes":
        context = _trip_context(booking)
        if not context["can_cancel"]:
            return redirect("site-trip", reference=booking.reference)
        context["paid"] = booking.amount_paid - booking.amount_refunded
        return render(request, "site/trip_cancel.html", context)
    try:
        cancelled, refund = booking_cancel_and_refund(booking=booking)
    except BookingError as exc:
        messages.error(request, exc.message)
    else:
        if refund > 0:
            messages.success(
                request,
                _("Booking %(reference)s is cancelled. %(amount)s is on its way back to you.")
                % {
                    "reference": cancelled.reference,
                    "amount": format_money(refund, cancelled.currency),
                },
            )
        else:
            messages.success(
                request,
                _("Booking %(reference)s is cancelled.") % {"reference": cancelled.reference},
            )
    return redirect("site-trip", reference=booking.reference)


@login_required
@require_POST
def trip_pay_due(request: HttpRequest, reference: str) -> HttpResponse:
    """The guest pays what is still due on their stay (after the owner changed it)."""
    booking = _own_booking(request, reference)
    try:
        started = balance_checkout_start(booking=booking, site_origin=site_origin(request))
    except BookingError as exc:
        messages.error(request, exc.message)
        return redirect("site-trip", reference=booking.reference)
    return redirect(started.redirect_url)


EXTEND_FIELDS = {
    "check_in": gettext_lazy("New check-in"),
    "check_out": gettext_lazy("New check-out"),
}


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
    parsed = {name: parse_date(value) for name, value in raw.items()}
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
        context["extension"] = extension_quote(
            booking=booking, check_in=check_in, check_out=check_out
        )
        if request.method == "POST":
            started = extension_start(
                booking=booking,
                check_in=check_in,
                check_out=check_out,
                site_origin=site_origin(request),
            )
            if started.payment is None:
                messages.success(request, _("Your stay now has the new dates."))
            return redirect(started.redirect_url)
    except BookingError as exc:
        context["extension_error"], context["extension_error_field"] = _extension_error(exc)
        status = exc.http_status
    return render(request, "site/trip_extend.html", context, status=status)
