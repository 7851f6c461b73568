"""The dashboard shell's own pages: Today and the business switch."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from properties.access import choose_business, managing_memberships
from properties.dashboard.access import Acting
from properties.dashboard.registry import (
    Panel,
    SetupStep,
    TodayPanel,
    nav_entries,
    setup_steps,
    today_asked,
    today_panels,
)
from properties.permissions import USE_ADMIN, Scope

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class NavLink:
    label: str
    url: str
    current: bool


def _nav(request: HttpRequest, acting: Acting) -> list[NavLink]:
    home = reverse("dashboard:today")
    links = []
    for entry in nav_entries():
        if not acting.may(entry.action):
            continue
        url = reverse(entry.url_name)
        current = request.path == url or (url != home and request.path.startswith(url))
        links.append(NavLink(label=entry.label, url=url, current=current))
    return links


def render_page(
    request: HttpRequest,
    acting: Acting,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
) -> HttpResponse:
    """Render a page in the dashboard layout (navigation, business, switcher)."""
    memberships = managing_memberships(request)
    shell = {
        "acting": acting,
        "dashboard_nav": _nav(request, acting),
        "switchable": memberships if len(memberships) > 1 else [],
        "can_use_admin": acting.may(USE_ADMIN),
    }
    return render(request, template, {**shell, **(context or {})}, status=status)


@dataclass(frozen=True)
class ShownPanel:
    key: str
    title: str
    kind: str
    panel: Panel | None  # None: it failed to load


def _build(spec: TodayPanel, acting: Acting, anything: bool = True) -> ShownPanel:
    try:
        # An attention panel with nothing is not read (`today_asked` said so).
        panel: Panel | None = spec.build(acting) if anything else Panel(items=[])
    except Exception:
        # One broken panel must not take the owner's whole day away.
        logger.exception("Today panel %s failed", spec.key)
        panel = None
    return ShownPanel(key=spec.key, title=spec.title, kind=spec.kind, panel=panel)


@dataclass(frozen=True)
class ShownStep:
    step: SetupStep
    done: bool
    url: str


def one_group(request: HttpRequest, acting: Acting) -> Acting:
    """`?group=<id>`: the member acting within one of their groups only (a chain's
    owner looking at one hotel). Anything else, or a group outside their scope: as
    they are."""
    raw = request.GET.get("group", "")
    if not raw.isdigit():
        return acting
    group_id = int(raw)
    allowed = acting.scope.group_ids
    if allowed is not None and group_id not in allowed:
        return acting
    if allowed is None and not acting.scope.groups().filter(pk=group_id).exists():
        return acting
    narrowed = Scope(business_id=acting.scope.business_id, group_ids=frozenset({group_id}))
    return replace(acting, scope=narrowed, memo={})


def today(request: HttpRequest, acting: Acting) -> HttpResponse:
    acting = one_group(request, acting)
    specs = [spec for spec in today_panels() if acting.may(spec.action)]
    all_steps = [step for step in setup_steps() if acting.may(step.action)]
    anything, all_done = today_asked(acting, specs, all_steps)
    shown = [_build(spec, acting, anything.get(spec.key, True)) for spec in specs]
    steps = [
        ShownStep(step=step, done=done, url=step.url())
        for step, done in zip(all_steps, all_done, strict=True)
    ]
    attention = [p for p in shown if p.kind == "attention" and (p.panel is None or p.panel.items)]
    context = {
        "day_panels": [p for p in shown if p.kind == "day"],
        "attention_panels": attention,
        "attention_checked": [p.title for p in shown if p.kind == "attention"],
        "setup_steps": steps if not all(s.done for s in steps) else [],
        "setup_next": next((s for s in steps if not s.done), None),
    }
    return render_page(request, acting, "dashboard/today.html", context)


@require_POST
def switch_business(request: HttpRequest) -> HttpResponse:
    """Act for another of the user's businesses (one they own or manage)."""
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("dashboard:today"))
    try:
        business_id = int(request.POST.get("business", ""))
    except ValueError:
        raise Http404("No such business.") from None
    if not choose_business(request, business_id):
        raise Http404("No such business.")
    return redirect("dashboard:today")
