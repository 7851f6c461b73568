"""Who may do what: the one question every page, form and action asks.

Views never compare roles; they ask `permits(membership, action)`. Today owners and
managers may do everything in their business and staff members nothing here (they act
through signed email links). Finer rules (a manager who may not refund, a member
limited to one group of properties) change this table, not the views.
"""

from __future__ import annotations

from properties.models import Membership

# The dashboard: see the business's day, calendar, bookings, messages and channels.
VIEW_DASHBOARD = "dashboard.view"
# Write to the calendar: owner blocks, cancellations with their refunds.
MANAGE_BOOKINGS = "bookings.manage"
# Act on partner channels: resolve conflicts, re-drive pushes.
MANAGE_CHANNELS = "channels.manage"
# Act on the outbox: send a failed message again, cancel one.
MANAGE_MESSAGES = "messages.manage"

ACTIONS = frozenset({VIEW_DASHBOARD, MANAGE_BOOKINGS, MANAGE_CHANNELS, MANAGE_MESSAGES})

ROLE_ACTIONS: dict[str, frozenset[str]] = {
    Membership.Role.OWNER: ACTIONS,
    Membership.Role.MANAGER: ACTIONS,
    Membership.Role.STAFF: frozenset(),
}


def permits(membership: Membership | None, action: str) -> bool:
    """Whether this membership may do `action` in its business. An unknown action is
    a programming error, not a "no": a typo must not silently lock everyone out."""
    if action not in ACTIONS:
        raise ValueError(f"Unknown action {action!r}.")
    if membership is None:
        return False
    return action in ROLE_ACTIONS.get(membership.role, frozenset())
