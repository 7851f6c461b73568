"""Owner API tokens: created by owners only, stored hashed, revoked, never edited."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from properties import permissions
from properties.models import ApiToken, Business, User


def api_token_create(
    *, business: Business, user: User, name: str = "API token", raw_key: str | None = None
) -> tuple[ApiToken, str]:
    """Create a token for `user` (an owner of `business`); returns it with the raw key,
    which is never stored."""
    permissions.require(
        user,
        permissions.CREATE_API_TOKEN,
        business=business,
        message="Only an owner may create API tokens.",
    )
    raw = raw_key or ApiToken.new_key()
    token = ApiToken.objects.create(
        business=business,
        user=user,
        name=name,
        key_hash=ApiToken.hash_key(raw),
        key_hint=raw[:10],
    )
    return token, raw


def api_token_revoke(*, token: ApiToken, by: User | AnonymousUser | None = None) -> ApiToken:
    """Revoke `token`. `by` is the person acting (None: the platform itself, as in a
    management command); a manager may revoke only their own tokens."""
    if by is not None:
        permissions.require(
            by,
            permissions.REVOKE_API_TOKEN,
            business=token.business,
            obj=token,
            message="Only an owner may revoke someone else's token.",
        )
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token
