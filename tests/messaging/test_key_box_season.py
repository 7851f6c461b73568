"""A season of stays simulated hour by hour with real sending, where things go wrong: a
cleaner's job email fails, a cleaner never accepts, a cleaner could not change the code
(and sets it later), a confirmation comes after the guest was sent the old code, the
owner sets a code themselves, stays are cancelled and one is added late. Cleaners act
only through the links in the emails they actually received, the owner through the
admin. For every arrival, the code the guest was last sent is the code confirmed on the
box at check-in; codes never repeat within four, and the last four stay kept."""

from __future__ import annotations

import re
import smtplib
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlsplit

import time_machine
from django.core import mail
from django.core.mail.backends import locmem
from django.core.mail.message import EmailMessage
from django.test import Client
from django.urls import reverse

from bookings.models import Booking
from bookings.services.cancellation import booking_cancel_without_refund
from messaging.models import KeyBox, KeyCode, Kind, ScheduledMessage, Turnover
from messaging.selectors import check_in_moment
from messaging.services.cleaners import turnover_cleaner_assign
from messaging.services.outbox import outbox_dispatch
from messaging.services.sending import outbox_send
from messaging.services.settings_rows import staff_create
from tests.conftest import APP_HOST, Tenant
from tests.messaging.conftest import stay, with_cleaner

GUEST_CODE = re.compile(r"Key-box code: (\d+)")
CLEANER_CODE = re.compile(r"SET THE KEY BOX TO:\s+(\d+)")
ACCEPT_LINK = re.compile(r"Accept the job:\s+(\S+)")
DONE_LINK = re.compile(r"Job done[^\n]*\n\s+(\S+)")
ROW_ID = re.compile(r"<hd\.(\d+)\.")
HIDDEN_CODE = re.compile(r'name="code" value="(\d+)"')


class FlakyBackend(locmem.EmailBackend):
    """The local outbox, except that some addresses are refused (a mailbox that bounces
    everything: the provider reports the refusal, so the message is retried, then fails)."""

    refused: ClassVar[set[str]] = set()

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        for message in email_messages:
            if any(address in to for to in message.to for address in self.refused):
                raise smtplib.SMTPRecipientsRefused({message.to[0]: (550, b"No such user")})
        return super().send_messages(email_messages)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def row_of(message: Any) -> ScheduledMessage:
    match = ROW_ID.match(message.extra_headers["Message-ID"])
    assert match is not None
    return ScheduledMessage.objects.get(pk=int(match[1]))


def send_due() -> None:
    claimed: list[int] = []
    outbox_dispatch(enqueue=lambda i, p: claimed.append(i))
    for message_id in claimed:
        outbox_send(message_id=message_id)


def test_every_guest_is_sent_the_code_confirmed_on_the_box_at_check_in(
    tenant: Tenant, settings: Any, redis_prefix: str
) -> None:
    settings.EMAIL_BACKEND = f"{__name__}.FlakyBackend"
    settings.EMAIL_RATE_PER_SECOND = 1000.0
    FlakyBackend.refused = {"bounce@example.com"}
    prop = tenant.prop  # Europe/London: UTC in February and March; in 16:00, out 10:00
    with_cleaner(prop)
    cleaner_client = Client(HTTP_HOST=APP_HOST)
    box_page = reverse("admin:messaging_keycode_box", args=[prop.pk])
    plan = [
        (date(2031, 2, 1), date(2031, 2, 4)),  # 0
        (date(2031, 2, 4), date(2031, 2, 8)),  # 1: same-day changeover, cleaner confirms
        (date(2031, 2, 10), date(2031, 2, 12)),  # 2: job email before it fails; owner sets it
        (date(2031, 2, 12), date(2031, 2, 15)),  # 3: cleaner before never accepts
        (date(2031, 2, 17), date(2031, 2, 20)),  # 4: "could not change", then set late
        (date(2031, 2, 20), date(2031, 2, 23)),  # 5: confirmed after the welcome went
        (date(2031, 2, 23), date(2031, 2, 25)),  # 6: cancelled
        (date(2031, 2, 25), date(2031, 2, 28)),  # 7
        (date(2031, 3, 5), date(2031, 3, 8)),  # 8: the owner put a code of their own
        (date(2031, 3, 8), date(2031, 3, 10)),  # 9: cancelled while its welcome waits
        (date(2031, 3, 15), date(2031, 3, 18)),  # 10: a late booking slots in before
    ]
    bookings: list[Booking] = []
    actions: dict[datetime, list[Callable[[], None]]] = {}

    def at(moment: datetime, action: Callable[[], None]) -> None:
        actions.setdefault(moment, []).append(action)

    def job_after(index: int) -> Turnover:
        return Turnover.objects.get(booking=bookings[index])

    def latest_job_email(index: int) -> Any:
        job = job_after(index)
        received = [
            m
            for m in mail.outbox
            if (row := row_of(m)).turnover_id == job.pk
            and row.kind in (Kind.CLEANER_JOB, Kind.CLEANER_UPDATE)
        ]
        assert received, f"the cleaner of job {index} has no email about it"
        return received[-1]

    def cleaner(index: int, answer: str) -> Callable[[], None]:
        """The cleaner uses their newest email about the job: accept, or the done page."""

        def act() -> None:
            body = latest_job_email(index).body
            if answer == "accept":
                link = ACCEPT_LINK.search(body)
                assert link is not None
                assert cleaner_client.post(urlsplit(link[1]).path).status_code == 200
                return
            link, code = DONE_LINK.search(body), CLEANER_CODE.search(body)
            assert link is not None
            assert code is not None
            path = urlsplit(link[1]).path
            page = cleaner_client.get(path)
            assert page.status_code == 200
            assert code[1] in page.content.decode()
            response = cleaner_client.post(path, {"outcome": answer, "code": code[1]})
            assert response.status_code == 200, response.content.decode()

        return act

    def owner_sets(code: str | None) -> Callable[[], None]:
        """The owner confirms in the admin: the next planned code (None), or their own."""

        def act() -> None:
            owner = tenant.admin_client()  # signed in now: a session lasts two weeks
            if code is None:
                found = HIDDEN_CODE.search(owner.get(box_page).content.decode())
                assert found is not None
                chosen = found[1]
            else:
                chosen = code
            response = owner.post(box_page, {"code": chosen})
            assert response.status_code == 302
            assert response["Location"] == box_page

        return act

    def usual(index: int, check_out: date, *, set_after: int = 3) -> None:
        leave = utc(check_out.year, check_out.month, check_out.day, 10)
        at(leave - timedelta(hours=22), cleaner(index, "accept"))
        at(leave + timedelta(hours=set_after), cleaner(index, "set"))

    def late_stay() -> None:
        bookings.append(stay(prop, date(2031, 3, 12), date(2031, 3, 14), email="late@example.com"))
        usual(len(bookings) - 1, date(2031, 3, 14))

    at(utc(2031, 1, 1, 12), owner_sets("2468"))  # what is on the box today
    usual(0, date(2031, 2, 4))
    at(utc(2031, 2, 10, 9), owner_sets(None))  # job 1's email bounced: the owner sets it
    # Job 2: nobody accepts or confirms.
    at(utc(2031, 2, 14, 12), cleaner(3, "accept"))
    at(utc(2031, 2, 15, 13), cleaner(3, "not_set"))
    at(utc(2031, 2, 17, 12), cleaner(3, "set"))  # went back and set it
    usual(4, date(2031, 2, 20), set_after=5)  # 15:00: after guest 5's welcome at 14:00
    usual(5, date(2031, 2, 23))
    at(utc(2031, 2, 22, 18), lambda: booking_cancel_without_refund(booking=bookings[6]))
    usual(7, date(2031, 2, 28))
    at(utc(2031, 3, 3, 10), owner_sets("90210"))  # a code of the owner's own
    usual(8, date(2031, 3, 8), set_after=2)
    at(utc(2031, 3, 7, 20), lambda: booking_cancel_without_refund(booking=bookings[9]))
    at(utc(2031, 3, 11, 12), late_stay)

    start = utc(2031, 1, 1, 12)
    box: list[tuple[datetime, str]] = []
    went_out: list[datetime] = []  # the simulated hour each email of mail.outbox went out
    with time_machine.travel(start, tick=False) as traveller:
        for n, (check_in, check_out) in enumerate(plan):
            bookings.append(stay(prop, check_in, check_out, email=f"guest{n}@example.com"))
        bounce = staff_create(business=tenant.business, name="Bo", email="bounce@example.com")
        turnover_cleaner_assign(turnover=job_after(1), cleaner=bounce)
        moment = start
        while moment < utc(2031, 3, 19):
            traveller.move_to(moment)
            for action in actions.pop(moment, []):
                action()
            before = len(mail.outbox)
            send_due()
            went_out.extend([moment] * (len(mail.outbox) - before))
            on_box = KeyBox.objects.select_related("key_code").get(property=prop).key_code.code
            if not box or box[-1][1] != on_box:
                box.append((moment, on_box))
            # The last four codes on the box are kept (never handed out again).
            kept = set(KeyCode.objects.filter(property=prop).values_list("code", flat=True))
            recent = [code for _, code in box[-4:]]
            assert set(recent) <= kept, f"{moment}: a recent code was deleted"
            moment += timedelta(hours=1)
    assert not actions, "some planned actions never ran"

    told: dict[int, list[tuple[datetime, str]]] = {}
    for message, moment in zip(mail.outbox, went_out, strict=True):
        row = row_of(message)
        if row.kind in (Kind.WELCOME, Kind.KEY_UPDATE):
            assert row.booking_id is not None
            found = GUEST_CODE.search(message.body)
            assert found is not None
            told.setdefault(row.booking_id, []).append((moment, found[1]))

    arrivals = 0
    for booking in Booking.objects.filter(property=prop, status=Booking.Status.CONFIRMED):
        arrive = check_in_moment(booking)
        on_box_then = [code for moment, code in box if moment <= arrive][-1]
        sent = [code for moment, code in told.get(booking.pk, []) if moment <= arrive]
        assert sent, f"{booking} was never sent a code"
        assert sent[-1] == on_box_then, f"{booking}: sent {sent}, box {on_box_then}"
        arrivals += 1
    assert arrivals == 10  # 12 stays, 2 cancelled

    by_stay = {b.pk: n for n, b in enumerate(bookings)}
    # A same-day changeover: the welcome waited for the cleaner's confirmation (13:00).
    [(welcomed_at, _)] = told[bookings[1].pk]
    assert welcomed_at == utc(2031, 2, 4, 13)
    # Sent the old code, then the new one once it was confirmed: stays 2, 4 and 5.
    assert {by_stay[pk] for pk, sent in told.items() if len(sent) == 2} == {2, 4, 5}
    # Stay 3: nobody confirmed; sent the code on the box when the wait ran out (14:00).
    assert [at_ for at_, _ in told[bookings[3].pk]] == [utc(2031, 2, 12, 14)]
    # The owner heard at once of every arrival sent a code while the new one was not
    # confirmed, and of the cleaner who could not change it; never of the others.
    alerts = ScheduledMessage.objects.filter(kind=Kind.OWNER_KEY_CODE)
    assert {by_stay[a.booking_id] for a in alerts if a.booking_id} == {2, 3, 4, 5}
    assert all(a.state == ScheduledMessage.State.SENT for a in alerts)
    assert alerts.filter(turnover=job_after(3), key__contains="not-set").exists()

    # The box's history: ten codes, none repeated within four (job 2's code, which
    # nobody set, was never on it).
    sequence = [code for _, code in box]
    assert len(sequence) == 10
    for index, code in enumerate(sequence):
        assert code not in sequence[max(0, index - 4) : index]
