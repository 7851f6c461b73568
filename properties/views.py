"""Pages: the app host's landing and onboarding, and each business's home page (the
property pages, with their booking box, are the bookings app's)."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_cache_control
from django.utils.safestring import mark_safe

from properties.access import SESSION_KEY, site_business
from properties.errors import DomainError
from properties.forms import BusinessCreateForm
from properties.models import Business, User
from properties.selectors import (
    memberships_for_user,
    property_list_published,
    search_filters,
)
from properties.services import business_create
from properties.services.invitations import invitation_accept, invitation_for_token
from properties.urls_util import business_site_url

# --- App host -------------------------------------------------------------------------


def landing(request: HttpRequest) -> HttpResponse:
    if isinstance(request.user, User) and memberships_for_user(user=request.user).exists():
        return redirect("dashboard:today")
    return render(request, "site/landing.html", {"base_domain": settings.HOLIDESK_BASE_DOMAIN})


@login_required
def onboarding(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)  # login_required
    if memberships_for_user(user=user).exists():
        return redirect("dashboard:today")
    form = BusinessCreateForm(request.POST or None, initial={"contact_email": user.email})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            business = business_create(
                owner=user,
                name=data["name"],
                slug=data["slug"],
                contact_email=data["contact_email"],
                timezone_name=data["timezone"],
                currency=data["currency"],
            )
        except ValidationError as error:  # lost a race for the slug, or a model rule
            form.add_error(None, error)
        else:
            request.session["holidesk_business_id"] = business.pk
            return redirect("dashboard:today")
    return render(
        request,
        "site/onboarding.html",
        {"form": form, "base_domain": settings.HOLIDESK_BASE_DOMAIN},
    )


# --- Business site --------------------------------------------------------------------


def _business_json_ld(business: Business) -> str:
    """schema.org LodgingBusiness data of the business's home page, escaped for a
    <script> element as `json_script` does."""
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "LodgingBusiness",
        "@id": business_site_url(business, "/"),
        "name": business.name,
        "url": business_site_url(business, "/"),
        "email": business.contact_email,
        "currenciesAccepted": business.currency,
    }
    if business.about:
        data["description"] = " ".join(business.about.split())
    if business.logo:
        data["logo"] = business_site_url(business, business.logo.url)
    text = json.dumps(data, ensure_ascii=False)
    escaped = text.replace("<", "\\u003C").replace(">", "\\u003E").replace("&", "\\u0026")
    return mark_safe(escaped)  # noqa: S308 - escaped for a script element


def site_home(request: HttpRequest) -> HttpResponse:
    business = site_business(request)
    return render(
        request,
        "site/home.html",
        {
            "properties": property_list_published(business=business),
            "site_url": business_site_url(business),
            "filters": search_filters(business=business),
            "guests": 2,
            "sort": "price",
            "structured_data": _business_json_ld(business),
        },
    )


# --- Invitations --------------------------------------------------------------------------


def invitation_accept_page(request: HttpRequest, token: str) -> HttpResponse:
    """The link in an invitation email: sign in (or sign up) with the invited address,
    then accept. Nothing is decided here: the service checks the link and the address."""
    invitation = invitation_for_token(token)
    if invitation is None:
        return render(request, "site/invitation.html", {"invitation": None}, status=404)
    error = ""
    if request.method == "POST" and request.user.is_authenticated:
        user = request.user
        assert isinstance(user, User)
        try:
            membership = invitation_accept(user=user, raw=token)
        except DomainError as exc:
            error = exc.message
        else:
            request.session[SESSION_KEY] = membership.business_id
            return redirect("dashboard:today")
    response = render(
        request,
        "site/invitation.html",
        {"invitation": invitation, "error": error},
        status=403 if error else 200,
    )
    patch_cache_control(response, private=True, no_store=True)
    return response
