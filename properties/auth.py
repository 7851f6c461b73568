"""API authentication: `Authorization: Token <key>` (hashed at rest) or the session."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from properties.access import MANAGING_ROLES, acting_business
from properties.models import ApiToken, Business, Membership, User

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


def api_business(request: Request) -> Business | None:
    """The business an API request acts for: the token's, or the session user's."""
    if isinstance(request.auth, ApiToken):
        return request.auth.business
    return acting_business(request._request)


class IsBusinessMember(BasePermission):
    message = "Sign in or send a token of a business owner or manager."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        business = api_business(request)
        request.business = business  # type: ignore[attr-defined]
        return business is not None
