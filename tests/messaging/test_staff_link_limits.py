"""What a staff link can still do after its email: one problem report per link
(reworded for an hour, never a flood of owner emails), and nothing at all once the job
went to another cleaner, whose key code is then replaced before the next guest uses it."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse

from bookings.models import Booking
from bookings.services.stays import booking_change_dates
from messaging import links
from messaging.models import KeyCode, Kind, ScheduledMessage, Staff, Turnover
from messaging.services.outbox import outbox_dispatch
from messaging.services.sending import outbox_send
from messaging.services.settings_rows import staff_create
from messaging.services.staff_actions import PROBLEM_REPORT_WINDOW
from tests.conftest import APP_HOST, Tenant
from tests.messaging.conftest import stay, with_cleaner

State = ScheduledMessage.State
NOW = datetime(2031, 1, 10, 12, 0, tzinfo=UTC)
GUEST_CODE = re.compile(r"Key-box code: (\d+)")
CLEANER_CODE = re.compile(r"SET THE KEY BOX TO:\s+(\d+)")


@pytest.fixture(autouse=True)
def _mail(settings: Any, redis_prefix: str) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.EMAIL_RATE_PER_SECOND = 1000.0


@pytest.fixture
def client() -> Client:
    return Client(HTTP_HOST=APP_HOST)


@pytest.fixture
def job(tenant: Tenant) -> Turnover:
    with_cleaner(tenant.prop, email="ann@example.com")
    with time_machine.travel(NOW, tick=False):
        first = stay(tenant.prop, date(2031, 2, 1), date(2031, 2, 4))
        stay(tenant.prop, date(2031, 2, 6), date(2031, 2, 8), email="next@example.com")
    return Turnover.objects.get(booking=first)


@pytest.fixture
def ben(tenant: Tenant) -> Staff:
    return staff_create(business=tenant.business, name="Ben Cleaner", email="ben@example.com")


def url(job: Turnover, action: str, revision: int) -> str:
    token = links.staff_token(
        turnover_id=job.pk, action=action, revision=revision, expires=NOW + timedelta(days=60)
    )
    return reverse("messaging:staff-action", args=[token])


def send_due() -> list[Any]:
    """One dispatcher run and its sends, now; the emails that went out."""
    before = len(mail.outbox)
    claimed: list[int] = []
    outbox_dispatch(enqueue=lambda i, p: claimed.append(i))
    for message_id in claimed:
        outbox_send(message_id=message_id)
    return mail.outbox[before:]


def to(messages: list[Any], address: str, subject: str) -> list[Any]:
    return [m for m in messages if any(address in r for r in m.to) and subject in m.subject]


def reports(job: Turnover) -> list[ScheduledMessage]:
    return list(ScheduledMessage.objects.filter(turnover=job, kind=Kind.OWNER_PROBLEM))


def test_a_problem_link_emails_the_owner_once_and_rewords_within_the_window(
    tenant: Tenant, job: Turnover, client: Client
) -> None:
    owner = tenant.business.contact_email
    link = url(job, "problem", job.revision)
    with time_machine.travel(NOW, tick=False) as clock:
        assert client.post(link, {"note": "The boiler is broken."}).status_code == 200
        clock.shift(timedelta(minutes=5))
        assert client.post(link, {"note": "The boiler is broken and leaking."}).status_code == 200
        # The notice had not gone out: it goes with the newer words, once.
        [sent] = to(send_due(), owner, "Problem reported")
        assert "broken and leaking" in sent.body
        for n in range(20):
            clock.shift(timedelta(minutes=1))
            response = client.post(link, {"note": f"Still leaking ({n})."})
            assert response.status_code == 200
        assert to(send_due(), owner, "Problem reported") == []
        [report] = reports(job)
        assert report.state == State.SENT
        job.refresh_from_db()
        assert job.state == Turnover.State.PROBLEM
        assert job.problem == "Still leaking (19)."  # the owner sees it on the job
        # Once the window is over the link reports nothing more.
        clock.move_to(report.created_at + PROBLEM_REPORT_WINDOW)
        response = client.post(link, {"note": "Another problem."})
        assert response.status_code == 409
        assert "already reported" in response.content.decode()
        assert to(send_due(), owner, "Problem reported") == []
    job.refresh_from_db()
    assert job.problem == "Still leaking (19)."
    assert len(reports(job)) == 1


def test_a_changed_job_has_new_links_that_may_report_again(
    tenant: Tenant, job: Turnover, client: Client
) -> None:
    with time_machine.travel(NOW, tick=False):
        client.post(url(job, "problem", job.revision), {"note": "No towels."})
        booking_change_dates(
            booking=job.booking,
            check_in=date(2031, 2, 1),
            check_out=date(2031, 2, 5),
            enforce_rules=False,
        )
        job.refresh_from_db()
        response = client.post(url(job, "problem", job.revision), {"note": "Broken window."})
    assert response.status_code == 200
    assert [r.context["problem"] for r in reports(job)] == ["No towels.", "Broken window."]


def test_another_cleaner_makes_the_previous_cleaners_links_invalid(
    tenant: Tenant, job: Turnover, ben: Staff, client: Client
) -> None:
    old = job.revision
    with time_machine.travel(NOW, tick=False):
        assert client.post(url(job, "accept", old)).status_code == 200
        response = tenant.admin_client().post(
            reverse("admin:messaging_turnover_change", args=[job.pk]), {"cleaner": ben.pk}
        )
        assert response.status_code == 302
        job.refresh_from_db()
        assert job.cleaner == ben
        assert job.revision == old + 1
        assert job.state == Turnover.State.PENDING  # Ann's acceptance was hers
        for action, data in (("accept", {}), ("done", {}), ("problem", {"note": "Hi"})):
            response = client.post(url(job, action, old), data)
            assert response.status_code == 409, action
            assert "changed after that email was sent" in response.content.decode()
        job.refresh_from_db()
        assert job.state == Turnover.State.PENDING
        assert reports(job) == []
        # Ben's links work.
        assert client.post(url(job, "accept", job.revision)).status_code == 200
    job.refresh_from_db()
    assert job.state == Turnover.State.ACCEPTED
    # Ann's unsent job email is cancelled; Ben gets his.
    rows = {r.recipient: r for r in ScheduledMessage.objects.filter(turnover=job)}
    assert rows["ann@example.com"].state == State.CANCELLED
    assert rows["ben@example.com"].state == State.SCHEDULED


def _reassign(tenant: Tenant, job: Turnover, cleaner: Staff) -> None:
    response = tenant.admin_client().post(
        reverse("admin:messaging_turnover_change", args=[job.pk]), {"cleaner": cleaner.pk}
    )
    assert response.status_code == 302


def test_a_code_sent_to_a_removed_cleaner_is_replaced_before_the_next_guest_is_told(
    tenant: Tenant, job: Turnover, ben: Staff
) -> None:
    next_guest = Booking.objects.get(guest_email="next@example.com")
    with time_machine.travel(datetime(2031, 2, 3, 10, 0, tzinfo=UTC), tick=False) as clock:
        [ann_mail] = to(
            send_due(), "ann@example.com", "Cleaning job"
        )  # the day before the job, 09:00
        ann_code = CLEANER_CODE.search(ann_mail.body)[1]  # type: ignore[index]
        assert ann_code == job.key_code.code
        clock.shift(timedelta(hours=1))
        _reassign(tenant, job, ben)
        new_code = KeyCode.objects.get(turnover=job).code
        assert new_code != ann_code
        [ben_mail] = to(send_due(), "ben@example.com", "Cleaning job")
        assert CLEANER_CODE.search(ben_mail.body)[1] == new_code  # type: ignore[index]
        # The replaced code is kept (retired), so it is not handed out again soon.
        assert KeyCode.objects.filter(code=ann_code, retired_at__isnull=False).exists()
        clock.move_to(datetime(2031, 2, 5, 16, 0, tzinfo=UTC))  # 24 h before arrival
        [welcome] = to(send_due(), next_guest.guest_email, "Arrival details")
    assert GUEST_CODE.search(welcome.body)[1] == new_code  # type: ignore[index]


def test_a_guest_already_told_a_replaced_code_gets_the_new_one(
    tenant: Tenant, job: Turnover, ben: Staff
) -> None:
    next_guest = Booking.objects.get(guest_email="next@example.com")
    with time_machine.travel(datetime(2031, 2, 5, 17, 0, tzinfo=UTC), tick=False) as clock:
        sent = send_due()
        [ann_mail] = to(sent, "ann@example.com", "Cleaning job")
        [welcome] = to(sent, next_guest.guest_email, "Arrival details")
        old_code = CLEANER_CODE.search(ann_mail.body)[1]  # type: ignore[index]
        assert GUEST_CODE.search(welcome.body)[1] == old_code  # type: ignore[index]
        clock.shift(timedelta(hours=1))
        _reassign(tenant, job, ben)
        sent = send_due()
    new_code = KeyCode.objects.get(turnover=job).code
    assert new_code != old_code
    [correction] = to(sent, next_guest.guest_email, "Updated arrival details")
    assert GUEST_CODE.search(correction.body)[1] == new_code  # type: ignore[index]
    assert f"use {new_code}, not {old_code}" in correction.body
    [ben_mail] = to(sent, "ben@example.com", "Cleaning job")
    assert CLEANER_CODE.search(ben_mail.body)[1] == new_code  # type: ignore[index]


def test_a_cleaner_put_back_on_a_job_is_told_it_again_with_the_current_code(
    tenant: Tenant, job: Turnover, ben: Staff
) -> None:
    ann = job.cleaner
    assert ann is not None
    with time_machine.travel(datetime(2031, 2, 3, 10, 0, tzinfo=UTC), tick=False) as clock:
        send_due()  # Ann is told her job
        clock.shift(timedelta(hours=1))
        _reassign(tenant, job, ben)  # Ben's email has not gone yet
        clock.shift(timedelta(minutes=5))
        _reassign(tenant, job, ann)
        sent = send_due()
    assert to(sent, "ben@example.com", "") == []
    [update] = to(sent, "ann@example.com", "Changed cleaning job")
    assert "assigned to you" in update.body
    assert CLEANER_CODE.search(update.body)[1] == KeyCode.objects.get(turnover=job).code  # type: ignore[index]
