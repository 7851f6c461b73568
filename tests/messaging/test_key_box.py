"""The code on the box: confirmed by the cleaner (done page) or the owner (service,
admin page, job action), never assumed; what guests are sent, the owner's alerts, the
quiet-hours exception for key codes, pruning that counts confirmed codes only."""

from __future__ import annotations

import importlib
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.apps import apps
from django.core import mail
from django.test import Client
from django.urls import reverse

from messaging import links
from messaging.errors import InvalidKeyCode
from messaging.key_box_selectors import key_box_state
from messaging.models import (
    KeyBox,
    KeyCode,
    KeyCodeConfirmation,
    Kind,
    ScheduledMessage,
    Turnover,
)
from messaging.selectors import timing_for
from messaging.services.key_box import key_code_confirm
from messaging.services.key_codes import key_codes_prune
from messaging.services.outbox import message_plan, outbox_dispatch
from messaging.services.sending import outbox_send
from tests.conftest import APP_HOST, Tenant
from tests.messaging.conftest import stay, with_cleaner

State = ScheduledMessage.State
Source = KeyCodeConfirmation.Source
NOW = datetime(2031, 1, 10, 12, 0, tzinfo=UTC)
GUEST_CODE = re.compile(r"Key-box code: (\d+)")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _mail(settings: Any, redis_prefix: str) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.EMAIL_RATE_PER_SECOND = 1000.0


@pytest.fixture
def job(tenant: Tenant) -> Turnover:
    """Cleaning on Tue 4 Feb 10:00, next arrival Thu 6 Feb 16:00; the box holds 1357."""
    with_cleaner(tenant.prop)
    with time_machine.travel(NOW, tick=False):
        first = stay(tenant.prop, date(2031, 2, 1), date(2031, 2, 4))
        stay(tenant.prop, date(2031, 2, 6), date(2031, 2, 8), email="next@example.com")
        key_code_confirm(property=tenant.prop, code="1357", by=tenant.owner, source=Source.OWNER)
    return Turnover.objects.get(booking=first)


def send_due() -> list[Any]:
    before = len(mail.outbox)
    claimed: list[int] = []
    outbox_dispatch(enqueue=lambda i, p: claimed.append(i))
    for message_id in claimed:
        outbox_send(message_id=message_id)
    return mail.outbox[before:]


def arrival_mail(sent: list[Any]) -> list[Any]:
    """The next guest's welcome and corrections among `sent`."""
    return [
        m
        for m in sent
        if "next@example.com" in m.to[0] and m.subject.startswith(("Arrival", "Updated arrival"))
    ]


def on_box(tenant: Tenant) -> str:
    return KeyBox.objects.get(property=tenant.prop).key_code.code


def done_url(job: Turnover) -> str:
    token = links.staff_token(
        turnover_id=job.pk, action="done", revision=job.revision, expires=NOW + timedelta(days=60)
    )
    return reverse("messaging:staff-action", args=[token])


def box_page(tenant: Tenant) -> str:
    return reverse("admin:messaging_keycode_box", args=[tenant.prop.pk])


# --- Confirming: the rule through its doors ----------------------------------------------


@pytest.mark.parametrize(
    ("code", "message"),
    [("12a4", "4 to 6 digits"), ("123", "4 to 6 digits"), ("1357999", "4 to 6 digits")],
)
def test_a_malformed_code_is_refused_by_the_service_and_the_admin(
    tenant: Tenant, job: Turnover, code: str, message: str
) -> None:
    before = KeyCodeConfirmation.objects.count()
    with pytest.raises(InvalidKeyCode, match=message):
        key_code_confirm(property=tenant.prop, code=code, by=tenant.owner, source=Source.OWNER)
    response = tenant.admin_client().post(box_page(tenant), {"code": code})
    assert response.status_code == 400
    assert message in response.content.decode() or "at most 6" in response.content.decode()
    assert KeyCodeConfirmation.objects.count() == before
    assert on_box(tenant) == "1357"


def test_a_recent_code_is_refused_by_the_service_and_the_admin(
    tenant: Tenant, job: Turnover
) -> None:
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        key_code_confirm(property=tenant.prop, code="2468", by=tenant.owner, source=Source.OWNER)
    with pytest.raises(InvalidKeyCode, match="past guests know it"):
        key_code_confirm(property=tenant.prop, code="1357", by=tenant.owner, source=Source.OWNER)
    response = tenant.admin_client().post(box_page(tenant), {"code": "1357"})
    assert response.status_code == 400
    assert "past guests know it" in response.content.decode()
    assert on_box(tenant) == "2468"


def test_the_owner_corrects_the_box_in_the_admin_and_told_guests_get_it(
    tenant: Tenant, job: Turnover
) -> None:
    cleaner_code = job.key_code.code
    with time_machine.travel(utc(2031, 2, 5, 16, 0), tick=False) as clock:
        [welcome] = arrival_mail(send_due())
        assert GUEST_CODE.search(welcome.body)[1] == "1357"  # type: ignore[index]
        clock.shift(timedelta(hours=1))
        response = tenant.admin_client().post(box_page(tenant), {"code": "80808"})
        assert response.status_code == 302
        [update] = arrival_mail(send_due())
    assert "use 80808, not 1357" in update.body
    confirmation = KeyCodeConfirmation.objects.first()
    assert confirmation is not None
    assert (confirmation.key_code.code, confirmation.source) == ("80808", Source.OWNER)
    assert confirmation.confirmed_by_user == tenant.owner
    assert confirmation.confirmed_by_staff is None
    assert on_box(tenant) == "80808"
    # The job's own code is still the one its cleaner is to set; not confirmed.
    assert KeyCode.objects.get(turnover=job).code == cleaner_code
    assert KeyCode.objects.get(turnover=job).confirmed_at is None


def test_the_owner_confirms_a_jobs_code_with_the_turnover_action(
    tenant: Tenant, outsider: Tenant, job: Turnover
) -> None:
    changelist = reverse("admin:messaging_turnover_changelist")
    with time_machine.travel(utc(2031, 2, 4, 12), tick=False):
        response = outsider.admin_client().post(
            changelist, {"action": "confirm_code", "_selected_action": [job.pk]}
        )
        assert on_box(tenant) == "1357"  # another business's job is not theirs to act on
        response = tenant.admin_client().post(
            changelist, {"action": "confirm_code", "_selected_action": [job.pk]}
        )
    assert response.status_code == 302
    assert on_box(tenant) == job.key_code.code
    job.refresh_from_db()
    assert job.code_outcome == Turnover.CodeOutcome.SET
    confirmation = KeyCodeConfirmation.objects.first()
    assert confirmation is not None
    assert (confirmation.turnover, confirmation.source) == (job, Source.OWNER)


def test_the_key_box_page_shows_the_box_the_next_code_and_each_arrival(
    tenant: Tenant, outsider: Tenant, job: Turnover
) -> None:
    with time_machine.travel(utc(2031, 2, 3, 12), tick=False):
        response = tenant.admin_client().get(box_page(tenant))
        assert outsider.admin_client().get(box_page(tenant)).status_code == 404
        assert outsider.admin_client().post(box_page(tenant), {"code": "4444"}).status_code == 404
    page = response.content.decode()
    assert "1357" in page
    assert job.key_code.code in page  # the next code to set
    assert "Sam Cleaner" in page
    assert on_box(tenant) == "1357"
    state = key_box_state(tenant.prop, now=utc(2031, 2, 3, 12))
    assert state.confirmed is not None
    assert state.confirmed.code == "1357"
    assert state.next_code == job.key_code
    [arrival] = state.arrivals  # the first stay arrived already
    assert arrival.booking.guest_email == "next@example.com"
    assert (arrival.code, arrival.status, arrival.planned) == (
        "1357",
        "scheduled",
        job.key_code.code,
    )
    assert "not confirmed yet" in arrival.reason


# --- The cleaner's answers -------------------------------------------------------------------


def test_could_not_change_alerts_the_owner_and_a_later_set_moves_the_box(
    tenant: Tenant, job: Turnover
) -> None:
    client = Client(HTTP_HOST=APP_HOST)
    code = job.key_code.code
    with time_machine.travel(utc(2031, 2, 4, 13), tick=False) as clock:
        page = client.get(done_url(job)).content.decode()
        assert code in page
        assert "I could not change it" in page
        response = client.post(done_url(job), {"outcome": "not_set", "code": code})
        assert response.status_code == 200
        assert "owner has been told" in response.content.decode()
        job.refresh_from_db()
        assert (job.state, job.code_outcome) == (Turnover.State.DONE, "not_set")
        assert on_box(tenant) == "1357"
        [alert] = [m for m in send_due() if m.subject.startswith("Key code not confirmed")]
        assert "could not change the key-box code to " + code in alert.body
        assert f"/admin/messaging/keycode/box/{tenant.prop.pk}/" in alert.body
        assert f"/admin/messaging/turnover/{job.pk}/change/" in alert.body
        # Pressing again sends no second alert.
        client.post(done_url(job), {"outcome": "not_set", "code": code})
        assert send_due() == []
        clock.shift(timedelta(hours=20))  # went back and set it
        response = client.post(done_url(job), {"outcome": "set", "code": code})
        assert response.status_code == 200
        assert on_box(tenant) == code
        confirmation = KeyCodeConfirmation.objects.first()
        assert confirmation is not None
        assert (confirmation.source, confirmation.confirmed_by_staff) == (
            Source.CLEANER,
            job.cleaner,
        )
        # Once confirmed, "could not change" is refused: the box is what was confirmed.
        response = client.post(done_url(job), {"outcome": "not_set", "code": code})
        assert response.status_code == 409
    assert on_box(tenant) == code


def test_a_done_answer_for_another_code_is_refused(tenant: Tenant, job: Turnover) -> None:
    client = Client(HTTP_HOST=APP_HOST)
    with time_machine.travel(utc(2031, 2, 4, 13), tick=False):
        response = client.post(done_url(job), {"outcome": "set", "code": "9999"})
    assert response.status_code == 409
    job.refresh_from_db()
    assert job.state == Turnover.State.PENDING
    assert on_box(tenant) == "1357"


def test_a_late_answer_cannot_put_the_box_back_to_an_older_code(tenant: Tenant) -> None:
    with_cleaner(tenant.prop)
    with time_machine.travel(NOW, tick=False):
        first = stay(tenant.prop, date(2031, 2, 1), date(2031, 2, 4))
        second = stay(tenant.prop, date(2031, 2, 4), date(2031, 2, 5), email="next@example.com")
        stay(tenant.prop, date(2031, 2, 5), date(2031, 2, 8), email="third@example.com")
    earlier, later = Turnover.objects.get(booking=first), Turnover.objects.get(booking=second)
    client = Client(HTTP_HOST=APP_HOST)
    with time_machine.travel(utc(2031, 2, 5, 13), tick=False):
        answer = {"outcome": "set", "code": later.key_code.code}
        assert client.post(done_url(later), answer).status_code == 200
        # The cleaner of the day before presses "I set it" only now.
        response = client.post(done_url(earlier), {"outcome": "set", "code": earlier.key_code.code})
        assert response.status_code == 409
        assert "newer code" in response.content.decode()
        # Nor does the owner's action on the older job move the box back.
        tenant.admin_client().post(
            reverse("admin:messaging_turnover_changelist"),
            {"action": "confirm_code", "_selected_action": [earlier.pk]},
        )
    assert on_box(tenant) == later.key_code.code


# --- What guests are sent, and when the owner hears ----------------------------------------


def test_an_unconfirmed_code_is_not_sent_and_the_owner_is_alerted_at_once(
    tenant: Tenant, job: Turnover
) -> None:
    with time_machine.travel(utc(2031, 2, 5, 16, 0), tick=False):  # 24 h before arrival
        sent = send_due()
        sent += send_due()  # the alert, scheduled as the welcome went (the kick's run)
    [welcome] = arrival_mail(sent)
    assert GUEST_CODE.search(welcome.body)[1] == "1357"  # type: ignore[index]
    [alert] = [m for m in sent if m.subject.startswith("Key code not confirmed")]
    assert alert.to == [tenant.business.contact_email]
    assert f"The new code {job.key_code.code} is not confirmed" in alert.body
    assert "was sent 1357" in alert.body
    assert "Sam Cleaner" in alert.body  # the cleaner's state
    assert f"/admin/messaging/keycode/box/{tenant.prop.pk}/" in alert.body


def test_a_late_confirmation_waits_for_morning_unless_the_arrival_is_close(
    tenant: Tenant, job: Turnover
) -> None:
    with time_machine.travel(utc(2031, 2, 5, 16, 0), tick=False):
        send_due()  # the welcome, with 1357
    with time_machine.travel(utc(2031, 2, 5, 22, 30), tick=False):
        key_code_confirm(
            property=tenant.prop, code=job.key_code.code, by=tenant.owner, source=Source.OWNER
        )
    update = ScheduledMessage.objects.get(kind=Kind.KEY_UPDATE)
    assert update.send_at == utc(2031, 2, 6, 8, 0)  # arrival at 16:00: morning is soon enough
    # A code for an arrival at 09:00 is not held until 08:00.
    timing = timing_for(tenant.prop)
    for kind in (Kind.KEY_UPDATE, Kind.WELCOME):
        state, send_at, _ = message_plan(
            prop=tenant.prop,
            timing=timing,
            kind=kind,
            wanted_at=utc(2031, 2, 5, 22, 30),
            expires_at=utc(2031, 2, 6, 9, 0),
            now=utc(2031, 2, 5, 22, 30),
        )
        assert (state, send_at) == (State.SCHEDULED, utc(2031, 2, 5, 22, 30))
    state, send_at, _ = message_plan(
        prop=tenant.prop,
        timing=timing,
        kind=Kind.REMINDER,
        wanted_at=utc(2031, 2, 5, 22, 30),
        expires_at=utc(2031, 2, 6, 9, 0),
        now=utc(2031, 2, 5, 22, 30),
    )
    assert send_at == utc(2031, 2, 6, 8, 0)  # other guest mail keeps quiet hours


def test_before_a_same_day_changeover_the_welcome_waits_for_the_confirmation(
    tenant: Tenant,
) -> None:
    with_cleaner(tenant.prop)
    with time_machine.travel(NOW, tick=False):
        first = stay(tenant.prop, date(2031, 2, 1), date(2031, 2, 4))
        stay(tenant.prop, date(2031, 2, 4), date(2031, 2, 8), email="next@example.com")
        key_code_confirm(property=tenant.prop, code="1357", by=tenant.owner, source=Source.OWNER)
    job = Turnover.objects.get(booking=first)
    with time_machine.travel(utc(2031, 2, 3, 16), tick=False):
        assert arrival_mail(send_due()) == []
    welcome = ScheduledMessage.objects.get(
        kind=Kind.WELCOME, booking__guest_email="next@example.com"
    )
    assert welcome.state == State.SCHEDULED
    assert welcome.send_at == utc(2031, 2, 4, 14)  # at the latest 2 h before check-in
    state = key_box_state(tenant.prop, now=utc(2031, 2, 3, 16))
    assert state.arrivals[0].status == "waiting for the cleaner"
    with time_machine.travel(utc(2031, 2, 4, 12, 40), tick=False):
        client = Client(HTTP_HOST=APP_HOST)
        client.post(done_url(job), {"outcome": "set", "code": job.key_code.code})
        sent = send_due()
    [welcome_mail] = arrival_mail(sent)
    assert GUEST_CODE.search(welcome_mail.body)[1] == job.key_code.code  # type: ignore[index]
    assert not ScheduledMessage.objects.filter(kind=Kind.OWNER_KEY_CODE).exists()


# --- History ----------------------------------------------------------------------------------


def test_only_confirmed_codes_push_a_code_out_of_the_history(tenant: Tenant) -> None:
    prop = tenant.prop
    start = utc(2031, 1, 1, 12)

    def code(value: str, *, confirmed: int | None, created: int) -> KeyCode:
        return KeyCode.objects.create(
            business=tenant.business,
            property=prop,
            code=value,
            valid_from=date(2031, 1, 1) + timedelta(days=created),
            confirmed_at=start + timedelta(days=confirmed) if confirmed is not None else None,
        )

    with time_machine.travel(start, tick=False):
        oldest = code("1000", confirmed=0, created=0)
        for n in range(1, 4):
            code(f"100{n}", confirmed=n, created=n)
        newest = code("1004", confirmed=None, created=4)  # not set yet
        for n in range(5, 9):
            code(f"100{n}", confirmed=None, created=n)  # never set
    KeyBox.objects.create(
        business=tenant.business,
        property=prop,
        key_code=KeyCode.objects.get(code="1003"),
        since=start + timedelta(days=3),
    )
    assert key_codes_prune(prop=prop, now=start + timedelta(days=20)) == 0
    assert KeyCode.objects.filter(pk=oldest.pk).exists()
    KeyCode.objects.filter(pk=newest.pk).update(confirmed_at=start + timedelta(days=9))
    KeyBox.objects.filter(property=prop).update(key_code=newest)
    assert key_codes_prune(prop=prop, now=start + timedelta(days=20)) >= 1
    assert not KeyCode.objects.filter(pk=oldest.pk).exists()
    assert KeyCode.objects.filter(code__in=["1001", "1002", "1003", "1004"]).count() == 4


def test_codes_in_effect_before_confirmations_are_carried_over(tenant: Tenant) -> None:
    with_cleaner(tenant.prop)
    with time_machine.travel(utc(2030, 12, 1, 12), tick=False):
        stay(tenant.prop, date(2030, 12, 20), date(2031, 1, 5))
        stay(tenant.prop, date(2031, 2, 1), date(2031, 2, 4))
    with time_machine.travel(NOW, tick=False):
        past, future = (
            KeyCode.objects.filter(property=tenant.prop, turnover__isnull=False)
            .order_by("valid_from")
            .all()
        )
        migration = importlib.import_module("messaging.migrations.0004_key_box_carried_over")
        migration.carry_over(apps, None)
    box = KeyBox.objects.get(property=tenant.prop)
    assert box.key_code == past  # the job of 5 January: assumed set, carried over
    future.refresh_from_db()
    assert future.confirmed_at is None
    assert KeyCodeConfirmation.objects.filter(source=Source.CARRIED_OVER).count() == 2
