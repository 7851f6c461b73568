"""Which business a signed-in user is acting for (admin, dashboard, API).

Never from an id the client sends: only from the user's own memberships. A user
with several businesses picks one; the choice is kept in the session and checked
against their memberships on every request (a membership removed or turned into a
role without the dashboard stops the very next request).
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404, HttpRequest

from properties.models import Business, Membership, Property, User
from properties.permissions import VIEW_DASHBOARD, roles_with, two_factor_required
from properties.selectors import property_get_published

SESSION_KEY = "holidesk_business_id"
# The roles that work in the dashboard, the admin or the API (everyone but staff).
MANAGING_ROLES = roles_with(VIEW_DASHBOARD)


def working_memberships(user: User) -> QuerySet[Membership]:
    """The memberships a user may act through, by business name."""
    return (
        Membership.objects.filter(user=user, role__in=MANAGING_ROLES)
        .select_related("business")
        .order_by("business__name", "business_id")
    )


def acting_membership(request: HttpRequest) -> Membership | None:
    if hasattr(request, "_holidesk_membership"):
        cached: Membership | None = request._holidesk_membership
        return cached
    membership = None
    memberships = managing_memberships(request)
    if memberships:
        chosen = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
        if chosen is not None:
            membership = next((m for m in memberships if m.business_id == chosen), None)
        if membership is None:
            membership = min(memberships, key=lambda m: m.pk)
            if chosen is not None and hasattr(request, "session"):
                # The chosen business is no longer theirs: forget it.
                request.session.pop(SESSION_KEY, None)
    request._holidesk_membership = membership  # type: ignore[attr-defined]
    return membership


def managing_memberships(request: HttpRequest) -> list[Membership]:
    """The signed-in user's memberships that work in the dashboard, by business name:
    the businesses they may act for (and switch between). Read once per request."""
    if hasattr(request, "_holidesk_memberships"):
        cached: list[Membership] = request._holidesk_memberships
        return cached
    user = request.user
    memberships = list(working_memberships(user)) if isinstance(user, User) else []
    request._holidesk_memberships = memberships  # type: ignore[attr-defined]
    return memberships


def two_factor_missing(request: HttpRequest) -> bool:
    """The acting member must use two-factor sign-in and has not set it up yet: they
    are sent to set it up before anything else (dashboard and admin)."""
    membership = acting_membership(request)
    if not two_factor_required(membership):
        return False
    from allauth.mfa.utils import is_mfa_enabled

    return not is_mfa_enabled(request.user)


def acting_business(request: HttpRequest) -> Business | None:
    membership = acting_membership(request)
    return membership.business if membership else None


def choose_business(request: HttpRequest, business_id: int) -> bool:
    """Switch the session to another of the user's businesses; False if not theirs."""
    user = request.user
    if not user.is_authenticated:
        return False
    ok = Membership.objects.filter(
        user=user, business_id=business_id, role__in=MANAGING_ROLES
    ).exists()
    if ok:
        request.session[SESSION_KEY] = business_id
        request.__dict__.pop("_holidesk_membership", None)
        request.__dict__.pop("_holidesk_memberships", None)
    return ok


def site_business(request: HttpRequest) -> Business:
    """The business whose site this request is on (set by the host middleware)."""
    business = getattr(request, "business", None)
    if business is None:
        raise Http404("No business on this host.")
    return business


def published_property(business: Business, slug: str) -> Property:
    """A published property of the site's business, or 404."""
    prop = property_get_published(business=business, slug=slug)
    if prop is None:
        raise Http404("No such property.")
    return prop
