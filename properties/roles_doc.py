"""docs/roles.md, written from the permission module and the URL conf.

`python manage.py roles_doc` writes it; `roles_doc --check` (and a test) fails when
the committed file is not what the code says. Each owner-facing URL names its action:
dashboard pages through `dashboard_view(..., action=...)`, API views through their
`actions`; the table says which roles pass, and whether group-scoped roles see their
groups' objects only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

from properties import permissions
from properties.models import Membership


@dataclass(frozen=True)
class Route:
    name: str  # with its namespace, e.g. "dashboard:calendar"
    path: str  # the route, e.g. "dashboard/bookings/<str:reference>/"
    callback: object

    @property
    def actions(self) -> dict[str, str]:
        """HTTP method -> action the URL asks of the permission module ({} if none)."""
        action = getattr(self.callback, "holidesk_action", None)
        if isinstance(action, str):
            return {"any": action}
        view_class = getattr(self.callback, "view_class", None) or getattr(
            self.callback, "cls", None
        )
        declared = getattr(view_class, "actions", None)
        if not isinstance(declared, dict):
            return {}
        return {m: a for m, a in declared.items() if hasattr(view_class, m.lower())}

    @property
    def per_object(self) -> bool:
        """Whether the URL names one object (which a group scope may hide)."""
        return any(f"<{kind}:{name}>" in self.path for kind, name in OBJECT_KWARGS)


def walk(
    patterns: list[URLPattern | URLResolver] | None = None,
    prefix: str = "",
    namespace: str = "",
) -> Iterator[Route]:
    """Every URL pattern of the root URL conf, with its full route and name."""
    if patterns is None:
        patterns = list(get_resolver().url_patterns)
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            ns = namespace
            if pattern.namespace:
                ns = f"{namespace}{pattern.namespace}:"
            yield from walk(list(pattern.url_patterns), route, ns)
        else:
            name = f"{namespace}{pattern.name}" if pattern.name else ""
            yield Route(name=name, path=route, callback=pattern.callback)


def owner_routes() -> list[Route]:
    """The dashboard pages and owner API views, each with the action it asks."""
    rows = [
        r
        for r in walk()
        if r.actions and (r.name.startswith("dashboard:") or r.path.startswith("api/v1/"))
    ]
    return sorted(rows, key=lambda r: (not r.name.startswith("dashboard:"), r.path))


# URL arguments that name one object of the business (`<slug:table>` names none).
OBJECT_KWARGS = (
    ("str", "reference"),
    ("int", "property_id"),
    ("int", "conversation_id"),
    ("int", "message_id"),
    ("int", "broadcast_id"),
    ("str", "public_id"),
    ("int", "member_id"),
    ("int", "invitation_id"),
    ("int", "rate_id"),
    ("int", "staff_id"),
)

ROLES = [role for role, _ in Membership.Role.choices]
LABELS = dict(Membership.Role.choices)


def _cell(role: str, action: str, *, per_object: bool) -> str:
    if action not in permissions.ROLE_ACTIONS[role]:
        return "—"
    if per_object and permissions.is_group_scoped(role):
        return "own groups"
    return "yes"


def render() -> str:
    head = "| | " + " | ".join(LABELS[r] for r in ROLES) + " |"
    rule = "| --- |" + " --- |" * len(ROLES)
    lines = [
        "# Roles and what they may do",
        "",
        "<!-- Written by `python manage.py roles_doc` from properties/permissions.py and",
        "the URL conf; a test fails when this file is out of date. Do not edit by hand. -->",
        "",
        "Every dashboard page, admin page, owner API view and service asks one module,",
        "`properties/permissions.py`, whether a member may do an action. Group managers and",
        "front desk members are limited to their property groups (for example their hotels):",
        "they see only those properties, their bookings, conversations, cleaning jobs and",
        "reports, and another group's object answers 404 like another business's. Staff",
        "(cleaners, repairs) have no dashboard: they act through signed email links, and",
        "see their coming jobs on a page reached from a link they ask for at",
        "`/m/staff/my-jobs/`.",
        "",
        "A business always keeps at least one owner, and only owners make, change or",
        "remove owners. The admin's tables are business-wide, so only owners and managers",
        "enter it. Group managers change their groups' properties, prices and seasons, and",
        "the cleaners of their properties, on the dashboard's own pages (a property's",
        "settings and prices, staff); repair and other staff, who work across the",
        "business, are an owner's or manager's. The business settings page shows",
        "everyone with `business.edit` its name, contact, branding (logo included),",
        "currency and site languages; only owners see and change the custom domain",
        "(`business.set_domain`) and the two-factor rule there.",
        "",
        "## Actions",
        "",
        head.replace("| |", "| Action |", 1),
        rule,
    ]
    for action, allowed in permissions.matrix(ROLES):
        cells = " | ".join("yes" if allowed[r] else "—" for r in ROLES)
        lines.append(f"| {permissions.ACTION_TEXT[action]} (`{action}`) | {cells} |")
    lines += [
        "",
        "## Pages and API",
        "",
        "“own groups”: allowed for objects of the member's groups only (others answer 404).",
        "Lists (Today, calendar, bookings, inbox, reports, API lists) hold only those groups'",
        "rows for group managers and front desk.",
        "",
        head.replace("| |", "| URL | Action |", 1),
        rule.replace("| --- |", "| --- | --- |", 1),
    ]
    for route in owner_routes():
        for method, action in sorted(route.actions.items()):
            cells = " | ".join(_cell(r, action, per_object=route.per_object) for r in ROLES)
            shown = f"`/{route.path}`" if method == "any" else f"{method} `/{route.path}`"
            lines.append(f"| {shown} | `{action}` | {cells} |")
    lines.append("")
    return "\n".join(lines)
