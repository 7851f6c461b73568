"""Which business a signed-in user is acting for (admin, dashboard, API).

Never from an id the client sends: only from the user's own memberships. A user
with several businesses picks one; the choice is kept in the session and checked
against their memberships on every request.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest

from properties.models import Business, Membership, Property
from properties.selectors import property_get_published

SESSION_KEY = "holidesk_business_id"
MANAGING_ROLES = (Membership.Role.OWNER, Membership.Role.MANAGER)


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
    request._holidesk_membership = membership  # type: ignore[attr-defined]
    return membership


def managing_memberships(request: HttpRequest) -> list[Membership]:
    """The signed-in user's memberships as owner or manager, by business name: the
    businesses they may act for (and switch between). Read once per request."""
    if hasattr(request, "_holidesk_memberships"):
        cached: list[Membership] = request._holidesk_memberships
        return cached
    memberships: list[Membership] = []
    user = request.user
    if user.is_authenticated:
        memberships = list(
            Membership.objects.filter(user=user, role__in=MANAGING_ROLES)
            .select_related("business")
            .order_by("business__name", "id")
        )
    request._holidesk_memberships = memberships  # type: ignore[attr-defined]
    return memberships


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
