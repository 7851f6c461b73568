"""Free-night broadcasts on the dashboard: find free runs of nights, see who would be
told and the email they would get, send through `broadcast_send`, watch it go out.

The rules are the service's: who is in the audience (`messaging.audience`), which
dates may be offered (`broadcast_send` reads the calendar again and refuses booked
nights); sending goes through the outbox under the global email rate.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from messaging.audience import broadcast_audience
from messaging.dashboard.selectors import (
    Progress,
    broadcast_failures,
    broadcast_for_business,
    broadcast_gaps,
    broadcast_progress_counts,
    recent_broadcasts,
)
from messaging.errors import MessagingError
from messaging.models import Broadcast, Kind, ScheduledMessage
from messaging.rendering import Rendered, render, row_context
from messaging.services.broadcasts import broadcast_send
from properties.dashboard.access import Acting
from properties.dashboard.text import plural
from properties.dashboard.views import render_page
from properties.models import Business, Property
from properties.permissions import MANAGE_MESSAGES

WEEKS = (2, 4, 8, 12, 26)
DEFAULT_WEEKS = 8
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
# Shown in the preview instead of a guest's real unsubscribe link.
UNSUBSCRIBE_PLACEHOLDER = "[the guest's own unsubscribe link]"


class WeeksForm(forms.Form):
    weeks = forms.TypedChoiceField(
        label="Look ahead",
        coerce=int,
        choices=[(w, f"{w} weeks") for w in WEEKS],
        required=False,
        empty_value=None,
    )


class BroadcastForm(forms.Form):
    """The nights to offer and a personal line. Shapes input; `broadcast_send` decides."""

    property = forms.TypedChoiceField(label="Property", coerce=int)
    free_from = forms.DateField(label="First free night", widget=DATE_INPUT)
    free_until = forms.DateField(
        label="Free until",
        widget=DATE_INPUT,
        help_text="The day after the last free night, like a check-out day.",
    )
    note = forms.CharField(
        label="A personal line (optional)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Added under the dates, e.g. “10% off if you book this week.”",
    )

    def __init__(self, *args: Any, properties: list[Property], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.properties = {p.pk: p for p in properties}
        field = self.fields["property"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [(p.pk, p.name) for p in properties]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("free_from"), data.get("free_until")
        if isinstance(start, date) and isinstance(end, date) and end <= start:
            self.add_error("free_until", "Pick a day after the first free night.")
        return data

    def chosen_property(self) -> Property | None:
        if "property" in self.errors or not hasattr(self, "cleaned_data"):
            return None
        return self.properties.get(self.cleaned_data.get("property", 0))


def dates_label(start: date, end: date) -> str:
    """'Fri 4 Sep - Tue 8 Sep 2026': the first free night to the check-out day."""
    first = f"{start:%a} {start.day} {start:%b}"
    leave = f"{end:%a} {end.day} {end:%b %Y}"
    return f"{first}\u2009\u2013\u2009{leave}"


def nights_label(start: date, end: date) -> str:
    return f"{dates_label(start, end)} ({plural((end - start).days, 'night')})"


def _properties(acting: Acting) -> list[Property]:
    return list(Property.objects.for_business(acting.business).order_by("name", "id"))


# --- The gap finder ------------------------------------------------------------------------


def broadcasts_page(request: HttpRequest, acting: Acting) -> HttpResponse:
    form = WeeksForm(request.GET or None)
    weeks = DEFAULT_WEEKS
    status = 200
    if form.is_bound:
        if form.is_valid():
            weeks = form.cleaned_data["weeks"] or DEFAULT_WEEKS
        else:
            status = 400
    until = acting.today + timedelta(weeks=weeks)
    gaps = broadcast_gaps(business=acting.business, today=acting.today, until=until)
    new_url = reverse("dashboard:broadcast-new")
    rows = [
        {
            "gaps": g,
            "runs": [
                {
                    "run": run,
                    "dates": dates_label(run.free_from, run.free_until),
                    # Cut by the look-ahead, not by a booking.
                    "open_ended": run.free_until >= until,
                    "url": f"{new_url}?"
                    + urlencode(
                        {
                            "property": str(g.property.pk),
                            "free_from": run.free_from.isoformat(),
                            "free_until": run.free_until.isoformat(),
                        }
                    ),
                }
                for run in g.runs
            ],
        }
        for g in gaps
    ]
    context = {
        "form": form if form.is_bound else WeeksForm(initial={"weeks": weeks}),
        "weeks": weeks,
        "until": until,
        "rows": rows,
        "free_nights": sum(run.nights for g in gaps for run in g.runs),
        "recent": recent_broadcasts(business=acting.business),
        "can_send": acting.may(MANAGE_MESSAGES),
    }
    return render_page(
        request, acting, "dashboard/messaging/broadcasts.html", context, status=status
    )


# --- Preview and send ------------------------------------------------------------------------


def broadcast_preview(
    *,
    business: Business,
    property: Property,
    free_from: date,
    free_until: date,
    note: str,
    guest_name: str,
    now: datetime,
) -> Rendered:
    """The email as a guest would get it, rendered by the sender's own code from rows
    that are never saved (so the preview cannot drift from what goes out)."""
    broadcast = Broadcast(
        pk=0,
        business=business,
        property=property,
        free_from=free_from,
        free_until=free_until,
        note=note,
    )
    row = ScheduledMessage(
        business=business,
        broadcast=broadcast,
        kind=Kind.BROADCAST,
        recipient="guest@example.invalid",
        recipient_name=guest_name,
    )
    context = row_context(row, now=now)
    context["unsubscribe_url"] = UNSUBSCRIBE_PLACEHOLDER
    return render(business, Kind.BROADCAST, context)


def _preview_context(acting: Acting, form: BroadcastForm, prop: Property | None) -> dict[str, Any]:
    """Who would be told, and what they would read, for the form's current values."""
    if prop is None or not form.is_valid():
        return {}
    audience = broadcast_audience(property=prop, today=prop.local_today())
    sample = list(audience.items())[:8]
    rendered = broadcast_preview(
        business=acting.business,
        property=prop,
        free_from=form.cleaned_data["free_from"],
        free_until=form.cleaned_data["free_until"],
        note=form.cleaned_data["note"],
        guest_name=sample[0][1] if sample and sample[0][1] else "Ada Lovelace",
        now=timezone.now(),
    )
    return {
        "audience_count": len(audience),
        "audience_sample": sample,
        "rendered": rendered,
        "dates": nights_label(form.cleaned_data["free_from"], form.cleaned_data["free_until"]),
    }


def broadcast_new_page(request: HttpRequest, acting: Acting) -> HttpResponse:
    """GET (or POST with action=preview): the chosen run, its audience and the email.
    POST with action=send: send it through `broadcast_send`; a refusal (nights booked
    since) is a form error."""
    properties = _properties(acting)
    data = request.POST if request.method == "POST" else request.GET
    form = BroadcastForm(data or None, properties=properties)
    status = 200
    if form.is_bound and not form.is_valid():
        status = 400
    prop = form.chosen_property() if form.is_bound else None
    if form.is_bound and "property" in form.errors and data.get("property"):
        # Another business's property (or a made-up id) is not found, like any object.
        raise Http404("No such property.")
    sending = request.method == "POST" and request.POST.get("action") == "send"
    if sending and form.is_valid() and prop is not None:
        try:
            broadcast = broadcast_send(
                business=acting.business,
                property=prop,
                free_from=form.cleaned_data["free_from"],
                free_until=form.cleaned_data["free_until"],
                note=form.cleaned_data["note"],
            )
        except MessagingError as exc:
            form.add_error(None, exc.message)
            status = exc.http_status
        else:
            return redirect("dashboard:broadcast-progress", broadcast_id=broadcast.pk)
    context = {
        "form": form,
        "property": prop,
        "back_url": reverse("dashboard:broadcasts"),
        **_preview_context(acting, form, prop),
    }
    return render_page(
        request, acting, "dashboard/messaging/broadcast_new.html", context, status=status
    )


# --- Progress -----------------------------------------------------------------------------------


def _broadcast_or_404(acting: Acting, broadcast_id: int) -> Broadcast:
    broadcast = broadcast_for_business(business=acting.business, broadcast_id=broadcast_id)
    if broadcast is None:
        raise Http404("No such broadcast.")
    return broadcast


def progress_summary(progress: Progress, acting: Acting) -> str:
    """One sentence on where the emails are, for people and screen readers."""
    if progress.total == 0:
        return "No past guest to tell: nothing was sent."
    if progress.done:
        summary = f"Done: {plural(progress.sent, 'email')} sent"
        if progress.failed:
            summary += f", {progress.failed} failed"
        not_sent = progress.skipped + progress.cancelled
        if not_sent:
            summary += f", {not_sent} not sent"
        return summary + "."
    waiting = f"{plural(progress.queued, 'email')} waiting to go out"
    if progress.next_at and progress.next_at > timezone.now() + timedelta(minutes=5):
        local = progress.next_at.astimezone(acting.business.tz)
        return f"{waiting}, from {local:%a} {local.day} {local:%b} at {local:%H:%M} (quiet hours)."
    return f"{waiting}; {progress.sent} sent so far."


def broadcast_progress_page(
    request: HttpRequest, acting: Acting, broadcast_id: int
) -> HttpResponse:
    broadcast = _broadcast_or_404(acting, broadcast_id)
    progress = broadcast_progress_counts([broadcast.pk])[broadcast.pk]
    context = {
        "broadcast": broadcast,
        "progress": progress,
        "summary": progress_summary(progress, acting),
        "dates": nights_label(broadcast.free_from, broadcast.free_until),
        "failures": broadcast_failures(broadcast=broadcast) if progress.failed else [],
        "json_url": reverse("dashboard:broadcast-progress-json", args=[broadcast.pk]),
        "self_url": reverse("dashboard:broadcast-progress", args=[broadcast.pk]),
    }
    return render_page(request, acting, "dashboard/messaging/broadcast_progress.html", context)


def broadcast_progress_json(
    request: HttpRequest, acting: Acting, broadcast_id: int
) -> JsonResponse:
    """The counts the progress page polls (static/js/dashboard-broadcast.js)."""
    broadcast = _broadcast_or_404(acting, broadcast_id)
    progress = broadcast_progress_counts([broadcast.pk])[broadcast.pk]
    return JsonResponse({**progress.as_dict(), "summary": progress_summary(progress, acting)})
