"""Pages reached from email links: no login, the signed token is the authority.

GET only shows what the link would do; the change happens on a button press (POST),
because mail scanners open GET links."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from messaging import links
from messaging.errors import MessagingError
from messaging.models import Turnover
from messaging.services.broadcasts import guest_unsubscribe
from messaging.services.staff_actions import (
    turnover_accept,
    turnover_done,
    turnover_report_problem,
)
from properties.models import Business

ACTION_LABELS = {
    "accept": ("Accept this cleaning job", "Accept job"),
    "done": ("Mark this cleaning job as done", "Job done"),
    "problem": ("Report a problem", "Send to the owner"),
}


class ProblemForm(forms.Form):
    note = forms.CharField(
        label="What is wrong?",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 5}),
    )


def _link_error(request: HttpRequest, message: str, status: int) -> HttpResponse:
    return render(request, "messaging/link_error.html", {"message": message}, status=status)


@require_http_methods(["GET", "POST"])
def staff_action(request: HttpRequest, token: str) -> HttpResponse:
    now = timezone.now()
    try:
        link = links.read_staff_token(token, now=now)
    except links.LinkExpired:
        return _link_error(request, "This link has expired. Ask the owner for a new one.", 410)
    except links.LinkInvalid:
        return _link_error(request, "This link is not valid.", 404)
    turnover = (
        Turnover.objects.select_related("property__business", "cleaner", "key_code")
        .filter(pk=link.turnover_id)
        .first()
    )
    if turnover is None:
        return _link_error(request, "This job no longer exists.", 404)
    title, button = ACTION_LABELS[link.action]
    form = ProblemForm(request.POST or None) if link.action == "problem" else None
    context = {
        "business": turnover.property.business,
        "turnover": turnover,
        "action": link.action,
        "title": title,
        "button": button,
        "form": form,
        "done": False,
        "outdated": turnover.revision != link.revision,
    }
    if request.method == "POST":
        if form is not None and not form.is_valid():
            return render(request, "messaging/staff_action.html", context, status=400)
        try:
            if link.action == "accept":
                turnover = turnover_accept(turnover_id=turnover.pk, revision=link.revision, now=now)
            elif link.action == "done":
                turnover = turnover_done(turnover_id=turnover.pk, revision=link.revision, now=now)
            else:
                assert form is not None
                turnover = turnover_report_problem(
                    turnover_id=turnover.pk,
                    revision=link.revision,
                    note=form.cleaned_data["note"],
                    now=now,
                )
        except MessagingError as exc:
            return _link_error(request, exc.message, exc.http_status)
        context.update(turnover=turnover, done=True)
    return render(request, "messaging/staff_action.html", context)


@csrf_exempt  # RFC 8058 one-click unsubscribe: mail clients POST without a CSRF token.
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        business_id, email = links.read_unsubscribe_token(token)
    except links.LinkInvalid:
        return _link_error(request, "This link is not valid.", 404)
    business = Business.objects.filter(pk=business_id).first()
    if business is None:
        return _link_error(request, "This link is not valid.", 404)
    context = {"business": business, "email": email, "done": False}
    if request.method == "POST":
        guest_unsubscribe(business_id=business.pk, email=email)
        context["done"] = True
    return render(request, "messaging/unsubscribe.html", context)
