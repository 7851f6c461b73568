"""API authentication: `Authorization: Token <key>` (hashed at rest) or the session."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from properties.access import MANAGING_ROLES, acting_membership
from properties.audit import audit_actor
from properties.models import ApiToken, Business, Membership, User
from properties.permissions import Scope, permits, scope_for

LAST_USED_GRANULARITY = timedelta(minutes=5)


class ApiTokenAuthentication(BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header: Token <key>.")
        try:
            raw = parts[1].decode()
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        token = (
            ApiToken.objects.select_related("user", "business")
            .filter(key_hash=ApiToken.hash_key(raw), revoked_at__isnull=True)
            .first()
        )
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        # A token outlives nothing: leaving the business disables it.
        if not Membership.objects.filter(
            user=token.user, business=token.business, role__in=MANAGING_ROLES
        ).exists():
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_GRANULARITY:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


def api_membership(request: Request) -> Membership | None:
    """The membership an API request acts through: the token's user in the token's
    business (as stored now), or the session user's acting membership."""
    if isinstance(request.auth, ApiToken):
        token = request.auth
        return (
            Membership.objects.select_related("business")
            .filter(user_id=token.user_id, business_id=token.business_id)
            .first()
        )
    return acting_membership(request._request)


def api_business(request: Request) -> Business | None:
    """The business an API request acts for: the token's, or the session user's."""
    membership = api_membership(request)
    return membership.business if membership else None


def api_scope(request: Request) -> Scope:
    """What the member behind an API request sees (set by IsBusinessMember)."""
    scope: Scope = request.scope  # type: ignore[attr-defined]
    return scope


class IsBusinessMember(BasePermission):
    """A member of the acting business whose role permits the view's action for this
    method: each view says `actions = {"GET": VIEW_BOOKINGS, "POST": MANAGE_BOOKINGS}`
    (properties.permissions decides; a view that names none is a programming error)."""

    message = "Sign in or send a token of a business member."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        actions: dict[str, str] | None = getattr(view, "actions", None)
        if actions is None:
            raise ImproperlyConfigured(f"{type(view).__name__} names no `actions`.")
        membership = api_membership(request)
        if membership is None:
            return False
        audit_actor(request.user)
        request.business = membership.business  # type: ignore[attr-defined]
        request.membership = membership  # type: ignore[attr-defined]
        request.scope = scope_for(membership)  # type: ignore[attr-defined]
        action = actions.get(request.method or "", actions.get("GET"))
        if action is None or not permits(membership, action, scope=request.scope):  # type: ignore[attr-defined]
            self.message = "Your role in this business does not allow that."
            return False
        return True
