"""A guest's conversation with the business, on the business's site: a section of
their trip page (bookings.site.TRIP_SECTIONS) and the page its form posts to. The
visitor must be signed in and own the stay (`bookings.site.visitor_trips`)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext

from bookings.models import Booking
from bookings.site import TripSection, visitor, visitor_trips
from messaging.forms import MessageForm
from messaging.inbox_models import ConversationMessage
from messaging.inbox_selectors import direct_conversation, thread_messages
from messaging.services.conversations import conversation_guest_write
from properties.dashboard.registry import register_extension

# The guest's side of a thread is short; the latest ones are shown.
TRIP_MESSAGES = 50


def _thread(booking: Booking) -> list[ConversationMessage]:
    conversation = direct_conversation(booking)
    return thread_messages(conversation, limit=TRIP_MESSAGES) if conversation else []


def _context(booking: Booking, form: MessageForm) -> dict[str, object]:
    return {
        "booking": booking,
        "thread": _thread(booking),
        "form": form,
        "action": reverse("site-trip-messages", args=[booking.reference]),
    }


def _form(booking: Booking, data: object = None) -> MessageForm:
    return MessageForm(
        data, label=gettext("Your message to %(name)s") % {"name": booking.business.name}
    )


def trip_conversation_section(request: HttpRequest, booking: Booking) -> list[TripSection]:
    return [
        TripSection(
            key="messages",
            title=gettext("Messages with %(name)s") % {"name": booking.business.name},
            template="site/_trip_messages.html",
            context=_context(booking, _form(booking)),
            order=10,
        )
    ]


@login_required
def trip_messages(request: HttpRequest, reference: str) -> HttpResponse:
    """POST: the guest writes to the business. A bad message is shown again with
    what is wrong (400), and nothing is written."""
    booking = (
        visitor_trips(request)
        .filter(reference=reference.upper())
        .select_related("property", "business")
        .first()
    )
    if booking is None:
        raise Http404("No such trip.")
    back = reverse("site-trip", args=[booking.reference]) + "#messages"
    if request.method != "POST":
        return redirect(back)
    form = _form(booking, request.POST)
    if form.is_valid():
        user = visitor(request)
        conversation_guest_write(
            booking=booking,
            body=form.cleaned_data["body"],
            author=user.name or user.email,
            nonce=form.cleaned_data["nonce"],
        )
        messages.success(
            request,
            gettext("Your message is on its way to %(name)s.") % {"name": booking.business.name},
        )
        return redirect(back)
    return render(request, "site/trip_messages.html", _context(booking, form), status=400)


def register() -> None:
    from bookings.site import TRIP_SECTIONS

    register_extension(TRIP_SECTIONS, trip_conversation_section)
