"""Staff job links: signed, single-purpose, expiring; GET shows, POST acts. And the
owner's alert when nobody accepts a job in time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from messaging import links
from messaging.models import Kind, ScheduledMessage, Turnover
from messaging.services.turnovers import turnovers_alert_unaccepted
from tests.conftest import APP_HOST, Tenant
from tests.messaging.conftest import stay, with_cleaner

NOW = datetime(2031, 1, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def job(tenant: Tenant) -> Turnover:
    with_cleaner(tenant.prop)
    with time_machine.travel(NOW, tick=False):
        first = stay(tenant.prop, date(2031, 2, 1), date(2031, 2, 4))
        stay(tenant.prop, date(2031, 2, 6), date(2031, 2, 8), email="next@example.com")
    return Turnover.objects.get(booking=first)


def url(job: Turnover, action: str, *, expires: datetime | None = None, revision: int = 0) -> str:
    return reverse(
        "messaging:staff-action",
        args=[
            links.staff_token(
                turnover_id=job.pk,
                action=action,
                revision=revision or job.revision,
                expires=expires or NOW + timedelta(days=60),
            )
        ],
    )


@pytest.fixture
def client() -> Client:
    return Client(HTTP_HOST=APP_HOST)


def test_a_turnover_with_a_cleaner_job_exists_for_each_confirmed_stay(job: Turnover) -> None:
    assert job.cleaner is not None
    assert job.ends_at is not None
    assert job.ends_at.date() == date(2031, 2, 6)
    row = ScheduledMessage.objects.get(turnover=job, kind=Kind.CLEANER_JOB)
    assert row.send_at == datetime(2031, 2, 3, 9, 0, tzinfo=UTC)  # day before check-out, 09:00
    assert hasattr(job, "key_code")


@time_machine.travel(NOW, tick=False)
def test_get_shows_the_job_without_changing_it(job: Turnover, client: Client) -> None:
    response = client.get(url(job, "accept"))
    assert response.status_code == 200
    assert b"Accept job" in response.content
    job.refresh_from_db()
    assert job.state == Turnover.State.PENDING


@time_machine.travel(NOW, tick=False)
def test_post_accepts_then_marks_done(job: Turnover, client: Client) -> None:
    assert client.post(url(job, "accept")).status_code == 200
    job.refresh_from_db()
    assert job.state == Turnover.State.ACCEPTED
    assert client.post(url(job, "done")).status_code == 200
    job.refresh_from_db()
    assert job.state == Turnover.State.DONE


@time_machine.travel(NOW, tick=False)
def test_problem_report_needs_a_note_and_alerts_the_owner(job: Turnover, client: Client) -> None:
    response = client.post(url(job, "problem"), {"note": ""})
    assert response.status_code == 400
    assert not ScheduledMessage.objects.filter(kind=Kind.OWNER_PROBLEM).exists()
    client.post(url(job, "problem"), {"note": "The boiler is broken."})
    job.refresh_from_db()
    assert job.state == Turnover.State.PROBLEM
    notice = ScheduledMessage.objects.get(kind=Kind.OWNER_PROBLEM)
    assert notice.context["problem"] == "The boiler is broken."


def test_expired_link_is_refused(job: Turnover, client: Client) -> None:
    with time_machine.travel(NOW + timedelta(days=61), tick=False):
        response = client.post(url(job, "accept"))
    assert response.status_code == 410
    job.refresh_from_db()
    assert job.state == Turnover.State.PENDING


@time_machine.travel(NOW, tick=False)
def test_tampered_or_foreign_purpose_token_is_404(
    job: Turnover, client: Client, outsider: Tenant
) -> None:
    token = url(job, "accept").split("/")[-2]
    forged = reverse("messaging:staff-action", args=[token[:-3] + "abc"])
    assert client.post(forged).status_code == 404
    # An unsubscribe token is not a staff token, even though both are signed.
    other = links.unsubscribe_token(business_id=job.business_id, email="x@example.com")
    assert client.get(reverse("messaging:staff-action", args=[other])).status_code == 404
    # A signed-in member of another business gains nothing either.
    outsider_client = outsider.admin_client()
    assert outsider_client.post(forged).status_code == 404
    job.refresh_from_db()
    assert job.state == Turnover.State.PENDING


@time_machine.travel(NOW, tick=False)
def test_link_from_before_a_change_no_longer_works(
    tenant: Tenant, job: Turnover, client: Client
) -> None:
    old = url(job, "accept")
    before = job.revision
    from bookings.services.stays import booking_change_dates

    booking_change_dates(
        booking=job.booking,
        check_in=date(2031, 2, 1),
        check_out=date(2031, 2, 5),
        enforce_rules=False,
    )
    job.refresh_from_db()
    assert job.revision == before + 1
    response = client.post(old)
    assert response.status_code == 409
    job.refresh_from_db()
    assert job.state == Turnover.State.PENDING


def test_cancelled_stay_cancels_its_job_and_tells_the_cleaner(job: Turnover) -> None:
    from bookings.services.cancellation import booking_cancel_without_refund

    job_mail = ScheduledMessage.objects.get(turnover=job, kind=Kind.CLEANER_JOB)
    ScheduledMessage.objects.filter(pk=job_mail.pk).update(state=ScheduledMessage.State.SENT)
    with time_machine.travel(NOW + timedelta(days=2), tick=False):
        booking_cancel_without_refund(booking=job.booking)
    job.refresh_from_db()
    assert job.state == Turnover.State.CANCELLED
    update = ScheduledMessage.objects.get(turnover=job, kind=Kind.CLEANER_UPDATE)
    assert "cancelled" in update.context["changes"]
    assert job.key_code.retired_at is not None


def test_unaccepted_job_alerts_the_owner_once(job: Turnover) -> None:
    assert job.accept_by == job.ends_at - timedelta(hours=18)
    with time_machine.travel(job.accept_by - timedelta(minutes=1), tick=False):
        assert turnovers_alert_unaccepted() == 0
    with time_machine.travel(job.accept_by + timedelta(minutes=1), tick=False):
        assert turnovers_alert_unaccepted() == 1
        assert turnovers_alert_unaccepted() == 0
    alert = ScheduledMessage.objects.get(kind=Kind.OWNER_UNACCEPTED)
    assert alert.recipient == job.business.contact_email
