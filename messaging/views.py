"""Pages reached from email links: no login, the signed token is the authority.

GET only shows what the link would do; the change happens on a button press (POST),
because mail scanners open GET links."""

from __future__ import annotations

from datetime import datetime

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from messaging import links
from messaging.errors import JobClosed, LinkOutdated, MessagingError
from messaging.models import KeyCode, Turnover
from messaging.selectors import timing_for
from messaging.services.broadcasts import guest_unsubscribe
from messaging.services.staff_actions import (
    turnover_accept,
    turnover_done_code_not_set,
    turnover_done_code_set,
    turnover_report_problem,
)
from properties.models import Business

ACTION_LABELS = {
    "accept": ("Accept this cleaning job", "Accept job"),
    "done": ("Job done: the key box", "I set it"),
    "problem": ("Report a problem", "Send to the owner"),
}


class ProblemForm(forms.Form):
    note = forms.CharField(
        label="What is wrong?",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 5}),
    )


class DoneForm(forms.Form):
    """The done page's answer: the cleaner set the box to the code shown, or could not."""

    outcome = forms.ChoiceField(
        choices=[("set", "I set it"), ("not_set", "I could not change it")],
        error_messages={"required": "Please say whether you set the key box."},
    )
    code = forms.CharField(max_length=6, required=False, widget=forms.HiddenInput)


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
    form: forms.Form | None = None
    if link.action == "problem":
        form = ProblemForm(request.POST or None)
    elif link.action == "done":
        form = DoneForm(request.POST or None)
    key = KeyCode.objects.filter(turnover=turnover).first()
    context = {
        "business": turnover.property.business,
        "turnover": turnover,
        "key": key,
        "key_box_location": timing_for(turnover.property).key_box_location,
        "action": link.action,
        "title": title,
        "button": button,
        "form": form,
        "done": False,
        "outcome": "",
        "outdated": turnover.revision != link.revision,
    }
    if request.method == "POST":
        # Say first that the link no longer acts, whatever was posted with it.
        if turnover.state == Turnover.State.CANCELLED:
            exc: MessagingError = JobClosed("This job was cancelled. Nothing to do.")
            return _link_error(request, exc.message, exc.http_status)
        if context["outdated"]:
            exc = LinkOutdated(
                "This job changed after that email was sent. Please use the newest email."
            )
            return _link_error(request, exc.message, exc.http_status)
        if form is not None and not form.is_valid():
            return render(request, "messaging/staff_action.html", context, status=400)
        try:
            turnover = _act(link, turnover, form, now)
        except MessagingError as exc:
            return _link_error(request, exc.message, exc.http_status)
        key = KeyCode.objects.filter(turnover=turnover).first()
        context.update(
            turnover=turnover,
            key=key,
            done=True,
            outcome=form.cleaned_data.get("outcome", "") if form is not None else "",
        )
    return render(request, "messaging/staff_action.html", context)


def _act(
    link: links.StaffLink, turnover: Turnover, form: forms.Form | None, now: datetime
) -> Turnover:
    if link.action == "accept":
        return turnover_accept(turnover_id=turnover.pk, revision=link.revision, now=now)
    assert form is not None
    if link.action == "done":
        if form.cleaned_data["outcome"] == "set":
            return turnover_done_code_set(
                turnover_id=turnover.pk,
                revision=link.revision,
                code=form.cleaned_data["code"],
                now=now,
            )
        return turnover_done_code_not_set(turnover_id=turnover.pk, revision=link.revision, now=now)
    return turnover_report_problem(
        turnover_id=turnover.pk,
        revision=link.revision,
        note=form.cleaned_data["note"],
        now=now,
    )


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
