"""Messaging's actions on the dashboard."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from messaging.dashboard.panels import booking_url
from messaging.dashboard.selectors import message_for_business
from messaging.services.outbox import outbox_kick, outbox_send_now
from properties.dashboard.access import Acting


def message_send_again(request: HttpRequest, acting: Acting, message_id: int) -> HttpResponse:
    """POST: send a failed or skipped email again now (the owner decided)."""
    message = message_for_business(
        business=acting.business, message_id=message_id, scope=acting.scope
    )
    if message is None:
        raise Http404("No such message.")
    back = (
        booking_url(message.booking) + "#emails" if message.booking else reverse("dashboard:today")
    )
    if request.method != "POST":
        return redirect(back)
    if outbox_send_now(business=acting.business, message_ids=[message.pk]):
        outbox_kick()
        messages.success(request, f"The {message.get_kind_display().lower()} will go out now.")
    else:
        messages.error(request, "This email is not waiting to be sent again.")
    return redirect(back)
