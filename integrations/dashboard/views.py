"""The conflicts and channels pages."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from bookings.dashboard.grid import source_label
from bookings.models import Booking
from bookings.services.cancellation import refund_quote
from integrations.dashboard.panels import conflict_guest, conflict_source, conflict_url
from integrations.dashboard.selectors import (
    channels_health,
    conflict_get,
    feeds,
    open_conflicts,
    resolved_conflicts,
)
from integrations.models import BookingConflict
from integrations.services.conflicts import conflict_resolve
from integrations.services.push import push_redrive
from properties.dashboard.access import Acting
from properties.dashboard.text import plural
from properties.dashboard.views import render_page
from properties.errors import DomainError
from properties.money import format_money
from properties.permissions import MANAGE_CHANNELS


@dataclass(frozen=True)
class Choice:
    action: str
    title: str
    consequence: str
    button: str
    danger: bool = False


def _still_in_the_way(conflict: BookingConflict) -> bool:
    existing = conflict.existing_booking
    return bool(
        existing is not None
        and existing.is_active
        and existing.check_in < conflict.check_out
        and conflict.check_in < existing.check_out
    )


def conflict_choices(conflict: BookingConflict) -> list[Choice]:
    """The three ways out, each with what it does spelled out before the owner acts."""
    source = conflict_source(conflict)
    guest = conflict_guest(conflict)
    existing = conflict.existing_booking
    dates = f"{conflict.check_in:%-d %b} \u2013 {conflict.check_out:%-d %b}"
    keep = Choice(
        action="keep_existing",
        title="Keep the stay already on your calendar",
        consequence=(
            f"Nothing changes here. {source}'s stay {conflict.external_id} is not added: "
            f"decline or cancel it on {source} yourself, and tell {guest}."
        ),
        button="Keep the existing stay",
    )
    if existing is None or not _still_in_the_way(conflict):
        take_effect = f"The {source} stay of {guest} is added for {dates}. " + (
            f"{existing.reference} no longer overlaps it and stays where it is."
            if existing is not None
            else "Nothing else is on those nights now."
        )
    elif existing.is_block:
        take_effect = (
            f"Your block ({existing.get_kind_display().lower()}) on those nights is removed and "
            f"the {source} stay of {guest} is added for {dates}."
        )
    else:
        refund = refund_quote(booking=existing, by_owner=True)
        money = (
            f"{format_money(refund, existing.currency)} is refunded in full through the "
            "payment provider"
            if refund > 0
            else "nothing was paid, so nothing is refunded"
        )
        take_effect = (
            f"{existing.reference} ({existing.guest_name or 'guest'}, {source_label(existing)}) "
            f"is cancelled, {money}, and the guest is emailed. The {source} stay of {guest} is "
            f"added for {dates}."
        )
    take = Choice(
        action="take_partner",
        title=f"Take the {source} stay",
        consequence=take_effect,
        button=f"Take the {source} stay",
        danger=_still_in_the_way(conflict) and existing is not None and not existing.is_block,
    )
    done = Choice(
        action="done",
        title="I sorted it out another way",
        consequence=(
            "For example you moved one of the stays to another property or other dates. "
            "Nothing changes on the calendar; the conflict is closed."
        ),
        button="Mark as sorted",
    )
    return [keep, take, done]


def conflicts_page(request: HttpRequest, acting: Acting) -> HttpResponse:
    rows, _ = open_conflicts(business=acting.business, scope=acting.scope)
    context = {
        "open": [
            {
                "conflict": c,
                "source": conflict_source(c),
                "guest": conflict_guest(c),
                "url": conflict_url(c),
            }
            for c in rows
        ],
        "resolved": resolved_conflicts(business=acting.business, scope=acting.scope),
    }
    return render_page(request, acting, "dashboard/integrations/conflicts.html", context)


def conflict_page(request: HttpRequest, acting: Acting, public_id: str) -> HttpResponse:
    conflict = conflict_get(business=acting.business, public_id=public_id, scope=acting.scope)
    if conflict is None:
        raise Http404("No such conflict.")
    choices = conflict_choices(conflict)
    if request.method == "POST":
        if not acting.may(MANAGE_CHANNELS):
            return render_page(request, acting, "dashboard/forbidden.html", status=403)
        action = request.POST.get("action", "")
        if action not in {c.action for c in choices}:
            messages.error(request, "Choose one of the three ways to resolve it.")
        else:
            try:
                resolved = conflict_resolve(conflict=conflict, action=action)
            except DomainError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, f"Conflict resolved. {resolved.resolution}")
                return redirect("dashboard:conflicts")
        return redirect(conflict_url(conflict))
    partner = conflict.partner_data or {}
    context = {
        "conflict": conflict,
        "source": conflict_source(conflict),
        "guest": conflict_guest(conflict),
        "partner": partner,
        "partner_total": partner.get("total"),
        "existing": conflict.existing_booking,
        "in_the_way": _still_in_the_way(conflict),
        "choices": choices if conflict.status == BookingConflict.Status.OPEN else [],
        "can_resolve": acting.may(MANAGE_CHANNELS),
        "nights": (conflict.check_out - conflict.check_in).days,
        "Booking": Booking,
    }
    return render_page(request, acting, "dashboard/integrations/conflict.html", context)


def channels_page(request: HttpRequest, acting: Acting) -> HttpResponse:
    context = {
        "channels": channels_health(business=acting.business),
        "feeds": feeds(business=acting.business),
        "can_redrive": acting.may(MANAGE_CHANNELS),
    }
    return render_page(request, acting, "dashboard/integrations/channels.html", context)


def channels_redrive(request: HttpRequest, acting: Acting) -> HttpResponse:
    """POST: send the current state again for the chosen dead letters."""
    if request.method != "POST":
        return redirect("dashboard:channels")
    try:
        ids = [int(raw) for raw in request.POST.getlist("push")]
    except ValueError:
        ids = []
    if not ids:
        messages.error(request, "Choose at least one failed push to send again.")
        return redirect("dashboard:channels")
    count = push_redrive(business=acting.business, push_ids=ids)
    if count:
        messages.success(
            request,
            f"Sending the current calendar again ({plural(count, 'push', 'pushes')}).",
        )
    else:
        messages.error(request, "Those pushes are no longer waiting to be sent again.")
    return redirect(reverse("dashboard:channels"))
