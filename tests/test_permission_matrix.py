"""The permission matrix: every dashboard page, admin page and owner API URL, for
every kind of person, on an object of group A and of group B.

The URLs come from the URL conf itself (`properties.roles_doc.walk`): a URL that is
neither a dashboard page, an admin page, an owner API view nor in `OUTSIDE` (public or
signed-link URLs, with the reason) fails `test_every_url_is_in_the_matrix`, so a new
page cannot be forgotten. What each person should get is derived from the action the
URL names and the role table of `properties.permissions`, and then checked against
what the server really answers: a page that forgets to ask, or a selector that forgets
the group scope, shows up here. It doubles as the generic tenant-isolation test: a
member of another business gets 404 for every object URL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from django.contrib.admin.utils import quote
from django.test import Client
from django.urls import reverse

from bookings.models import Booking
from bookings.payments.services.refunds import booking_cancel_and_refund
from bookings.services.blocks import block_create
from bookings.services.stays import booking_create
from integrations.models import BookingConflict
from messaging.inbox_models import Conversation
from messaging.models import Broadcast, Kind, PropertyMessaging, ScheduledMessage, Staff
from properties import permissions
from properties.admin_base import TenantAdmin, site
from properties.models import (
    Business,
    Membership,
    Property,
    PropertyGroup,
    SeasonalRate,
    User,
)
from properties.permissions import NotAllowed
from properties.roles_doc import Route, walk
from properties.services.invitations import invitation_create
from tests.conftest import APP_HOST, make_tenant
from tests.factories import MembershipFactory, PropertyFactory
from tests.tenant_objects import make

Role = Membership.Role

# URLs outside the matrix, each with why: they are reached signed out or through a
# signed link, and have their own tests.
OUTSIDE: dict[str, str] = {
    "landing": "public front page",
    "invitation-accept": "reached by an invited person before they are a member (tests/properties/test_team.py)",
    "onboarding": "a signed-in person without a business creates one (tests/properties/test_onboarding.py)",
    "api-schema": "public API description",
    "api-docs": "public API description",
    "api-redoc": "public API description",
    "api-channel-events": "partner webhook, signed per channel (tests/integrations/test_inbound.py)",
    "stripe-webhook": "signed by Stripe (tests/bookings/test_payments.py)",
    "messaging:staff-action": "staff act through signed links (tests/messaging)",
    "messaging:unsubscribe": "guests unsubscribe through signed links (tests/messaging)",
    "messaging:staff-jobs": "staff see their jobs through a signed link (tests/messaging/test_staff_jobs.py)",
    "messaging:staff-jobs-request": "staff ask for their jobs link by email (tests/messaging/test_staff_jobs.py)",
    "ical-export": "iCal feeds by unguessable token (tests/integrations/test_ical.py)",
    "photo-upload": "upload by signed token (tests/properties/photos)",
    "healthz": "load balancer probe",
    "readyz": "load balancer probe",
    "dashboard:switch-business": "POST only; tests/properties/test_switcher.py",
    "admin:login": "sends to the sign-in page (tests/properties/test_login_throttle.py)",
    "admin:logout": "signs out",
    "admin:password_change": "the platform's own accounts only",
    "admin:auth_user_password_change": "platform users: superusers only",
    "admin:password_change_done": "the platform's own accounts only",
    "admin:jsi18n": "static translations",
    "admin:view_on_site": "redirects to a site page",
    "admin:autocomplete": "answers from each model admin's own scoped queryset",
}
OUTSIDE_PREFIXES = (
    # allauth's sign-in, sign-up, password and two-factor flows: reached signed out.
    "accounts/",
    # Uploaded files in development.
    "media/",
)

# Ways a response can go.
OK, LOGIN, FORBIDDEN, NOT_FOUND = "ok", "login", "forbidden", "not found"

PERSONAS = [
    "owner",
    "manager",
    "group_manager_a",
    "front_desk_a",
    "viewer",
    "staff",
    "other_business",
    "anonymous",
]
PERSONA_ROLE = {
    "owner": Role.OWNER,
    "manager": Role.MANAGER,
    "group_manager_a": Role.GROUP_MANAGER,
    "front_desk_a": Role.FRONT_DESK,
    "viewer": Role.VIEWER,
    "staff": Role.STAFF,
    "other_business": Role.OWNER,  # of their own business
}


@dataclass
class World:
    business: Business
    other: Business
    users: dict[str, User]
    # kwarg name -> {"A": value, "B": value}
    kwargs: dict[str, dict[str, Any]]
    blocks: dict[str, str]


def _stay(prop: Property, days: int) -> Booking:
    start = prop.local_today() + timedelta(days=days)
    return booking_create(
        property=prop,
        check_in=start,
        check_out=start + timedelta(days=2),
        source="direct",
        guest_name="Ada Lovelace",
        guest_email="ada@example.com",
    )


def _objects(business: Business, prop: Property, days: int) -> dict[str, Any]:
    booking = _stay(prop, days)
    conversation = Conversation.objects.create(
        business=business,
        kind=Conversation.Kind.DIRECT,
        booking=booking,
        property=prop,
        guest_name="Ada",
        unread=True,
    )
    message = ScheduledMessage.objects.create(
        business=business,
        booking=booking,
        kind=Kind.REMINDER,
        recipient=booking.guest_email,
        key=f"matrix:{booking.reference}",
        send_at=booking.created_at + timedelta(days=1),
    )
    conflict = BookingConflict.objects.create(
        business=business,
        property=prop,
        external_id=f"R{days}",
        check_in=date(2031, 1, 1),
        check_out=date(2031, 1, 4),
    )
    broadcast = Broadcast.objects.create(
        business=business, property=prop, free_from=date(2031, 5, 1), free_until=date(2031, 5, 8)
    )
    block = block_create(
        property=prop,
        start=prop.local_today() + timedelta(days=days + 10),
        end=prop.local_today() + timedelta(days=days + 12),
    )
    rate = SeasonalRate.objects.create(
        business=business,
        property=prop,
        name=f"Summer {days}",
        start=date(2031, 7, 1),
        end=date(2031, 8, 1),
        nightly_price=150,
    )
    cleaner = Staff.objects.create(
        business=business, name=f"Cleaner {days}", email=f"c{days}@x.com"
    )
    PropertyMessaging.objects.update_or_create(
        property=prop, defaults={"business": business, "default_cleaner": cleaner}
    )
    return {
        "reference": booking.reference,
        "property_id": prop.pk,
        "conversation_id": conversation.pk,
        "message_id": message.pk,
        "public_id": conflict.public_id,
        "broadcast_id": broadcast.pk,
        "table": "months",
        "rate_id": rate.pk,
        "staff_id": cleaner.pk,
        "_block": block.reference,
    }


def build_world() -> World:
    tenant = make_tenant("seaside")
    other = make_tenant("alpine")
    business = tenant.business
    group_a = PropertyGroup.objects.create(business=business, name="Hotel A")
    group_b = PropertyGroup.objects.create(business=business, name="Hotel B")
    prop_a = PropertyFactory(business=business, group=group_a, name="Room A1")
    prop_b = PropertyFactory(business=business, group=group_b, name="Room B1")
    users = {"owner": tenant.owner, "other_business": other.owner}
    for persona in ("manager", "group_manager_a", "front_desk_a", "viewer", "staff"):
        membership = MembershipFactory(business=business, role=PERSONA_ROLE[persona])
        if permissions.is_group_scoped(membership.role):
            membership.groups.set([group_a])
        users[persona] = membership.user
    in_a, in_b = _objects(business, prop_a, 20), _objects(business, prop_b, 40)
    kwargs = {name: {"A": in_a[name], "B": in_b[name]} for name in in_a if name != "_block"}
    # Business-wide objects (no group): the same one in both columns.
    member = MembershipFactory(business=business, role=Role.VIEWER)
    invitation = invitation_create(
        by=tenant.owner, business=business, email="new@example.com", role=Role.VIEWER
    )
    kwargs["member_id"] = {"A": member.pk, "B": member.pk}
    kwargs["invitation_id"] = {"A": invitation.pk, "B": invitation.pk}
    return World(
        business=business,
        other=other.business,
        users=users,
        kwargs=kwargs,
        blocks={"A": in_a["_block"], "B": in_b["_block"]},
    )


# --- The URLs ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    kind: str  # dashboard, api, admin
    route: Route
    method: str
    action: str | None  # the permission-module action the URL names
    admin_model: Any = None
    admin_view: str = ""  # changelist, add, change, delete, history

    @property
    def label(self) -> str:
        return f"{self.method} /{self.route.path}"

    @property
    def object_args(self) -> list[str]:
        return re.findall(r"<(?:\w+:)?(\w+)>", self.route.path)


ADMIN_MODEL_VIEW = re.compile(r"^admin:(?P<app>\w+?)_(?P<model>[a-z0-9]+)_(?P<view>\w+)$")


def _admin_model(name: str) -> tuple[Any, str] | None:
    for model in site._registry:
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}_"
        if name.startswith(prefix):
            return model, name[len(prefix) :]
    return None


def classify(route: Route) -> list[Case] | None:
    """The matrix cases of one URL; None when it is outside the matrix."""
    if route.name in OUTSIDE or route.path.startswith(OUTSIDE_PREFIXES) or not route.name:
        return None
    if route.name.startswith("dashboard:"):
        action = route.actions.get("any")
        return [Case("dashboard", route, "GET", action)]
    if route.path.startswith("api/v1/"):
        return [Case("api", route, m, a) for m, a in sorted(route.actions.items())]
    if route.name.startswith("admin:"):
        found = _admin_model(route.name)
        if found is None:  # index, app_list
            return [Case("admin", route, "GET", permissions.USE_ADMIN)]
        model, view = found
        return [Case("admin", route, "GET", None, admin_model=model, admin_view=view)]
    return []  # unknown: fails test_every_url_is_in_the_matrix


ROUTES = list(walk())
CASES = [case for route in ROUTES for case in (classify(route) or [])]


def test_every_url_is_in_the_matrix() -> None:
    unknown = [f"{r.name or '(no name)'} /{r.path}" for r in ROUTES if classify(r) == []]
    assert unknown == [], "Add these URLs to the matrix (or to OUTSIDE, with the reason)."
    # A dashboard page or owner API view that names no action is refused by the shell.
    silent = [c.label for c in CASES if c.kind != "admin" and c.action is None]
    assert silent == []


# --- What each person should get ------------------------------------------------------------


def _admin_action(case: Case) -> str:
    admin = site._registry.get(case.admin_model)
    return getattr(admin, "admin_action", permissions.USE_ADMIN)


def expected(case: Case, persona: str, group: str) -> set[str]:
    """The answers this person may get for the object of `group` ("A" or "B")."""
    if persona == "anonymous":
        return {LOGIN}
    role = PERSONA_ROLE[persona]
    allowed = permissions.ROLE_ACTIONS[role]
    has_object = bool(set(case.object_args) - {"table", "app_label"})
    if case.kind == "admin":
        if case.admin_model is not None and not isinstance(
            site._registry[case.admin_model], TenantAdmin
        ):
            return {FORBIDDEN}  # platform tables (users): superusers only
        needed = (
            {permissions.USE_ADMIN, _admin_action(case)}
            if case.admin_model
            else {permissions.USE_ADMIN}
        )
        if not needed <= allowed:
            return {FORBIDDEN}
        if persona == "other_business" and has_object:
            return {NOT_FOUND}
        if case.admin_view in ("add", "delete", "change"):
            return {OK, FORBIDDEN}  # the model admin decides (read-only records, tokens)
        return {OK}
    assert case.action is not None
    if role == Role.STAFF or case.action not in allowed:
        return {FORBIDDEN}
    if persona == "other_business":
        return {NOT_FOUND} if has_object else {OK}
    if has_object and group == "B" and permissions.is_group_scoped(role):
        return {NOT_FOUND}
    return {OK}


def outcome(case: Case, status: int, location: str) -> str:
    if status in (301, 302) and ("/accounts/login/" in location or "/admin/login/" in location):
        return LOGIN
    if status == 401:
        return LOGIN
    if status == 403:
        return FORBIDDEN
    if status == 404:
        return NOT_FOUND
    if status >= 500:
        return f"server error {status}"
    return OK  # 2xx, a redirect elsewhere, or 400/405/409: the request got past access


def _url(case: Case, world: World, group: str) -> str:
    if case.kind == "admin":
        if "app_label" in case.route.path:
            return reverse(case.route.name, kwargs={"app_label": "properties"})
        admin_kwargs: dict[str, Any] = {}
        for name in case.object_args:
            if name == "object_id":
                # The admin is business-wide (no group-scoped role enters it): one
                # object per model serves both columns.
                obj = world.kwargs.setdefault(f"admin:{case.admin_model._meta.label}", {})
                if "pk" not in obj and case.admin_model is User:
                    obj["pk"] = world.users["owner"].pk  # platform table: no factory
                elif "pk" not in obj:
                    obj["pk"] = make(case.admin_model, world.business).pk
                admin_kwargs[name] = quote(obj["pk"])
            else:
                admin_kwargs[name] = world.kwargs[name][group]
        return reverse(case.route.name, kwargs=admin_kwargs)
    kwargs = {}
    for name in case.object_args:
        value = world.kwargs[name][group]
        if name == "reference" and "block" in case.route.path:
            value = world.blocks[group]
        kwargs[name] = value
    return reverse(case.route.name, kwargs=kwargs)


def _client(world: World, persona: str) -> Client:
    client = Client(HTTP_HOST=APP_HOST)
    if persona != "anonymous":
        client.force_login(world.users[persona])
    return client


@pytest.mark.parametrize("persona", PERSONAS)
def test_permission_matrix(db: None, persona: str) -> None:
    world = build_world()
    client = _client(world, persona)
    wrong = []
    for case in CASES:
        for group in ("A", "B"):
            url = _url(case, world, group)
            call = getattr(client, case.method.lower())
            extra = {"content_type": "application/json"} if case.method != "GET" else {}
            response = call(url, **extra)
            got = outcome(case, response.status_code, response.get("Location", ""))
            want = expected(case, persona, group)
            if got not in want:
                wrong.append(
                    f"{case.method} {url} (group {group}): got {response.status_code} "
                    f"({got}), expected {' or '.join(sorted(want))}"
                )
    assert wrong == [], f"{persona}:\n" + "\n".join(wrong)


def test_matrix_covers_every_kind_of_url() -> None:
    kinds = {case.kind for case in CASES}
    assert kinds == {"dashboard", "api", "admin"}
    assert len([c for c in CASES if c.kind == "dashboard"]) >= 20


# A few rows spelled out, so the derived expectations above cannot drift unnoticed.
SPOT_CHECKS = [
    ("front_desk_a", "dashboard:reports", FORBIDDEN),
    ("front_desk_a", "dashboard:calendar", OK),
    ("viewer", "dashboard:bookings", FORBIDDEN),
    ("viewer", "dashboard:reports", OK),
    ("group_manager_a", "dashboard:channels", FORBIDDEN),
    ("group_manager_a", "dashboard:broadcasts", FORBIDDEN),
    ("manager", "dashboard:channels", OK),
    ("staff", "dashboard:today", FORBIDDEN),
    ("front_desk_a", "dashboard:property-prices", FORBIDDEN),
    ("viewer", "dashboard:property-prices", FORBIDDEN),
    ("group_manager_a", "dashboard:property-prices", OK),
    ("group_manager_a", "dashboard:property-edit", OK),
    ("group_manager_a", "dashboard:staff-edit", OK),
    ("group_manager_a", "dashboard:settings", FORBIDDEN),
    ("manager", "dashboard:settings", OK),
    ("front_desk_a", "dashboard:staff-new", FORBIDDEN),
]


@pytest.mark.parametrize(("persona", "name", "want"), SPOT_CHECKS)
def test_spot_checks_of_the_matrix(persona: str, name: str, want: str) -> None:
    case = next(c for c in CASES if c.route.name == name)
    assert expected(case, persona, "A") == {want}


def test_a_group_manager_gets_404_for_another_groups_booking_but_sees_their_own(
    db: None,
) -> None:
    world = build_world()
    client = _client(world, "group_manager_a")
    mine, theirs = world.kwargs["reference"]["A"], world.kwargs["reference"]["B"]
    assert client.get(f"/dashboard/bookings/{mine}/").status_code == 200
    assert client.get(f"/dashboard/bookings/{theirs}/").status_code == 404
    listed = client.get("/dashboard/bookings/?when=all").content.decode()
    assert mine in listed
    assert theirs not in listed
    api = client.get("/api/v1/bookings/").json()
    refs = {row["reference"] for row in api["results"]}
    assert mine in refs
    assert theirs not in refs


def test_front_desk_cancels_only_within_the_policy(db: None) -> None:
    world = build_world()
    reference = world.kwargs["reference"]["A"]
    desk = _client(world, "front_desk_a")
    page = desk.get(f"/dashboard/bookings/{reference}/cancel/")
    assert page.status_code == 200
    assert [c[0] for c in page.context["form"].fields["refund"].choices] == ["policy"]
    response = desk.post(f"/dashboard/bookings/{reference}/cancel/", {"refund": "full"})
    assert response.status_code == 400
    assert Booking.objects.get(reference=reference).status == Booking.Status.CONFIRMED
    owner = _client(world, "owner").get(f"/dashboard/bookings/{reference}/cancel/")
    assert [c[0] for c in owner.context["form"].fields["refund"].choices] == ["full", "policy"]


def test_the_service_refuses_a_full_refund_to_front_desk_through_any_door(db: None) -> None:
    world = build_world()
    booking = Booking.objects.get(reference=world.kwargs["reference"]["A"])
    desk = Membership.objects.get(business=booking.business, role=Role.FRONT_DESK)
    with pytest.raises(NotAllowed):
        booking_cancel_and_refund(booking=booking, by_owner=True, by=desk.user)
    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.CONFIRMED
