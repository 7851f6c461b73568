"""Payment pages of a business's site (checkout, the fake gateway's page) and Stripe's
webhook on the app host.

Thin: they read the request, call bookings.payments.services, and turn domain errors
into a message on the page or the JSON error shape (never a 500). The business always
comes from the host (`request.business`); another visitor's or another business's
checkout is a 404 exactly like a missing one.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any
from urllib.parse import urlencode

import stripe
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from bookings.errors import BookingError, StayUnavailable
from bookings.payments.gateway import PaymentUnavailable
from bookings.payments.models import Payment
from bookings.payments.services.checkout import (
    checkout_open,
    checkout_start,
    payment_abandon,
    payment_succeeded,
)
from bookings.payments.services.stripe_events import stripe_event_handle
from bookings.pricing import Quote
from bookings.site import parse_date, parse_guests, quote_checked, site_origin, visitor
from properties.access import published_property, site_business
from properties.api_errors import error_response
from properties.models import Property

MAX_WEBHOOK_BYTES = 512 * 1024


# --- Checkout -----------------------------------------------------------------------------


class CheckoutForm(forms.Form):
    check_in = forms.DateField(widget=forms.HiddenInput)
    check_out = forms.DateField(widget=forms.HiddenInput)
    guests = forms.IntegerField(min_value=1, max_value=500, widget=forms.HiddenInput)
    guest_name = forms.CharField(
        label=_("Full name"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    guest_phone = forms.CharField(
        label=_("Phone"),
        max_length=40,
        help_text=_("So the host can reach you on the day of arrival."),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
    )
    note = forms.CharField(
        label=_("Arrival note (optional)"),
        max_length=2000,
        required=False,
        help_text=_("Expected arrival time, questions for the host."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )


def _dates_problem(source: Any) -> str:
    """What is wrong with check-in and check-out dates that are missing or unreadable."""
    problems = {
        "check_in": gettext("Please enter the check-in date as YYYY-MM-DD."),
        "check_out": gettext("Please enter the check-out date as YYYY-MM-DD."),
    }
    for name, problem in problems.items():
        raw = source.get(name)
        if raw and parse_date(raw) is None:
            return problem
    return gettext("Please choose your dates first.")


def _checkout_page(
    request: HttpRequest,
    prop: Property,
    *,
    form: CheckoutForm,
    quote: Quote | None,
    problem: str,
    check_in: date | None,
    check_out: date | None,
    guests: int,
    status: int,
) -> HttpResponse:
    back = reverse("site-property", args=[prop.slug])
    if check_in and check_out:
        back += "?" + urlencode(
            {"check_in": check_in.isoformat(), "check_out": check_out.isoformat(), "guests": guests}
        )
    return render(
        request,
        "site/checkout.html",
        {
            "property": prop,
            "form": form,
            "quote": quote,
            "problem": problem,
            "check_in": check_in,
            "check_out": check_out,
            "guests": guests,
            "back_url": back,
            "hold_minutes": settings.HOLIDESK_HOLD_MINUTES,
            "policy": prop.get_cancellation_policy_display(),
        },
        status=status,
    )


@login_required
def checkout(request: HttpRequest, slug: str) -> HttpResponse:
    business = site_business(request)
    prop = published_property(business, slug)
    user = visitor(request)
    posted = request.method == "POST"
    source = request.POST if posted else request.GET
    check_in = parse_date(source.get("check_in"))
    check_out = parse_date(source.get("check_out"))
    guests = parse_guests(source.get("guests"))
    form = CheckoutForm(
        request.POST if posted else None,
        initial={
            "check_in": check_in,
            "check_out": check_out,
            "guests": guests,
            "guest_name": user.name,
            "guest_phone": user.phone,
        },
    )
    page: dict[str, Any] = {
        "form": form,
        "quote": None,
        "check_in": check_in,
        "check_out": check_out,
        "guests": guests,
    }
    if check_in is None or check_out is None:
        if not posted:
            messages.error(request, _dates_problem(source))
            return redirect("site-property", slug=prop.slug)
        return _checkout_page(request, prop, problem=_dates_problem(source), status=400, **page)
    if posted:
        # Before quoting: the visitor's own hold of these nights must not count as taken.
        try:
            resumed = checkout_open(
                property=prop, user=user, check_in=check_in, check_out=check_out, guests=guests
            )
        except BookingError as exc:
            return _checkout_page(request, prop, problem=exc.message, status=400, **page)
        if resumed is not None:
            return redirect(resumed.redirect_url)
    priced, problem, status = quote_checked(prop, check_in, check_out, guests)
    page["quote"] = priced
    if posted and priced is not None and not form.is_valid():
        status = 400
    elif posted and priced is not None:
        data = form.cleaned_data
        try:
            started = checkout_start(
                property=prop,
                check_in=data["check_in"],
                check_out=data["check_out"],
                guests=data["guests"],
                user=user,
                guest_name=data["guest_name"],
                guest_phone=data["guest_phone"],
                note=data["note"],
                site_origin=site_origin(request),
                language=translation.get_language(),
            )
        except StayUnavailable:
            problem = gettext(
                "Sorry, those dates were just taken by another guest. "
                "Nothing was charged. Please choose other dates."
            )
            status = 409
        except BookingError as exc:
            problem = exc.message
            status = exc.http_status if isinstance(exc, PaymentUnavailable) else 400
        else:
            return redirect(started.redirect_url)
    return _checkout_page(request, prop, problem=problem, status=status, **page)


# --- The fake gateway's hosted page ---------------------------------------------------------


def _fake_payment(request: HttpRequest, session_id: str) -> Payment:
    business = site_business(request)
    if settings.PAYMENTS_BACKEND != "fake":
        raise Http404("The fake gateway is off.")
    payment = (
        Payment.objects.filter(
            business=business,
            gateway="fake",
            checkout_id=session_id,
            booking__guest_user=visitor(request),
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
            outcome = payment_succeeded(payment=payment)
            if outcome.status in ("confirmed", "already"):
                return redirect("site-trip-confirmation", reference=booking.reference)
            if outcome.status == "extended":
                messages.success(request, gettext("Payment received: your stay is extended."))
            elif outcome.status == "paid":
                messages.success(request, gettext("Payment received: nothing more is due."))
            else:
                messages.error(request, outcome.message)
            return redirect("site-trip", reference=booking.reference)
        payment_abandon(payment=payment, status=Payment.Status.FAILED)
        if payment.kind == Payment.Kind.STAY:
            messages.error(request, gettext("The payment was declined; those dates were released."))
            return redirect("site-property", slug=booking.property.slug)
        messages.error(request, gettext("The payment was declined; your stay is unchanged."))
        return redirect("site-trip", reference=booking.reference)
    if payment.status != Payment.Status.PENDING:
        return redirect("site-trip", reference=booking.reference)
    return render(request, "site/fake_checkout.html", {"payment": payment, "booking": booking})


# --- Stripe webhook (app host) --------------------------------------------------------------


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    """Verify over the raw body, then hand the event to the service, which records its
    id under a UNIQUE constraint before acting. Nothing is written for a 4xx."""
    raw_length = request.headers.get("Content-Length") or "0"
    if not raw_length.isascii() or not raw_length.isdigit():
        return error_response(400, "invalid_request", "The Content-Length header is not valid.")
    if int(raw_length) > MAX_WEBHOOK_BYTES:
        return error_response(413, "payload_too_large", "The body is larger than 512 KiB.")
    payload = request.body
    signature = request.headers.get("Stripe-Signature", "")
    # The Connect endpoint (guests' payments, connected accounts) and the platform
    # endpoint (Holidesk's subscriptions) each have their own signing secret; both may
    # deliver here. Either one proves Stripe sent the body.
    secrets = [
        s for s in (settings.STRIPE_WEBHOOK_SECRET, settings.STRIPE_PLATFORM_WEBHOOK_SECRET) if s
    ]
    if not signature or not secrets:
        return error_response(400, "invalid_signature", "Missing Stripe-Signature header.")
    verified = False
    try:
        for secret in secrets:
            try:
                stripe.Webhook.construct_event(payload, signature, secret)
            except stripe.SignatureVerificationError:
                continue
            verified = True
            break
        if not verified:
            return error_response(400, "invalid_signature", "The Stripe signature does not verify.")
        event = json.loads(payload)
    except ValueError:
        return error_response(400, "invalid_payload", "The body is not a JSON event.")
    if not isinstance(event, dict) or not event.get("id") or not event.get("type"):
        return error_response(400, "invalid_payload", "The body is not a Stripe event.")
    result = stripe_event_handle(event=event)
    return JsonResponse({"status": result.status, "outcome": result.outcome})
