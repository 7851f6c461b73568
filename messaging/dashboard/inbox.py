"""The inbox pages: the list of conversations, one thread with its reply form, and a
stay's thread before its first message."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect

from bookings.dashboard.grid import source_label
from bookings.models import Booking
from messaging.dashboard.inbox_panels import source_css, stay_line, thread_url, when
from messaging.forms import MessageForm
from messaging.inbox_models import Conversation, ConversationMessage
from messaging.inbox_selectors import (
    conversation_get,
    inbox_counts,
    inbox_rows,
    stay_conversation,
    stay_get,
    thread_messages,
)
from messaging.services.conversations import (
    conversation_mark_read,
    conversation_reply,
    stay_conversation_reply,
    stay_write_refusal,
)
from properties.dashboard.access import Acting
from properties.dashboard.registry import Badge
from properties.dashboard.views import render_page
from properties.errors import DomainError
from properties.permissions import MANAGE_MESSAGES

Delivery = ConversationMessage.Delivery


@dataclass(frozen=True)
class Row:
    conversation: Conversation
    url: str
    when: str
    about: str
    css: str


def inbox_page(request: HttpRequest, acting: Acting) -> HttpResponse:
    unread_only = request.GET.get("show") == "unread"
    try:
        page = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page = 1
    rows, has_next = inbox_rows(
        business=acting.business, unread_only=unread_only, page=page, scope=acting.scope
    )
    query = "show=unread&" if unread_only else ""
    context = {
        "rows": [
            Row(
                conversation=c,
                url=thread_url(c),
                when=when(c.last_message_at, acting.today),
                about=stay_line(c),
                css=source_css(c),
            )
            for c in rows
        ],
        "counts": inbox_counts(business=acting.business, scope=acting.scope),
        "unread_only": unread_only,
        "previous_url": f"?{query}page={page - 1}" if page > 1 else "",
        "next_url": f"?{query}page={page + 1}" if has_next else "",
    }
    return render_page(request, acting, "dashboard/messaging/inbox.html", context)


def delivery_badge(message: ConversationMessage, partner: str) -> Badge | None:
    state = message.delivery_state
    if state == Delivery.PENDING:
        return Badge("Retrying" if message.delivery_error else "Sending", "info")
    if state == Delivery.SENT:
        return Badge(f"Delivered to {partner}" if partner else "Emailed", "ok")
    if state == Delivery.FAILED:
        return Badge("Not delivered", "bad")
    return None


def delivery_problem(message: ConversationMessage) -> str:
    if message.delivery_state not in (Delivery.FAILED, Delivery.PENDING):
        return ""
    if message.email is not None:
        return message.email.last_error
    return message.delivery_error


@dataclass(frozen=True)
class Shown:
    message: ConversationMessage
    badge: Badge | None
    problem: str


def _render_thread(
    request: HttpRequest,
    acting: Acting,
    *,
    conversation: Conversation | None,
    booking: Booking | None,
    form: MessageForm,
    status: int = 200,
    closed: str = "",
) -> HttpResponse:
    partner = (
        conversation.source_label
        if conversation is not None and conversation.kind == Conversation.Kind.PARTNER
        else ""
    )
    rows = thread_messages(conversation) if conversation is not None else []
    if conversation is not None:
        guest, source = conversation.display_name, partner or "Direct"
    else:
        guest, source = (booking.guest_name, source_label(booking)) if booking else ("", "")
    context = {
        "conversation": conversation,
        "booking": booking,
        "guest": guest or "the guest",
        "partner": partner,
        "source": source,
        "css": source_css(conversation) if conversation else "src-direct",
        "about": stay_line(conversation) if conversation else "",
        "thread": [
            Shown(message=m, badge=delivery_badge(m, partner), problem=delivery_problem(m))
            for m in rows
        ],
        "form": form,
        "can_reply": acting.may(MANAGE_MESSAGES) and not closed,
        "closed": closed,
        "action": request.path,
    }
    return render_page(request, acting, "dashboard/messaging/thread.html", context, status=status)


def thread_page(request: HttpRequest, acting: Acting, conversation_id: int) -> HttpResponse:
    conversation = conversation_get(
        business=acting.business, conversation_id=conversation_id, scope=acting.scope
    )
    if conversation is None:
        raise Http404("No such conversation.")
    form = MessageForm(
        request.POST if request.method == "POST" else None,
        label=f"Reply to {conversation.display_name}",
    )
    if request.method != "POST":
        if conversation.unread:
            conversation_mark_read(conversation=conversation)
        return _render_thread(
            request, acting, conversation=conversation, booking=conversation.booking, form=form
        )
    if not acting.may(MANAGE_MESSAGES):
        return render_page(request, acting, "dashboard/forbidden.html", status=403)
    sent = _send_reply(
        request, form, partial(conversation_reply, conversation=conversation, user=acting.user)
    )
    if isinstance(sent, HttpResponse):
        return sent
    return _render_thread(
        request,
        acting,
        conversation=conversation,
        booking=conversation.booking,
        form=form,
        status=sent,
    )


def _send_reply(
    request: HttpRequest, form: MessageForm, send: Callable[..., ConversationMessage]
) -> HttpResponse | int:
    """Post the form's reply through `send(body=, nonce=)`: a redirect to the end of the
    thread once it is sent, or the status to show the form again with."""
    if not form.is_valid():
        return 400
    try:
        message = send(body=form.cleaned_data["body"], nonce=form.cleaned_data["nonce"])
    except DomainError as exc:
        form.add_error(None, exc.message)
        return exc.http_status
    messages.success(request, _sent_note(message.conversation))
    return redirect(thread_url(message.conversation) + "#latest")


def _sent_note(conversation: Conversation) -> str:
    if conversation.kind == Conversation.Kind.PARTNER:
        return f"Reply sent to {conversation.source_label}."
    return f"Reply on its way to {conversation.display_name} by email."


def stay_thread_page(request: HttpRequest, acting: Acting, reference: str) -> HttpResponse:
    """A stay's conversation: the thread if there is one; otherwise an empty thread
    whose first message begins it (so no empty conversation is ever stored)."""
    booking = stay_get(business=acting.business, reference=reference, scope=acting.scope)
    if booking is None:
        raise Http404("No such stay.")
    existing = stay_conversation(booking)
    if existing is not None:
        return redirect(thread_url(existing))
    form = MessageForm(
        request.POST if request.method == "POST" else None,
        label=f"Write to {booking.guest_name or 'the guest'}",
    )
    status = 200
    refusal = stay_write_refusal(booking)
    if refusal:
        # Nothing to write here (a platform's guest, a block): the page says why.
        return _render_thread(
            request,
            acting,
            conversation=None,
            booking=booking,
            form=form,
            status=409 if request.method == "POST" else 200,
            closed=refusal,
        )
    if request.method == "POST":
        if not acting.may(MANAGE_MESSAGES):
            return render_page(request, acting, "dashboard/forbidden.html", status=403)
        sent = _send_reply(
            request, form, partial(stay_conversation_reply, booking=booking, user=acting.user)
        )
        if isinstance(sent, HttpResponse):
            return sent
        status = sent
    return _render_thread(
        request, acting, conversation=None, booking=booking, form=form, status=status
    )
