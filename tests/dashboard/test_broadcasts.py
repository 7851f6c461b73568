"""Free-night broadcasts on the dashboard: the gap finder, the preview, sending through
`broadcast_send` (which refuses nights booked since), and the progress page with its
JSON counts; isolation between businesses."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bookings.availability import free_runs
from bookings.models import Booking
from bookings.services.blocks import block_create
from bookings.services.stays import booking_create, booking_hold
from messaging.models import Broadcast, GuestOptOut, Kind, ScheduledMessage
from messaging.services.broadcasts import broadcast_send
from messaging.services.outbox import outbox_dispatch
from messaging.services.sending import outbox_send
from messaging.services.settings_rows import business_messaging_get_or_create
from properties.models import Property
from tests.conftest import Tenant
from tests.factories import PropertyFactory
from tests.messaging.test_broadcast_and_admin import past_guests

State = ScheduledMessage.State


def booked(prop: Property, start: date, nights: int, name: str = "Guest") -> Booking:
    return booking_create(
        property=prop,
        check_in=start,
        check_out=start + timedelta(days=nights),
        source="direct",
        guest_name=name,
        guest_email=f"{name.split()[0].lower()}@example.com",
    )


def calendar(tenant: Tenant) -> date:
    """Sea View over the next four weeks: booked 3-6, blocked 10-12, a live hold 20-22
    (days from today), three past guests of whom one unsubscribed."""
    prop = tenant.prop
    Property.objects.filter(pk=prop.pk).update(name="Sea View")
    prop.refresh_from_db()
    today = prop.local_today()
    booked(prop, today + timedelta(days=3), 3)
    block_create(property=prop, start=today + timedelta(days=10), end=today + timedelta(days=12))
    booking_hold(
        property=prop,
        check_in=today + timedelta(days=20),
        check_out=today + timedelta(days=22),
        guests=1,
        guest_name="Hedy Lamarr",
        guest_email="hedy@example.com",
    )
    past_guests(prop, ["ada@example.com", "grace@example.com", "out@example.com"])
    GuestOptOut.objects.create(business=tenant.business, email="out@example.com")
    return today


def runs_on_page(response: Any) -> list[tuple[date, date]]:
    rows = response.context["rows"]
    return [(item["run"].free_from, item["run"].free_until) for item in rows[0]["runs"]]


def sent_out(broadcast: Broadcast) -> list[int]:
    """What one dispatcher run hands to the senders, of this broadcast's emails."""
    claimed: list[int] = []
    outbox_dispatch(enqueue=lambda i, p: claimed.append(i))
    ours = set(ScheduledMessage.objects.filter(broadcast=broadcast).values_list("id", flat=True))
    return [i for i in claimed if i in ours]


def test_the_gap_finder_lists_genuinely_free_runs(owner: Client, tenant: Tenant) -> None:
    today = calendar(tenant)
    response = owner.get("/dashboard/broadcasts/?weeks=4")
    assert response.status_code == 200
    day = lambda n: today + timedelta(days=n)  # noqa: E731
    assert runs_on_page(response) == [
        (day(0), day(3)),
        (day(6), day(10)),
        (day(12), day(20)),
        (day(22), day(28)),
    ]
    gaps = response.context["rows"][0]["gaps"]
    assert gaps.audience == 2  # ada and grace; out@ unsubscribed
    html = response.content.decode()
    assert "2 past guests to tell" in html
    assert "Tell past guests" in html
    assert f"free_from={day(6).isoformat()}" in html


def test_runs_respect_minimum_stay_and_advance_notice(tenant: Tenant) -> None:
    today = calendar(tenant)
    Property.objects.filter(pk=tenant.prop.pk).update(min_nights=3, advance_notice_days=1)
    runs = free_runs(business=tenant.business, today=today, until=today + timedelta(days=28))
    day = lambda n: today + timedelta(days=n)  # noqa: E731
    # Tonight cannot be booked any more, so 1-3 is two nights: shorter than three.
    assert [(r.free_from, r.free_until) for r in runs] == [
        (day(6), day(10)),
        (day(12), day(20)),
        (day(22), day(28)),
    ]


def test_a_run_already_offered_says_so(owner: Client, tenant: Tenant) -> None:
    today = calendar(tenant)
    broadcast_send(
        business=tenant.business,
        property=tenant.prop,
        free_from=today + timedelta(days=13),
        free_until=today + timedelta(days=15),
    )
    html = owner.get("/dashboard/broadcasts/?weeks=4").content.decode()
    assert "Offered" in html
    assert "to 2 guests" in html


def test_the_gap_finder_asks_the_same_number_of_queries_for_a_busy_business(
    owner: Client, tenant: Tenant
) -> None:
    today = calendar(tenant)
    broadcast_send(
        business=tenant.business,
        property=tenant.prop,
        free_from=today + timedelta(days=13),
        free_until=today + timedelta(days=15),
    )
    owner.get("/dashboard/broadcasts/")
    with CaptureQueriesContext(connection) as small:
        owner.get("/dashboard/broadcasts/")
    for n in range(5):
        prop = PropertyFactory(business=tenant.business, name=f"Cottage {n}")
        past_guests(prop, [f"g{n}-{i}@example.com" for i in range(4)])
        for i in range(4):
            booked(prop, today + timedelta(days=7 * i + n), 3, name=f"Guest{n}x{i}")
        broadcast_send(
            business=tenant.business,
            property=prop,
            free_from=today + timedelta(days=40),
            free_until=today + timedelta(days=42),
        )
    with CaptureQueriesContext(connection) as large:
        response = owner.get("/dashboard/broadcasts/")
    assert len(large) == len(small), "\n".join(q["sql"][:150] for q in large.captured_queries)
    assert len(response.context["rows"]) == 6
    assert len(response.context["recent"]) == 6


def test_gap_preview_send_and_progress(
    owner: Client, tenant: Tenant, settings: Any, redis_prefix: str
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.EMAIL_RATE_PER_SECOND = 1000.0
    quiet = business_messaging_get_or_create(business=tenant.business)
    quiet.quiet_hours = False
    quiet.save()
    today = calendar(tenant)
    # The gap finder's link for the run 12-20 leads to the preview.
    gap = owner.get("/dashboard/broadcasts/?weeks=4").context["rows"][0]["runs"][2]
    preview = owner.get(gap["url"] + "&note=10%25+off+this+week")
    assert preview.status_code == 200
    html = preview.content.decode()
    assert "Sea View is free from" in html  # the subject
    assert "10% off this week" in html
    assert preview.context["audience_count"] == 2
    assert "ada@example.com" in html
    assert "out@example.com" not in html
    assert "Send to 2 guests" in html
    assert not Broadcast.objects.exists()  # looking sends nothing

    response = owner.post(
        reverse("dashboard:broadcast-new"),
        {
            "property": tenant.prop.pk,
            "free_from": (today + timedelta(days=12)).isoformat(),
            "free_until": (today + timedelta(days=20)).isoformat(),
            "note": "10% off this week",
            "action": "send",
        },
    )
    assert response.status_code == 302
    broadcast = Broadcast.objects.get()
    assert response["Location"] == f"/dashboard/broadcasts/{broadcast.pk}/"
    assert (broadcast.total, broadcast.note) == (2, "10% off this week")
    assert set(
        ScheduledMessage.objects.filter(broadcast=broadcast).values_list("recipient", flat=True)
    ) == {"ada@example.com", "grace@example.com"}

    page = owner.get(response["Location"])
    assert page.status_code == 200
    assert page.context["progress"].queued == 2
    assert "2 emails waiting to go out" in page.content.decode()
    json_url = f"/dashboard/broadcasts/{broadcast.pk}/progress.json"
    assert owner.get(json_url).json() | {"summary": "", "next_at": None} == {
        "total": 2,
        "queued": 2,
        "sent": 0,
        "failed": 0,
        "skipped": 0,
        "cancelled": 0,
        "done": False,
        "summary": "",
        "next_at": None,
    }

    # The outbox sends them at the shared rate; one address bounces for good.
    claimed = sent_out(broadcast)
    assert len(claimed) == 2
    outbox_send(message_id=claimed[0])
    ScheduledMessage.objects.filter(pk=claimed[1]).update(
        state=State.FAILED, last_error="550 no such user"
    )
    counts = owner.get(json_url).json()
    assert (counts["sent"], counts["failed"], counts["queued"], counts["done"]) == (1, 1, 0, True)
    assert counts["summary"] == "Done: 1 email sent, 1 failed."
    done = owner.get(response["Location"]).content.decode()
    assert "550 no such user" in done
    assert "Sent broadcasts" in owner.get("/dashboard/broadcasts/").content.decode()


def test_nights_booked_since_the_preview_are_refused_as_a_form_error(
    owner: Client, tenant: Tenant
) -> None:
    today = calendar(tenant)
    start, end = today + timedelta(days=12), today + timedelta(days=20)
    url = reverse("dashboard:broadcast-new")
    assert owner.get(url, {"property": tenant.prop.pk, "free_from": start, "free_until": end})
    booked(tenant.prop, today + timedelta(days=15), 2, name="Late Booker")
    data = {"property": tenant.prop.pk, "free_from": start, "free_until": end, "note": ""}
    assert owner.post(url, {**data, "action": "preview"}).status_code == 200  # no send
    response = owner.post(url, {**data, "action": "send"})
    assert response.status_code == 409
    html = response.content.decode()
    assert "Not free any more" in html
    assert "Pick free nights again." in html
    assert 'class="form-errors"' in html
    assert not Broadcast.objects.exists()
    assert not ScheduledMessage.objects.filter(kind=Kind.BROADCAST).exists()
    # A hold counts as taken as well, and the admin's form says the same.
    response = tenant.admin_client().post(
        reverse("admin:messaging_broadcast_add"),
        {
            "property": tenant.prop.pk,
            "free_from": today + timedelta(days=19),
            "free_until": today + timedelta(days=21),
            "note": "",
        },
    )
    assert response.status_code == 200
    assert "Not free any more" in response.content.decode()
    assert not Broadcast.objects.exists()


def test_bad_input_is_a_form_error_and_sends_nothing(owner: Client, tenant: Tenant) -> None:
    today = calendar(tenant)
    url = reverse("dashboard:broadcast-new")
    for data, message in (
        ({"free_from": "soon", "free_until": today + timedelta(days=20)}, "Enter a valid date"),
        (
            {"free_from": today + timedelta(days=14), "free_until": today + timedelta(days=12)},
            "Pick a day after the first free night.",
        ),
        (
            {"free_from": today - timedelta(days=9), "free_until": today},
            "These dates are in the past.",
        ),
    ):
        response = owner.post(
            url, {"property": tenant.prop.pk, "note": "", "action": "send", **data}
        )
        assert response.status_code == 400, data
        assert message in response.content.decode(), data
    assert owner.get("/dashboard/broadcasts/?weeks=5").status_code == 400
    assert not Broadcast.objects.exists()


def test_a_broadcast_whose_nights_all_got_booked_is_not_sent(
    tenant: Tenant, settings: Any, redis_prefix: str
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.EMAIL_RATE_PER_SECOND = 1000.0
    quiet = business_messaging_get_or_create(business=tenant.business)
    quiet.quiet_hours = False
    quiet.save()
    today = calendar(tenant)
    broadcast = broadcast_send(
        business=tenant.business,
        property=tenant.prop,
        free_from=today + timedelta(days=6),
        free_until=today + timedelta(days=10),
    )
    booked(tenant.prop, today + timedelta(days=6), 4, name="Quick Booker")
    assert [outbox_send(message_id=i) for i in sent_out(broadcast)] == ["skipped", "skipped"]
    rows = ScheduledMessage.objects.filter(broadcast=broadcast)
    assert {r.last_error for r in rows} == {"Every night it offered was booked in the meantime."}


def test_progress_page_works_without_inline_script(owner: Client, tenant: Tenant) -> None:
    today = calendar(tenant)
    broadcast = broadcast_send(
        business=tenant.business,
        property=tenant.prop,
        free_from=today + timedelta(days=13),
        free_until=today + timedelta(days=15),
    )
    html = owner.get(f"/dashboard/broadcasts/{broadcast.pk}/").content.decode()
    assert 'src="/static/js/dashboard-broadcast.js"' in html
    assert "<script>" not in html
    assert f'data-progress-url="/dashboard/broadcasts/{broadcast.pk}/progress.json"' in html
    assert f'href="/dashboard/broadcasts/{broadcast.pk}/"' in html  # Refresh, without JS


def urls_of(broadcast: Broadcast, prop: Property) -> list[str]:
    return [
        f"/dashboard/broadcasts/{broadcast.pk}/",
        f"/dashboard/broadcasts/{broadcast.pk}/progress.json",
        f"/dashboard/broadcasts/new/?property={prop.pk}&free_from=2031-01-01&free_until=2031-01-03",
    ]


def test_another_business_gets_404(
    owner: Client, outsider_client: Client, tenant: Tenant, outsider: Tenant
) -> None:
    today = calendar(tenant)
    broadcast = broadcast_send(
        business=tenant.business,
        property=tenant.prop,
        free_from=today + timedelta(days=13),
        free_until=today + timedelta(days=15),
    )
    for url in urls_of(broadcast, tenant.prop):
        assert outsider_client.get(url).status_code == 404, url
    response = outsider_client.post(
        "/dashboard/broadcasts/new/",
        {
            "property": tenant.prop.pk,
            "free_from": today + timedelta(days=13),
            "free_until": today + timedelta(days=15),
            "action": "send",
        },
    )
    assert response.status_code == 404
    assert Broadcast.objects.count() == 1
    assert "Sea View" not in outsider_client.get("/dashboard/broadcasts/").content.decode()
    for url in urls_of(broadcast, tenant.prop):
        assert owner.get(url).status_code == 200, url


@pytest.mark.parametrize(
    "url",
    [
        "/dashboard/broadcasts/",
        "/dashboard/broadcasts/new/",
        "/dashboard/broadcasts/1/",
        "/dashboard/broadcasts/1/progress.json",
    ],
)
def test_broadcast_pages_send_anonymous_visitors_to_sign_in(anonymous: Client, url: str) -> None:
    response = anonymous.get(url)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_holds_that_ran_out_free_their_nights(tenant: Tenant) -> None:
    today = calendar(tenant)
    Booking.objects.filter(status=Booking.Status.HELD).update(
        hold_expires_at=timezone.now() - timedelta(minutes=1)
    )
    runs = free_runs(business=tenant.business, today=today, until=today + timedelta(days=28))
    assert (today + timedelta(days=12), today + timedelta(days=28)) in [
        (r.free_from, r.free_until) for r in runs
    ]
