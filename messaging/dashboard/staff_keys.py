"""Staff and key codes on the dashboard: per property the code confirmed on the key
box, the last codes on it and the next code to set; which code each arriving guest was
or will be sent and why; each staff member's jobs, answers and problems.

The owner confirms or corrects the code on a box here through `key_code_confirm`, the
service the cleaner's done page and the admin call: it decides which codes are allowed
and what follows (guests told another code get the confirmed one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from bookings.dashboard.panels import DAY_LIMIT
from messaging.dashboard.panels import TURNOVER_BADGES, booking_url, turnover_badge
from messaging.dashboard.selectors import StaffJobs, property_for_business, staff_jobs
from messaging.errors import MessagingError
from messaging.key_box_selectors import (
    ArrivalCode,
    KeyBoxState,
    arrivals_in_doubt,
    key_box_states,
)
from messaging.models import KeyCodeConfirmation, Turnover
from messaging.services.key_box import key_code_confirm
from properties.dashboard.access import Acting
from properties.dashboard.registry import Badge, Item, Panel
from properties.dashboard.views import render_page
from properties.permissions import MANAGE_STAFF

DAYS = 30
ARRIVAL_BADGES: dict[str, Badge] = {
    "sent": Badge("Sent", "ok"),
    "scheduled": Badge("To be sent", "info"),
    "waiting for the cleaner": Badge("Waiting for the cleaner", "warn"),
    "correction due": Badge("Correction going out", "warn"),
    "none": Badge("No code sent", "bad"),
}


class KeyCodeForm(forms.Form):
    """The code on the box. It only carries the input: `key_code_confirm` decides
    whether it is a code the box may hold, and its error is shown on this field."""

    code = forms.CharField(label="Code on the box", required=False)


@dataclass(frozen=True)
class Card:
    """One property's key box as the page shows it."""

    state: KeyBoxState
    form: KeyCodeForm
    next_badge: Badge | None

    @property
    def prop_id(self) -> int:
        return self.state.property.pk


def _form(prop_id: int, data: Any = None) -> KeyCodeForm:
    return KeyCodeForm(data, auto_id=f"key-{prop_id}-%s")


def _arrival_row(arrival: ArrivalCode) -> dict[str, Any]:
    return {
        "arrival": arrival,
        "badge": ARRIVAL_BADGES.get(arrival.status, Badge(arrival.status.capitalize())),
        "url": booking_url(arrival.booking),
    }


def _job_row(job: Turnover) -> dict[str, Any]:
    code = getattr(job, "key_code", None)
    badges = [turnover_badge(job) if job.cleaner_id else TURNOVER_BADGES.get(job.state)]
    if job.code_outcome == Turnover.CodeOutcome.SET:
        badges.append(Badge("Set the code", "ok"))
    elif job.code_outcome == Turnover.CodeOutcome.NOT_SET:
        badges.append(Badge("Could not change the code", "bad"))
    return {
        "job": job,
        "code": code if code is not None and code.retired_at is None else None,
        "badges": [b for b in badges if b is not None],
        "url": booking_url(job.booking),
        "next_url": booking_url(job.next_booking) if job.next_booking else "",
        "job_url": reverse("admin:messaging_turnover_change", args=[job.pk]),
    }


def _staff_row(row: StaffJobs) -> dict[str, Any]:
    return {"row": row, "jobs": [_job_row(job) for job in row.jobs]}


def _render(
    request: HttpRequest,
    acting: Acting,
    *,
    failed: tuple[int, KeyCodeForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    now = timezone.now()
    states = key_box_states(business=acting.business, now=now, days=DAYS, scope=acting.scope)
    cards = [
        Card(
            state=state,
            form=failed[1]
            if failed and failed[0] == state.property.pk
            else _form(state.property.pk),
            next_badge=turnover_badge(state.next_job) if state.next_job else None,
        )
        for state in states
    ]
    arrivals = sorted(
        (_arrival_row(a) for state in states for a in state.arrivals),
        key=lambda row: (row["arrival"].check_in, row["arrival"].booking.pk),
    )
    staff = [
        _staff_row(row)
        for row in staff_jobs(business=acting.business, now=now, days=DAYS, scope=acting.scope)
    ]
    context = {
        "cards": cards,
        "arrivals": arrivals,
        "attention": sum(1 for row in arrivals if row["badge"].tone in ("warn", "bad")),
        "staff": staff,
        "days": DAYS,
        "can_manage": acting.may(MANAGE_STAFF),
    }
    return render_page(
        request, acting, "dashboard/messaging/staff_keys.html", context, status=status
    )


def staff_keys_page(request: HttpRequest, acting: Acting) -> HttpResponse:
    return _render(request, acting)


def key_box_confirm_page(request: HttpRequest, acting: Acting, property_id: int) -> HttpResponse:
    """POST: the owner says which code is on a property's box now — the planned code
    they set themselves, or another one. A refusal is a form error on the card."""
    prop = property_for_business(business=acting.business, property_id=property_id)
    if prop is None or not acting.may(MANAGE_STAFF, prop):
        raise Http404("No such property.")
    back = reverse("dashboard:staff-keys") + f"#keys-{prop.pk}"
    if request.method != "POST":
        return redirect(back)
    form = _form(prop.pk, request.POST)
    form.is_valid()  # shapes the input only; the service decides
    try:
        confirmation = key_code_confirm(
            property=prop,
            code=form.cleaned_data.get("code", ""),
            by=acting.user,
            source=KeyCodeConfirmation.Source.OWNER,
        )
    except MessagingError as exc:
        form.add_error("code", exc.message)
        return _render(request, acting, failed=(prop.pk, form), status=exc.http_status)
    messages.success(
        request,
        f"{confirmation.key_code.code} is confirmed on the box of {prop.name}. "
        "Guests who were sent another code get this one.",
    )
    return redirect(back)


# --- Today ---------------------------------------------------------------------------------

# Arrivals this close are worth the owner's attention when their code is in doubt.
SOON_DAYS = 2


def key_codes_panel(acting: Acting) -> Panel:
    """Guests arriving within SOON_DAYS whose code is in doubt: the box has no confirmed
    code, a correction is going out, the welcome waits for the cleaner, or no code was
    sent. Each links to its property's key box on the staff and key codes page."""
    page = reverse("dashboard:staff-keys")

    def badge_of(status: str) -> Badge:
        return ARRIVAL_BADGES.get(status, Badge(status.capitalize()))

    shown, total = arrivals_in_doubt(
        business=acting.business,
        now=timezone.now(),
        days=SOON_DAYS,
        doubtful=lambda status: badge_of(status).tone in ("warn", "bad"),
        limit=DAY_LIMIT,
        scope=acting.scope,
    )
    items = []
    for doubt in shown:
        arrival, prop = doubt.arrival, doubt.property
        badges = [badge_of(arrival.status)]
        if not doubt.box_confirmed:
            badges.append(Badge("No code confirmed on the box", "bad"))
        local = arrival.check_in.astimezone(acting.business.tz)
        items.append(
            Item(
                title=f"{arrival.booking.guest_name or arrival.booking.reference}, {prop.name}",
                url=f"{page}#keys-{prop.pk}",
                detail=arrival.reason[:200],
                meta=f"{local:%a %H:%M}",
                badges=tuple(badges),
            )
        )
    return Panel(
        items=items,
        total=total,
        empty="Every guest arriving soon gets a confirmed code.",
        more_url=page,
        more_label="Staff and key codes",
    )
