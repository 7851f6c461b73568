"""Who may do what: the one question every admin page, form, action and service asks.

Nothing else compares roles. A page asks `permits(membership, action, obj)` (or
`user_may(user, action, business=...)`, which also knows platform superusers); a
service calls `require(...)` so that every door to a write meets the same rule.

Roles today (docs/security.md):

- owner: everything in their business, and alone may change the site's address
  (slug, custom domain), mint API tokens, grant the owner role, and change or remove
  another owner's membership;
- manager: the day-to-day work (properties, bookings, messages, channels, members
  who are not owners), none of the above;
- staff: nothing here; they act through signed email links.

A business always keeps at least one owner (`properties.services.members`, and a
deferred constraint trigger in PostgreSQL behind it).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser

from properties.errors import DomainError
from properties.models import ApiToken, Business, Membership, User

# --- Dashboard pages -----------------------------------------------------------------
# See the business's day, calendar, bookings, messages and channels.
VIEW_DASHBOARD = "dashboard.view"
# Write to the calendar: owner blocks, cancellations with their refunds.
MANAGE_BOOKINGS = "bookings.manage"
# Act on partner channels: resolve conflicts, re-drive pushes.
MANAGE_CHANNELS = "channels.manage"
# Act on the outbox: send a failed message again, cancel one.
MANAGE_MESSAGES = "messages.manage"
# Change what guests see of a property: its photos (upload, describe, order, publish).
EDIT_PROPERTIES = "properties.edit"

# --- The business itself -------------------------------------------------------------
# Name, contact, locale, branding.
EDIT_BUSINESS = "business.edit"
# The site's address: `<slug>.<base domain>`.
RENAME_SITE = "business.rename"
# A custom domain: who sets it decides where visitors and their sessions go.
SET_CUSTOM_DOMAIN = "business.set_domain"

# --- Members and API tokens ------------------------------------------------------------
ADD_MEMBER = "membership.add"
CHANGE_MEMBER = "membership.change"
REMOVE_MEMBER = "membership.remove"
GRANT_OWNER = "membership.grant_owner"
CREATE_API_TOKEN = "api_token.create"  # noqa: S105 - an action's name, not a secret
REVOKE_API_TOKEN = "api_token.revoke"  # noqa: S105

# --- Money -----------------------------------------------------------------------------
# Connect the business's Stripe account (where guests' money lands) and manage its
# Holidesk subscription (plan, card, invoices).
MANAGE_BILLING = "billing.manage"

ACTIONS = frozenset(
    {
        VIEW_DASHBOARD,
        MANAGE_BOOKINGS,
        MANAGE_CHANNELS,
        MANAGE_MESSAGES,
        EDIT_PROPERTIES,
        EDIT_BUSINESS,
        RENAME_SITE,
        SET_CUSTOM_DOMAIN,
        ADD_MEMBER,
        CHANGE_MEMBER,
        REMOVE_MEMBER,
        GRANT_OWNER,
        CREATE_API_TOKEN,
        REVOKE_API_TOKEN,
        MANAGE_BILLING,
    }
)
OWNER_ONLY = frozenset(
    {RENAME_SITE, SET_CUSTOM_DOMAIN, GRANT_OWNER, CREATE_API_TOKEN, MANAGE_BILLING}
)

ROLE_ACTIONS: dict[str, frozenset[str]] = {
    Membership.Role.OWNER: ACTIONS,
    Membership.Role.MANAGER: ACTIONS - OWNER_ONLY,
    Membership.Role.STAFF: frozenset(),
}


class NotAllowed(DomainError):
    code = "forbidden"
    http_status = 403


def _business_id(obj: Any) -> int | None:
    if isinstance(obj, Business):
        return obj.pk
    business_id: int | None = getattr(obj, "business_id", None)
    return business_id


def permits(membership: Membership | None, action: str, obj: Any = None) -> bool:
    """Whether this membership may do `action` (to `obj`, a row of its business, as
    stored now). An unknown action is a programming error, not a "no": a typo must not
    silently lock everyone out."""
    if action not in ACTIONS:
        raise ValueError(f"Unknown action {action!r}.")
    if membership is None or action not in ROLE_ACTIONS.get(membership.role, frozenset()):
        return False
    if obj is None:
        return True
    if _business_id(obj) != membership.business_id:
        return False
    is_owner = membership.role == Membership.Role.OWNER
    if isinstance(obj, Membership) and action in (CHANGE_MEMBER, REMOVE_MEMBER):
        # A manager who could demote or remove an owner would be an owner.
        return is_owner or obj.role != Membership.Role.OWNER
    if isinstance(obj, ApiToken) and action == REVOKE_API_TOKEN:
        return is_owner or obj.user_id == membership.user_id
    return True


def user_may(
    user: User | AnonymousUser, action: str, *, business: Business, obj: Any = None
) -> bool:
    """`permits` for a user in a business; platform superusers may do everything."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        if action not in ACTIONS:
            raise ValueError(f"Unknown action {action!r}.")
        return True
    membership = Membership.objects.filter(user=user, business=business).first()
    return permits(membership, action, obj)


def require(
    user: User | AnonymousUser,
    action: str,
    *,
    business: Business,
    obj: Any = None,
    message: str = "Your role in this business does not allow that.",
) -> None:
    """Raise NotAllowed unless `user_may(...)`: the services' guard."""
    if not user_may(user, action, business=business, obj=obj):
        raise NotAllowed(message, action=action)
