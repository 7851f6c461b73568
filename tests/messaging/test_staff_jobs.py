"""Staff see their own coming jobs on a page reached from a link emailed to them."""

from __future__ import annotations

import re
from datetime import timedelta

from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from messaging import links
from messaging.models import Turnover
from tests.conftest import APP_HOST, Tenant
from tests.messaging.objects import make_turnover


def _client() -> Client:
    return Client(HTTP_HOST=APP_HOST)


def _link(body: str) -> str:
    found = re.search(r"https?://[^/\s]+(/m/staff/my-jobs/[^/\s]+/)", body)
    assert found, body
    return found.group(1)


def test_a_cleaner_asks_for_the_link_and_sees_only_their_jobs(tenant: Tenant) -> None:
    mine = make_turnover(tenant.business)
    theirs = make_turnover(tenant.business)  # another cleaner's
    email = mine.cleaner.email
    cache.delete(f"staff-jobs-link:{email}")
    response = _client().post("/m/staff/my-jobs/", {"email": email.upper()})
    assert response.status_code == 200
    assert b"a link to your jobs is on its way" in response.content
    assert len(mail.outbox) == 1
    page = _client().get(_link(mail.outbox[0].body))
    assert page.status_code == 200
    html = page.content.decode()
    assert mine.property.name in html
    assert theirs.property.name not in html
    assert "/m/staff/jobs/" in html  # the signed accept link
    assert page["Cache-Control"] == "private, no-store"


def test_an_unknown_address_gets_the_same_answer_and_no_email(tenant: Tenant) -> None:
    cache.delete("staff-jobs-link:nobody@example.com")
    response = _client().post("/m/staff/my-jobs/", {"email": "nobody@example.com"})
    assert b"a link to your jobs is on its way" in response.content
    assert mail.outbox == []


def test_requests_are_limited_per_address(tenant: Tenant) -> None:
    turnover = make_turnover(tenant.business)
    cache.delete(f"staff-jobs-link:{turnover.cleaner.email}")
    for _ in range(5):
        _client().post("/m/staff/my-jobs/", {"email": turnover.cleaner.email})
    assert len(mail.outbox) == 3


def test_expired_tampered_and_cancelled(tenant: Tenant) -> None:
    turnover = make_turnover(tenant.business)
    past = timezone.now() - timedelta(minutes=1)
    expired = links.staff_jobs_token(staff_id=turnover.cleaner_id, expires=past)
    assert _client().get(f"/m/staff/my-jobs/{expired}/").status_code == 410
    assert _client().get("/m/staff/my-jobs/forged/").status_code == 404
    good = links.staff_jobs_token(
        staff_id=turnover.cleaner_id, expires=timezone.now() + timedelta(days=1)
    )
    Turnover.objects.filter(pk=turnover.pk).update(state=Turnover.State.CANCELLED)
    page = _client().get(f"/m/staff/my-jobs/{good}/")
    assert page.status_code == 200
    assert turnover.property.name not in page.content.decode()


def test_a_bad_address_is_a_form_error() -> None:
    response = _client().post("/m/staff/my-jobs/", {"email": "not an email"})
    assert response.status_code == 200
    assert b"error-text" in response.content
