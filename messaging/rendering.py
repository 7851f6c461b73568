"""Turning an outbox row into an email.

Every template, built-in or the owner's, sees the same fixed set of variables
(`VARIABLES`), all plain strings. Owners' subjects and bodies are not Django
templates: only `{{ name }}` placeholders of that set are replaced, so a template can
reach no attribute, tag or filter. Built-in templates live in templates/emails/ as
`<kind>.txt` and `<kind>.html` (extending emails/base.html) and receive the same dict;
only the HTML ones are autoescaped (a plain-text part shows `O'Brien & "Smith"` as is).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import formataddr, parseaddr
from typing import Any, cast

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template import Context, engines
from django.template.backends.django import DjangoTemplates
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.functional import Promise
from django.utils.html import escape, linebreaks, urlize
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from icalendar import Calendar, Event

from bookings.models import Booking
from messaging import links
from messaging.models import (
    AUDIENCE,
    Audience,
    ConversationMessage,
    EmailTemplate,
    Kind,
    ScheduledMessage,
)
from messaging.selectors import (
    check_in_moment,
    check_out_moment,
    code_for_arrival,
    timing_for,
)
from properties.dates import format_day
from properties.languages import site_language_active
from properties.models import Business, Property
from properties.money import format_money
from properties.urls_util import app_url, business_site_url, site_path

# The documented variables (docs/scheduling.md). Values are always strings; a variable
# that does not apply to a message is empty.
VARIABLES: dict[str, str] = {
    "business_name": "Your business's name",
    "business_email": "Your contact email",
    "business_url": "Your booking site",
    "guest_name": "The guest's name",
    "guest_email": "The guest's email address",
    "guest_phone": "The guest's phone number",
    "booking_total": "The booking's total, e.g. €840.00",
    "booking_url": "The booking's page in your dashboard",
    "booking_reference": "Booking reference, e.g. HD-7KQ3ZP",
    "property_name": "The property",
    "property_address": "Its address",
    "check_in_date": "Check-in day, e.g. Saturday 5 July 2031",
    "check_in_time": "Check-in time, e.g. 16:00",
    "check_out_date": "Check-out day",
    "check_out_time": "Check-out time",
    "nights": "Number of nights",
    "guests": "Number of guests",
    "key_code": "The key-box code: to use on arrival (welcome, corrections), to set "
    "(cleaner emails), or sent to the guest (owner key-code alerts)",
    "key_box_location": "Where the key box is",
    "directions": "Directions to the property",
    "trip_url": "The guest's booking page",
    "changes": "What changed (correction and job update emails)",
    "staff_name": "The cleaner's name",
    "job_start": "When the cleaning job can start (the check-out)",
    "job_end": "When it must be finished (the next check-in), or 'no arrival booked'",
    "job_state": "The job's state: pending, accepted, done, problem or cancelled",
    "accept_url": "Link: accept the job",
    "done_url": "Link: job done",
    "problem_url": "Link: report a problem",
    "free_from": "Broadcast: first free night",
    "free_until": "Broadcast: day after the last free night",
    "note": "Broadcast: your personal line",
    "book_url": "Broadcast: link to book the property",
    "unsubscribe_url": "Broadcast: unsubscribe link",
    "summary": "Conflict or alert summary; for a refund notice, what was refunded and why",
    "problem": "The problem a staff member reported",
    "confirm_url": "Owner key-code alert: the admin page to confirm or correct the code",
    "job_url": "Owner key-code alert: the cleaning job in the admin",
    "message": "A reply to a guest; in a new-message notice, the guest's new messages",
    "thread_url": "New-message notice: the conversation in your inbox",
}

# Guest subjects are translated (into the guest's language, `build_email`); owner and
# staff ones stay English, like the dashboard.
SUBJECTS: dict[str, str | Promise] = {
    Kind.CONFIRMATION: _("Your stay at {{ property_name }} is confirmed ({{ booking_reference }})"),
    Kind.REMINDER: _("See you soon at {{ property_name }}"),
    Kind.WELCOME: _("Arrival details and key code for {{ property_name }}"),
    Kind.KEY_UPDATE: _("Updated arrival details for {{ property_name }}"),
    Kind.CHECKOUT_REMINDER: _("Check-out tomorrow at {{ check_out_time }}"),
    Kind.THANK_YOU: _("Thank you for staying at {{ property_name }}"),
    Kind.CANCELLATION: _("Your booking {{ booking_reference }} is cancelled"),
    Kind.REFUND_NOTICE: _("Your payment for {{ booking_reference }} was refunded"),
    Kind.BROADCAST: _("{{ property_name }} is free from {{ free_from }}"),
    Kind.CLEANER_JOB: "Cleaning job: {{ property_name }}, {{ job_start }}",
    Kind.CLEANER_UPDATE: "Changed cleaning job: {{ property_name }}",
    Kind.OWNER_NEW_BOOKING: "New booking {{ booking_reference }}: {{ property_name }}",
    Kind.OWNER_CANCELLATION: "Cancelled: {{ booking_reference }} at {{ property_name }}",
    Kind.OWNER_CONFLICT: "Calendar conflict needs you: {{ summary }}",
    Kind.OWNER_PROBLEM: "Problem reported at {{ property_name }}",
    Kind.OWNER_UNACCEPTED: "Cleaning job not accepted: {{ property_name }}",
    Kind.OWNER_KEY_CODE: "Key code not confirmed: {{ property_name }}",
    Kind.GUEST_REPLY: _("A message from {{ business_name }} about your stay"),
    Kind.OWNER_GUEST_MESSAGE: "New message from {{ guest_name }} ({{ summary }})",
    Kind.OWNER_BILLING: "Your Holidesk plan needs you: {{ business_name }}",
    Kind.STAY_CHANGED: _(
        "Your stay at {{ property_name }} has new dates ({{ booking_reference }})"
    ),
    Kind.OWNER_STAY_CHANGED: "Dates changed: {{ booking_reference }} at {{ property_name }}",
}

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def unknown_variables(text: str) -> list[str]:
    return sorted({m.group(1) for m in _PLACEHOLDER.finditer(text)} - set(VARIABLES))


def substitute(text: str, context: dict[str, str]) -> str:
    """Replace {{ name }} placeholders; nothing else in the text has any meaning."""
    return _PLACEHOLDER.sub(lambda m: context.get(m.group(1), ""), text)


@dataclass
class Rendered:
    subject: str
    text: str
    html: str


def _day(value: date) -> str:
    """`Saturday 5 July 2031`, in the active language (`Samstag, 5. Juli 2031`)."""
    return format_day(value, "l j F Y")


def _moment(prop: Property, value: datetime | None) -> str:
    if value is None:
        return "no arrival booked yet"
    local = value.astimezone(prop.tz)
    return f"{local:%a} {local.day} {local:%b %Y}, {local:%H:%M}"


def _base_context(business: Business) -> dict[str, str]:
    return {
        **dict.fromkeys(VARIABLES, ""),
        "business_name": business.name,
        "business_email": business.contact_email,
        "business_url": business_site_url(business, site_path("site-home")),
    }


def trip_url(booking: Booking) -> str:
    return business_site_url(booking.business, site_path("site-trip", booking.reference))


def booking_context(booking: Booking, context: dict[str, str]) -> None:
    prop = booking.property
    context.update(
        guest_name=booking.guest_name or gettext("there"),
        booking_reference=booking.reference,
        property_name=prop.name,
        property_address=prop.address,
        check_in_date=_day(booking.check_in),
        check_in_time=f"{prop.check_in_time:%H:%M}",
        check_out_date=_day(booking.check_out),
        check_out_time=f"{prop.check_out_time:%H:%M}",
        nights=str(booking.nights),
        guests=str(booking.guests),
        trip_url=trip_url(booking),
        guest_email=booking.guest_email,
        guest_phone=booking.guest_phone,
        booking_total=format_money(booking.total, booking.currency),
        booking_url=app_url(f"/dashboard/bookings/{booking.reference}/"),
    )
    timing = timing_for(prop)
    context.update(directions=timing.directions, key_box_location=timing.key_box_location)


def row_context(row: ScheduledMessage, *, now: datetime) -> dict[str, str]:
    """The variables of one outbox row, computed from the current state of its
    booking or job (so a message rendered late is never stale)."""
    business = row.business
    context = _base_context(business)
    extra = row.context or {}
    for name in ("changes", "summary", "problem", "note", "confirm_url", "job_url"):
        if extra.get(name):
            context[name] = str(extra[name])
    booking = row.booking
    if booking is not None:
        booking_context(booking, context)
    if row.kind in (Kind.WELCOME, Kind.KEY_UPDATE) and booking is not None:
        code = code_for_arrival(booking)
        context["key_code"] = code.code if code else ""
    if row.turnover_id is not None:
        turnover = row.turnover
        assert turnover is not None
        prop = turnover.property
        context.update(
            property_name=prop.name,
            property_address=prop.address,
            job_start=_moment(prop, turnover.starts_at),
            job_end=_moment(prop, turnover.ends_at),
            staff_name=turnover.cleaner.name if turnover.cleaner else "",
            job_state=turnover.state,
            key_box_location=timing_for(prop).key_box_location,
        )
        key = getattr(turnover, "key_code", None)
        if row.kind in (Kind.CLEANER_JOB, Kind.CLEANER_UPDATE) and key is not None:
            context["key_code"] = key.code
        if row.kind in (Kind.CLEANER_JOB, Kind.CLEANER_UPDATE):
            end = turnover.ends_at or turnover.starts_at + timedelta(days=1)
            expires = max(end, now) + timedelta(days=settings.MESSAGING_STAFF_LINK_DAYS)
            for action in links.STAFF_ACTIONS:
                context[f"{action}_url"] = links.staff_url(
                    turnover_id=turnover.pk,
                    action=action,
                    revision=turnover.revision,
                    expires=expires,
                )
    if row.kind == Kind.OWNER_KEY_CODE:
        context["key_code"] = str(extra.get("key_code", ""))
    if row.conversation_id is not None:
        conversation_context(row, context)
    if row.broadcast_id is not None:
        broadcast = row.broadcast
        assert broadcast is not None
        prop = broadcast.property
        context.update(
            guest_name=row.recipient_name or gettext("there"),
            property_name=prop.name,
            property_address=prop.address,
            free_from=_day(broadcast.free_from),
            free_until=_day(broadcast.free_until),
            note=broadcast.note,
            book_url=business_site_url(business, site_path("site-property", prop.slug)),
            unsubscribe_url=links.unsubscribe_url(business_id=business.pk, email=row.recipient),
        )
    return context


# A new-message notice quotes at most this many of the guest's unread messages.
DIGEST_MESSAGES = 10


def conversation_context(row: ScheduledMessage, context: dict[str, str]) -> None:
    """A reply's text, or for the owner the guest's messages since they last read the
    thread (as they are when the email goes, so a digest covers everything new)."""
    conversation = row.conversation
    assert conversation is not None
    reply = getattr(row, "conversation_message", None)
    if row.kind == Kind.GUEST_REPLY and reply is not None:
        context["message"] = reply.body
        return
    tz = row.business.tz
    new = conversation.messages.filter(direction=ConversationMessage.Direction.IN)
    if conversation.read_at is not None:
        new = new.filter(created_at__gt=conversation.read_at)
    latest = list(new.order_by("-created_at", "-id")[: DIGEST_MESSAGES + 1])
    shown = list(reversed(latest[:DIGEST_MESSAGES]))
    parts = [
        f"{m.author or 'Guest'}, {m.created_at.astimezone(tz):%a %-d %b %H:%M}:\n{m.body}"
        for m in shown
    ]
    if len(latest) > DIGEST_MESSAGES:
        parts.insert(0, "(Earlier messages are in the conversation.)")
    stay = conversation.booking
    where = [conversation.source_label]
    if stay is not None:
        where.append(f"{stay.property.name}, {stay.check_in:%-d %b} to {stay.check_out:%-d %b %Y}")
    context.update(
        guest_name=conversation.display_name,
        message="\n\n".join(parts),
        summary=" · ".join(where),
        thread_url=app_url(reverse("dashboard:inbox-thread", args=[conversation.pk])),
    )


def sample_context(business: Business, kind: str) -> dict[str, str]:
    """Variables for a template preview: a made-up booking at the first property."""
    context = _base_context(business)
    prop = Property.objects.filter(business=business).first()
    name = prop.name if prop else "Harbour View"
    check_in = date(2031, 7, 5)
    context.update(
        guest_name="Ada Lovelace",
        booking_reference="HD-7KQ3ZP",
        property_name=name,
        property_address=prop.address if prop else "1 Harbour Street",
        check_in_date=_day(check_in),
        check_in_time="16:00",
        check_out_date=_day(check_in + timedelta(days=7)),
        check_out_time="10:00",
        nights="7",
        guests="2",
        key_code="4821",
        key_box_location="Left of the front door",
        directions="Follow the coast road; the cottage is the blue door.",
        trip_url=business_site_url(business, "/trips/HD-7KQ3ZP/"),
        guest_email="ada@example.com",
        guest_phone="+44 20 7946 0958",
        booking_total="€840.00",
        booking_url=app_url("/dashboard/bookings/HD-7KQ3ZP/"),
        changes="Your check-in moved from Friday 4 July to Saturday 5 July 2031.",
        staff_name="Sam Cleaner",
        job_start="Sat 12 Jul 2031, 10:00",
        job_end="Sat 12 Jul 2031, 16:00",
        job_state="pending",
        accept_url="#accept",
        done_url="#done",
        problem_url="#problem",
        free_from=_day(date(2031, 9, 6)),
        free_until=_day(date(2031, 9, 13)),
        note="We would love to see you again.",
        book_url=business_site_url(business, "/"),
        unsubscribe_url="#unsubscribe",
        summary="Airbnb stay 5-9 July overlaps HD-7KQ3ZP",
        problem="The dishwasher is leaking.",
        confirm_url="#confirm",
        job_url="#job",
        message="Is there a cot we could use for our baby?",
        thread_url="#conversation",
    )
    if kind == Kind.OWNER_KEY_CODE:
        context["summary"] = (
            "The new code 5930 is not confirmed on the box, so Ada Lovelace (HD-7KQ3ZP, "
            "arriving Sat 5 Jul 16:00) was sent 4821, the code confirmed on the box. "
            "Sam Cleaner was emailed the job, accepted it, not done yet."
        )
    if kind == Kind.OWNER_GUEST_MESSAGE:
        context["summary"] = f"Direct · {name}, 5 Jul to 12 Jul 2031"
        context["message"] = "Ada Lovelace, Sat 5 Jul 10:03:\n" + context["message"]
    if kind == Kind.OWNER_BILLING:
        context["summary"] = (
            "The payment for your Holidesk plan did not go through. Your site keeps taking "
            "bookings until Sat 12 Jul 2031 10:00; update your card before then."
        )
    if kind == Kind.REFUND_NOTICE:
        context["summary"] = (
            "Your payment of €350.00 arrived after those nights could no longer be kept "
            "for you, so it has been refunded in full. Nothing else was booked or charged."
        )
    return context


def render_text(template_name: str, context: dict[str, Any]) -> str:
    """A plain-text template, without HTML autoescaping: escaping is for HTML, and in
    plain text it would show `O&#x27;Brien` for O'Brien."""
    engine = cast(DjangoTemplates, engines["django"]).engine
    return engine.get_template(template_name).render(Context(context, autoescape=False))


def render(business: Business, kind: str, context: dict[str, str]) -> Rendered:
    found = list(EmailTemplate.objects.filter(business=business, kind=kind, active=True)[:1])
    override = found[0] if found else None
    layout = {
        "business": business,
        "accent": business.accent_colour,
        "logo_url": business.logo.url if business.logo else "",
        "audience": AUDIENCE[kind],
        "kind": kind,
    }
    if override is not None:
        subject = substitute(override.subject, context)
        text = substitute(override.body, context)
        body_html = linebreaks(urlize(escape(text), autoescape=False))
        html = render_to_string(
            "emails/custom.html", {**layout, "v": context, "body_html": body_html}
        )
    else:
        subject = substitute(str(SUBJECTS[kind]), context)
        text = render_text(f"emails/{kind}.txt", {"v": context})
        html = render_to_string(f"emails/{kind}.html", {**layout, "v": context})
    subject = " ".join(subject.split())[:200]
    return Rendered(subject=subject, text=text.strip() + "\n", html=html)


def stay_ics(booking: Booking) -> bytes:
    prop = booking.property
    cal = Calendar()
    cal.add("prodid", "-//Holidesk//Booking//EN")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"{booking.reference}@{settings.HOLIDESK_BASE_DOMAIN}")
    event.add("summary", gettext("Stay at %(name)s") % {"name": prop.name})
    event.add("dtstart", check_in_moment(booking).astimezone(UTC))
    event.add("dtend", check_out_moment(booking).astimezone(UTC))
    event.add("dtstamp", datetime.now(tz=UTC))
    event.add("location", " ".join(prop.address.split()) or prop.name)
    event.add(
        "description",
        gettext("Booking %(reference)s with %(business)s")
        % {"reference": booking.reference, "business": booking.business.name},
    )
    cal.add_component(event)
    return bytes(cal.to_ical())


def message_language(row: ScheduledMessage) -> str | None:
    """The site language of a row's email: the language a guest booked in; None (the
    business's default) without a booking (a broadcast) or for owners and staff."""
    if AUDIENCE[row.kind] != Audience.GUEST or row.booking is None:
        return None
    return row.booking.language


def message_id_for(row: ScheduledMessage) -> str:
    """Stable per row, so a repeated delivery of one message is recognisable."""
    digest = hashlib.sha256(row.key.encode()).hexdigest()[:10]
    return f"<hd.{row.pk}.{digest}@{settings.HOLIDESK_BASE_DOMAIN}>"


def build_email(
    row: ScheduledMessage, *, now: datetime
) -> tuple[EmailMultiAlternatives, dict[str, Any]]:
    """The email of one outbox row and the facts it told (recorded on the row)."""
    business = row.business
    with site_language_active(business, message_language(row)) as language:
        # A guest's language for the text, the dates and the links to their site;
        # owners and staff read English (links to the site in its default language).
        guest = AUDIENCE[row.kind] == Audience.GUEST
        with translation.override(language if guest else settings.LANGUAGE_CODE):
            context = row_context(row, now=now)
            rendered = render(business, row.kind, context)
            ics = (
                stay_ics(row.booking)
                if row.kind == Kind.CONFIRMATION and row.booking is not None
                else None
            )
    _, from_address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    headers = {"Message-ID": row.message_id or message_id_for(row)}
    if row.kind == Kind.BROADCAST:
        headers["List-Unsubscribe"] = f"<{context['unsubscribe_url']}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=formataddr((business.name, from_address)),
        to=[
            formataddr((row.recipient_name, row.recipient)) if row.recipient_name else row.recipient
        ],
        reply_to=[business.contact_email] if AUDIENCE[row.kind] != Audience.OWNER else None,
        headers=headers,
    )
    email.attach_alternative(rendered.html, "text/html")
    if ics is not None and row.booking is not None:
        email.attach(f"{row.booking.reference}.ics", ics, "text/calendar")
    told: dict[str, Any] = {}
    if row.kind in (Kind.WELCOME, Kind.KEY_UPDATE) and row.booking is not None:
        told = {
            "key_code": context["key_code"],
            "check_in": row.booking.check_in.isoformat(),
            "check_out": row.booking.check_out.isoformat(),
        }
    elif row.kind in (Kind.CLEANER_JOB, Kind.CLEANER_UPDATE):
        told = {
            "key_code": context["key_code"],
            "revision": row.turnover.revision if row.turnover else 0,
        }
    return email, told
