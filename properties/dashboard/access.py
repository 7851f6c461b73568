"""Who is acting, for whom, on every dashboard page.

The business comes from the signed-in user's own membership (properties.access),
never from an id in the URL: pages look every object up within `acting.business`, so
another business's id answers 404 exactly like a missing one. What the member may do
is asked of `properties.permissions.permits`, never decided in a view; what they see
is `acting.scope` (`properties.permissions.Scope`), which selectors take: a group
manager's or front desk's pages hold only their groups' properties, and another
group's object answers 404 too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_cache_control

from properties.access import acting_membership, two_factor_missing
from properties.models import Business, Membership, Property, User
from properties.permissions import VIEW_DASHBOARD, Scope, permits, scope_for
from properties.selectors import memberships_for_user


@dataclass(frozen=True)
class Acting:
    """The member acting on a dashboard page and the business they act for."""

    membership: Membership
    user: User
    business: Business
    today: date  # where the business is
    scope: Scope
    # Reads that several parts of one page share (Today's stay panels ask for the same
    # stays), kept for this request only: see `once`.
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def may(self, action: str, obj: Any = None) -> bool:
        return permits(self.membership, action, obj, scope=self.scope)

    def properties(self) -> QuerySet[Property]:
        """The properties this member sees (their groups', or the whole business's)."""
        return self.scope.properties(Property.objects.for_business(self.business))

    def once(self, key: str, read: Callable[[], Any]) -> Any:
        """`read()` the first time a page asks for `key`, its answer after that."""
        if key not in self.memo:
            self.memo[key] = read()
        return self.memo[key]


def acting_for(request: HttpRequest) -> Acting | None:
    membership = acting_membership(request)
    user = request.user
    if membership is None or not isinstance(user, User):
        return None
    business = membership.business
    return Acting(
        membership=membership,
        user=user,
        business=business,
        today=timezone.now().astimezone(business.tz).date(),
        scope=scope_for(membership),
    )


def _no_business(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)  # signed in, checked by the caller
    if memberships_for_user(user=user).exists():
        # A staff member: they act through the links in their emails.
        return render(request, "dashboard/forbidden.html", status=403)
    if user.is_superuser:
        return redirect("admin:index")
    return redirect("onboarding")


def _set_up_two_factor(request: HttpRequest) -> HttpResponse:
    messages.warning(
        request,
        "Your business requires owners to sign in with two-factor authentication: "
        "set up an authenticator app to continue.",
    )
    return redirect("mfa_activate_totp")


def dashboard_view(view: Callable[..., HttpResponse], *, action: str = VIEW_DASHBOARD) -> Any:
    """Wrap a page: anonymous -> sign-in page; no business -> onboarding; not allowed
    -> 403; otherwise `view(request, acting, **kwargs)`, answered as private."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        acting = acting_for(request)
        if acting is None:
            return _no_business(request)
        if not acting.may(VIEW_DASHBOARD) or not acting.may(action):
            return render(request, "dashboard/forbidden.html", status=403)
        if two_factor_missing(request):
            return _set_up_two_factor(request)
        # Times on these pages are the business's local times.
        with timezone.override(acting.business.tz):
            response = view(request, acting, *args, **kwargs)
        patch_cache_control(response, private=True, no_cache=True)
        return response

    # Read by the permission matrix and docs/roles.md (properties.roles_doc).
    wrapped.holidesk_action = action  # type: ignore[attr-defined]
    return wrapped
