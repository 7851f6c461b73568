"""Dashboard pages for the business's Stripe account and its Holidesk plan.

Thin: they call `bookings.payments.services.connect` and `.billing`, which ask the
permission module (owners only) and talk to Stripe; a refusal or an unreachable Stripe
becomes a message on the page. Everything is read for `acting.business`, never from an
id in the request.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from bookings.payments.models import StripeAccount, Subscription
from bookings.payments.platform import platform_ready
from bookings.payments.services.billing import (
    billing_checkout_start,
    billing_plans,
    billing_portal_open,
    standing_of,
)
from bookings.payments.services.connect import stripe_account_refresh, stripe_onboarding_start
from properties.dashboard.access import Acting
from properties.dashboard.views import render_page
from properties.errors import DomainError
from properties.models import Property

# What Stripe's requirement names mean, for the few an owner meets most.
REQUIREMENT_LABELS = {
    "business_profile.url": "Your business website",
    "business_profile.mcc": "What your business sells",
    "external_account": "The bank account for payouts",
    "tos_acceptance.date": "Accepting Stripe's terms",
    "tos_acceptance.ip": "Accepting Stripe's terms",
    "representative.first_name": "The representative's name",
    "representative.dob.day": "The representative's date of birth",
}


def _absolute(request: HttpRequest, name: str) -> str:
    return request.build_absolute_uri(reverse(name))


def _requirements(account: StripeAccount | None) -> list[str]:
    if account is None:
        return []
    labels: list[str] = []
    for item in account.requirements_due:
        label = REQUIREMENT_LABELS.get(str(item), str(item).replace("_", " ").replace(".", ": "))
        if label not in labels:
            labels.append(label)
    return labels


def stripe_page(request: HttpRequest, acting: Acting) -> HttpResponse:
    account = StripeAccount.objects.filter(business=acting.business).first()
    return render_page(
        request,
        acting,
        "dashboard/payments/stripe.html",
        {
            "account": account,
            "requirements": _requirements(account),
            "stripe_ready": platform_ready(),
            "billing_on": bool(settings.BILLING_PLANS),
        },
    )


def _to_stripe(request: HttpRequest, acting: Acting) -> HttpResponse:
    try:
        url = stripe_onboarding_start(
            business=acting.business,
            user=acting.user,
            return_url=_absolute(request, "dashboard:stripe-return"),
            refresh_url=_absolute(request, "dashboard:stripe-refresh"),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("dashboard:stripe")
    return redirect(url)


@require_POST
def stripe_connect(request: HttpRequest, acting: Acting) -> HttpResponse:
    return _to_stripe(request, acting)


def stripe_refresh(request: HttpRequest, acting: Acting) -> HttpResponse:
    """Stripe sends the owner here when an onboarding link expired or was used: a
    fresh link for the same account."""
    return _to_stripe(request, acting)


def stripe_return(request: HttpRequest, acting: Acting) -> HttpResponse:
    """Back from Stripe's onboarding (finished or not): read the account back now
    rather than wait for the webhook."""
    try:
        account = stripe_account_refresh(business=acting.business)
    except DomainError as exc:
        messages.warning(request, f"{exc.message} The status below may be a little behind.")
        return redirect("dashboard:stripe")
    if account is not None and account.charges_enabled:
        messages.success(request, "Your Stripe account is connected: guests can pay online.")
    elif account is not None:
        messages.warning(request, "Stripe still needs some details before guests can pay online.")
    return redirect("dashboard:stripe")


def billing_page(request: HttpRequest, acting: Acting) -> HttpResponse:
    subscription = Subscription.objects.filter(business=acting.business).first()
    standing = standing_of(subscription, timezone.now())
    plans = billing_plans()
    current = next(
        (p for p in plans if subscription is not None and p["key"] == subscription.plan), None
    )
    return render_page(
        request,
        acting,
        "dashboard/payments/billing.html",
        {
            "subscription": subscription,
            "standing": standing,
            "plans": plans,
            "current_plan": current,
            "can_subscribe": subscription is None
            or subscription.status
            not in (
                Subscription.Status.ACTIVE,
                Subscription.Status.TRIALING,
                Subscription.Status.PAST_DUE,
            ),
            "has_customer": bool(subscription and subscription.customer_id),
            "property_count": Property.objects.for_business(acting.business).count(),
            "trial_days": 0
            if subscription is not None and subscription.trial_used
            else settings.BILLING_TRIAL_DAYS,
            "grace_days": settings.BILLING_GRACE_DAYS,
            "stripe_ready": platform_ready(),
        },
    )


@require_POST
def billing_subscribe(request: HttpRequest, acting: Acting) -> HttpResponse:
    try:
        url = billing_checkout_start(
            business=acting.business,
            user=acting.user,
            plan_key=str(request.POST.get("plan", ""))[:40],
            success_url=_absolute(request, "dashboard:billing-return"),
            cancel_url=_absolute(request, "dashboard:billing"),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("dashboard:billing")
    return redirect(url)


@require_POST
def billing_portal(request: HttpRequest, acting: Acting) -> HttpResponse:
    try:
        url = billing_portal_open(
            business=acting.business,
            user=acting.user,
            return_url=_absolute(request, "dashboard:billing"),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("dashboard:billing")
    return redirect(url)


def billing_return(request: HttpRequest, acting: Acting) -> HttpResponse:
    subscription = Subscription.objects.filter(business=acting.business).first()
    if subscription is not None and subscription.status in (
        Subscription.Status.ACTIVE,
        Subscription.Status.TRIALING,
    ):
        messages.success(request, "Thank you: your Holidesk plan is active.")
    else:
        messages.info(
            request,
            "Thank you: Stripe is confirming your subscription. This page shows it once "
            "Stripe tells us, usually within a minute.",
        )
    return redirect("dashboard:billing")
