"""Who may do what: the one question every dashboard page, admin page, API view and
service asks.

Nothing else compares roles. A page names an action and asks
`permits(membership, action, obj)` (or `user_may(user, action, business=...)`, which
also knows platform superusers); a service calls `require(...)` so that every door to
a write meets the same rule. What a member *sees* is narrowed by one mechanism too:
`scope_for(membership)` gives a `Scope`, and selectors pass their querysets through
`Scope.properties(...)` / `Scope.apply(...)`, so a hotel manager's pages, reports and
API answers hold only their hotels' rows (another group's object answers 404, exactly
like another business's).

The roles (docs/roles.md is generated from this module: `manage.py roles_doc`):

- owner: everything, including owners' memberships, payouts, the site's address and custom
  domain, API tokens, channel secrets and deleting the business. A business always
  keeps at least one owner, and only owners make, change or remove owners;
- manager (a chain manager): every operation across the business, including members
  who are not owners; none of the above;
- group manager (a hotel manager): the manager's operations within their property
  groups; business-wide things (channels, broadcasts, the team, the admin) are hidden;
- front desk (a hotel employee): within their groups, the calendar, bookings (create,
  change dates, cancel within the policy), guest conversations, today's arrivals;
- viewer (an accountant): reports and the calendar, read only;
- staff (cleaners, repairs): no dashboard; they act through signed email links.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from django.contrib.auth.models import AnonymousUser
from django.db.models import Model, Q, QuerySet

from properties.errors import DomainError
from properties.models import ApiToken, Business, Membership, Property, PropertyGroup, User

if TYPE_CHECKING:
    from collections.abc import Iterable

M = TypeVar("M", bound=Model)

Role = Membership.Role

# --- Dashboard and calendar ---------------------------------------------------------------
# Enter the dashboard at all (Today, the navigation).
VIEW_DASHBOARD = "dashboard.view"
# The calendar of properties: who stays when.
VIEW_CALENDAR = "calendar.view"
# Bookings with the guests' details: the list, one booking, the CSV export.
VIEW_BOOKINGS = "bookings.view"
# Write to the calendar: create stays, change dates, owner blocks, cancel within policy.
MANAGE_BOOKINGS = "bookings.manage"
# Refund more than the cancellation policy gives (a goodwill refund).
REFUND_BEYOND_POLICY = "bookings.refund_beyond_policy"
# Occupancy and revenue reports.
VIEW_REPORTS = "reports.view"

# --- Messages --------------------------------------------------------------------------
# Guest conversations and the emails of a stay.
VIEW_MESSAGES = "messages.view"
# Reply to guests; send a failed email again, cancel one.
MANAGE_MESSAGES = "messages.manage"
# Free-night broadcasts to past guests (business-wide).
VIEW_BROADCASTS = "broadcasts.view"
SEND_BROADCASTS = "broadcasts.send"

# --- Properties, rates, staff ------------------------------------------------------------
MANAGE_PROPERTIES = "properties.manage"
MANAGE_RATES = "rates.manage"
# Cleaners and repair people, their jobs and key codes.
MANAGE_STAFF = "staff.manage"

# --- Channels --------------------------------------------------------------------------
# Double bookings between channels, to resolve.
VIEW_CONFLICTS = "conflicts.view"
# Channels' health and listings (business-wide).
VIEW_CHANNELS = "channels.view"
# Act on partner channels: listings, resolve conflicts, re-drive pushes.
MANAGE_CHANNELS = "channels.manage"
# See or rotate a channel's signing secrets.
MANAGE_CHANNEL_SECRETS = "channels.secrets"

# --- The business itself -------------------------------------------------------------
# The Django admin (business-wide tables).
USE_ADMIN = "admin.use"
# Name, contact, locale, branding.
EDIT_BUSINESS = "business.edit"
# The site's address: `<slug>.<base domain>`.
RENAME_SITE = "business.rename"
# A custom domain: who sets it decides where visitors and their sessions go.
SET_CUSTOM_DOMAIN = "business.set_domain"
# Stripe account, payouts, billing.
MANAGE_PAYOUTS = "business.payouts"
DELETE_BUSINESS = "business.delete"
# Who changed what, when.
VIEW_AUDIT_LOG = "audit.view"
# Require two-factor sign-in of the business's owners.
REQUIRE_TWO_FACTOR = "business.require_2fa"

# --- Members and API tokens ------------------------------------------------------------
VIEW_TEAM = "membership.view"
ADD_MEMBER = "membership.add"
CHANGE_MEMBER = "membership.change"
REMOVE_MEMBER = "membership.remove"
GRANT_OWNER = "membership.grant_owner"
CREATE_API_TOKEN = "api_token.create"  # noqa: S105 - an action's name, not a secret
REVOKE_API_TOKEN = "api_token.revoke"  # noqa: S105

# In the order docs/roles.md lists them, with what each means there.
ACTION_TEXT: dict[str, str] = {
    VIEW_DASHBOARD: "Enter the dashboard (Today, navigation)",
    VIEW_CALENDAR: "See the calendar",
    VIEW_BOOKINGS: "See bookings and guests' details",
    MANAGE_BOOKINGS: "Create bookings, change dates, block nights, cancel within policy",
    REFUND_BEYOND_POLICY: "Refund beyond the cancellation policy",
    VIEW_REPORTS: "See reports",
    VIEW_MESSAGES: "See guest conversations and a stay's emails",
    MANAGE_MESSAGES: "Reply to guests, send an email again",
    VIEW_BROADCASTS: "See broadcasts",
    SEND_BROADCASTS: "Send broadcasts to past guests",
    MANAGE_PROPERTIES: "Add and edit properties",
    MANAGE_RATES: "Change prices and stay rules",
    MANAGE_STAFF: "Manage cleaners and repair staff",
    VIEW_CONFLICTS: "See double bookings",
    VIEW_CHANNELS: "See channels",
    MANAGE_CHANNELS: "Manage channels' listings, resolve conflicts, re-drive pushes",
    MANAGE_CHANNEL_SECRETS: "See and rotate channel secrets",
    USE_ADMIN: "Use the admin (business-wide tables)",
    EDIT_BUSINESS: "Edit the business's name, contact, locale, branding",
    RENAME_SITE: "Change the site's address",
    SET_CUSTOM_DOMAIN: "Set a custom domain",
    MANAGE_PAYOUTS: "Stripe account, payouts and billing",
    DELETE_BUSINESS: "Delete the business",
    VIEW_AUDIT_LOG: "See the audit log",
    REQUIRE_TWO_FACTOR: "Require two-factor sign-in of owners",
    VIEW_TEAM: "See the team",
    ADD_MEMBER: "Invite members",
    CHANGE_MEMBER: "Change a member's role and groups",
    REMOVE_MEMBER: "Remove a member",
    GRANT_OWNER: "Make someone an owner",
    CREATE_API_TOKEN: "Create API tokens",
    REVOKE_API_TOKEN: "Revoke API tokens (a manager: only their own)",
}
ACTIONS = frozenset(ACTION_TEXT)

_OWNER_ONLY = frozenset(
    {
        RENAME_SITE,
        SET_CUSTOM_DOMAIN,
        MANAGE_PAYOUTS,
        DELETE_BUSINESS,
        VIEW_AUDIT_LOG,
        REQUIRE_TWO_FACTOR,
        MANAGE_CHANNEL_SECRETS,
        GRANT_OWNER,
        CREATE_API_TOKEN,
    }
)
_MANAGER = ACTIONS - _OWNER_ONLY
_GROUP_MANAGER = _MANAGER - {
    USE_ADMIN,
    EDIT_BUSINESS,
    VIEW_CHANNELS,
    MANAGE_CHANNELS,
    VIEW_BROADCASTS,
    SEND_BROADCASTS,
    REVOKE_API_TOKEN,
    VIEW_TEAM,
    ADD_MEMBER,
    CHANGE_MEMBER,
    REMOVE_MEMBER,
}
_FRONT_DESK = frozenset(
    {
        VIEW_DASHBOARD,
        VIEW_CALENDAR,
        VIEW_BOOKINGS,
        MANAGE_BOOKINGS,
        VIEW_MESSAGES,
        MANAGE_MESSAGES,
    }
)
_VIEWER = frozenset({VIEW_DASHBOARD, VIEW_CALENDAR, VIEW_REPORTS})

ROLE_ACTIONS: dict[str, frozenset[str]] = {
    Role.OWNER: ACTIONS,
    Role.MANAGER: frozenset(_MANAGER),
    Role.GROUP_MANAGER: frozenset(_GROUP_MANAGER),
    Role.FRONT_DESK: _FRONT_DESK,
    Role.VIEWER: _VIEWER,
    Role.STAFF: frozenset(),
}
# Roles that see only their property groups (a member of one without groups sees none).
GROUP_SCOPED_ROLES = frozenset({Role.GROUP_MANAGER, Role.FRONT_DESK})
# Roles a manager may give (and change, and remove); the rest only an owner.
_MANAGER_GRANTS = frozenset(
    {Role.GROUP_MANAGER, Role.FRONT_DESK, Role.VIEWER, Role.STAFF, Role.MANAGER}
)


class NotAllowed(DomainError):
    code = "forbidden"
    http_status = 403


def roles_with(action: str) -> tuple[str, ...]:
    """The roles allowed `action` (for queries such as "the businesses I may enter")."""
    _check(action)
    return tuple(role for role, actions in ROLE_ACTIONS.items() if action in actions)


def is_owner(membership: Membership | None) -> bool:
    return membership is not None and membership.role == Role.OWNER


def is_group_scoped(role: str) -> bool:
    return role in GROUP_SCOPED_ROLES


def _check(action: str) -> None:
    if action not in ACTIONS:
        raise ValueError(f"Unknown action {action!r}.")


# --- Scope: which properties a member sees ---------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """The part of a business a member works in: all of it (`group_ids is None`), or
    the properties of some groups."""

    business_id: int
    group_ids: frozenset[int] | None = None

    @property
    def whole_business(self) -> bool:
        return self.group_ids is None

    def apply(self, qs: QuerySet[M], via: str = "property") -> QuerySet[M]:
        """`qs` narrowed to rows whose property (reached by `via`, "" for a Property
        queryset itself) is in the scope's groups. Rows without a property (a
        business-wide row) are left out of a group scope."""
        if self.group_ids is None:
            return qs
        prefix = f"{via}__" if via else ""
        return qs.filter(**{f"{prefix}group_id__in": sorted(self.group_ids)})

    def apply_any(self, qs: QuerySet[M], *vias: str) -> QuerySet[M]:
        """`qs` narrowed to rows whose property reached by any of `vias` is in scope
        (an email about a stay, or about the cleaning after one)."""
        if self.group_ids is None:
            return qs
        ids = sorted(self.group_ids)
        condition = Q()
        for via in vias:
            condition |= Q(**{f"{via}__group_id__in": ids})
        return qs.filter(condition)

    def properties(self, qs: QuerySet[Property] | None = None) -> QuerySet[Property]:
        base = Property.objects.filter(business_id=self.business_id) if qs is None else qs
        return self.apply(base, via="")

    def groups(self) -> QuerySet[PropertyGroup]:
        qs = PropertyGroup.objects.filter(business_id=self.business_id)
        if self.group_ids is None:
            return qs
        return qs.filter(pk__in=sorted(self.group_ids))

    def covers_property(self, property_id: int | None, group_id: int | None) -> bool:
        if self.group_ids is None:
            return True
        return property_id is not None and group_id in self.group_ids


def scope_for(membership: Membership) -> Scope:
    """The scope of a membership (one query for a group-scoped role)."""
    if not is_group_scoped(membership.role):
        return Scope(business_id=membership.business_id)
    if membership.pk is None:
        return Scope(business_id=membership.business_id, group_ids=frozenset())
    ids = frozenset(membership.groups.values_list("pk", flat=True))
    return Scope(business_id=membership.business_id, group_ids=ids)


def scope_properties(
    membership: Membership | Scope, qs: QuerySet[M], *, via: str = "property"
) -> QuerySet[M]:
    """`qs` (already of the membership's business) narrowed to what the member sees."""
    scope = membership if isinstance(membership, Scope) else scope_for(membership)
    return scope.apply(qs, via=via)


def _business_id(obj: Any) -> int | None:
    if isinstance(obj, Business):
        return obj.pk
    business_id: int | None = getattr(obj, "business_id", None)
    return business_id


def _property_group(obj: Any) -> tuple[bool, int | None, int | None]:
    """(whether obj belongs to a property, its property id, that property's group id)."""
    if isinstance(obj, Property):
        return True, obj.pk, obj.group_id
    if isinstance(obj, PropertyGroup):
        return True, -1, obj.pk
    prop = getattr(obj, "property", None)
    if isinstance(prop, Property):
        return True, prop.pk, prop.group_id
    return False, None, None


def permits(
    membership: Membership | None, action: str, obj: Any = None, *, scope: Scope | None = None
) -> bool:
    """Whether this membership may do `action` (to `obj`, a row of its business, as
    stored now). An unknown action is a programming error, not a "no": a typo must not
    silently lock everyone out."""
    _check(action)
    if membership is None or action not in ROLE_ACTIONS.get(membership.role, frozenset()):
        return False
    if obj is None:
        return True
    if _business_id(obj) != membership.business_id:
        return False
    owner = is_owner(membership)
    if isinstance(obj, Membership) and action in (CHANGE_MEMBER, REMOVE_MEMBER):
        # A manager who could demote or remove an owner would be an owner.
        return owner or obj.role in _MANAGER_GRANTS
    if isinstance(obj, ApiToken) and action == REVOKE_API_TOKEN:
        return owner or obj.user_id == membership.user_id
    if is_group_scoped(membership.role):
        has_property, property_id, group_id = _property_group(obj)
        if not has_property:
            return False  # a business-wide row: outside any group scope
        scope = scope or scope_for(membership)
        return scope.covers_property(property_id, group_id)
    return True


def two_factor_required(membership: Membership | None) -> bool:
    """Whether this member must sign in with a second factor (owners, once their
    business turns it on)."""
    return is_owner(membership) and bool(
        membership is not None and membership.business.require_owner_two_factor
    )


def may_grant(membership: Membership | None, role: str) -> bool:
    """Whether this member may give `role` to someone (owners: any; managers: not owner)."""
    if membership is None:
        return False
    if is_owner(membership):
        return True
    return permits(membership, ADD_MEMBER) and role in _MANAGER_GRANTS


def user_may(
    user: User | AnonymousUser, action: str, *, business: Business, obj: Any = None
) -> bool:
    """`permits` for a user in a business; platform superusers may do everything."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        _check(action)
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


def matrix(roles: Iterable[str] | None = None) -> list[tuple[str, dict[str, bool]]]:
    """Every action with which roles may do it, in documentation order."""
    chosen = list(roles or ROLE_ACTIONS)
    return [
        (action, {role: action in ROLE_ACTIONS[role] for role in chosen}) for action in ACTION_TEXT
    ]
