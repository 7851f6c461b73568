"""Staff and key codes on the dashboard: each property's key box (the confirmed code,
who confirmed it and when, the last codes, the next code and its cleaner), which code
each arriving guest gets and why, each staff member's jobs and problems; the owner's
confirmation or correction through `key_code_confirm`; who may, and isolation."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bookings.models import Booking
from messaging.key_box_selectors import arrivals_in_doubt, key_box_state, key_box_states
from messaging.models import (
    KeyBox,
    KeyCode,
    KeyCodeConfirmation,
    Kind,
    ScheduledMessage,
    Staff,
    Turnover,
)
from messaging.services.key_box import key_code_confirm
from properties.models import Membership, Property, PropertyGroup
from tests.conftest import APP_HOST, Tenant
from tests.dashboard.conftest import business_today, stay, with_cleaner
from tests.factories import MembershipFactory, PropertyFactory

PAGE = "/dashboard/staff/"
Source = KeyCodeConfirmation.Source


def confirm_url(prop: Property) -> str:
    return f"/dashboard/staff/key-box/{prop.pk}/"


@dataclass
class Keys:
    """What `key_world` made."""

    sea: Property
    hill: Property
    cleaner: Staff
    repairs: Staff
    job: Turnover  # Sea View's next cleaning, Anna's, accepted
    next_code: KeyCode  # the code Anna is to set
    first: Booking  # the guest before the job
    arriving: Booking  # the guest after it


def key_world(tenant: Tenant, *, extra_properties: int = 0) -> Keys:
    """Sea View: the box holds 1357, confirmed by the owner; a guest arrives in two
    days, Anna cleans after them and is to set a new code before the next guest.
    Hill Barn: nothing confirmed, a guest in four days, a job with a problem."""
    business = tenant.business
    today = business_today(business)
    sea = tenant.prop
    Property.objects.filter(pk=sea.pk).update(name="Sea View")
    sea.refresh_from_db()
    cleaner = with_cleaner(sea, "Anna Clean")
    repairs = Staff.objects.create(
        business=business,
        name="Rita Repair",
        email="rita@fix.example.com",
        phone="+44 20 7946 0000",
        kind=Staff.StaffKind.REPAIR,
    )
    first = stay(sea, today + timedelta(days=2), 3, name="Grace Hopper", source="airbnb")
    arriving = stay(sea, today + timedelta(days=7), 2, name="Ada Lovelace", source="airbnb")
    key_code_confirm(property=sea, code="1357", by=tenant.owner, source=Source.OWNER)
    job = Turnover.objects.select_related("key_code").get(booking=first)
    Turnover.objects.filter(pk=job.pk).update(
        state=Turnover.State.ACCEPTED, accepted_at=timezone.now()
    )
    hill = PropertyFactory(business=business, name="Hill Barn")
    with_cleaner(hill, "Bea Broom")
    before = stay(hill, today, 2, name="Alan Turing", source="booking")
    stay(hill, today + timedelta(days=4), 3, name="Katherine Johnson", source="vrbo")
    Turnover.objects.filter(booking=before).update(
        state=Turnover.State.PROBLEM, problem="The boiler is leaking."
    )
    for n in range(extra_properties):
        extra = PropertyFactory(business=business, name=f"Extra {n}")
        with_cleaner(extra, f"Extra Cleaner{n}")
        a = stay(extra, today + timedelta(days=1), 2, name=f"Extra Guest{n}", source="airbnb")
        stay(extra, today + timedelta(days=5), 2, name=f"Next Guest{n}", source="airbnb")
        key_code_confirm(property=extra, code=f"{2000 + n}", by=tenant.owner, source=Source.OWNER)
        planned = KeyCode.objects.get(turnover__booking=a)
        key_code_confirm(property=extra, code=planned.code, by=tenant.owner, source=Source.OWNER)
    job.refresh_from_db()
    return Keys(
        sea=sea,
        hill=hill,
        cleaner=cleaner,
        repairs=repairs,
        job=job,
        next_code=job.key_code,
        first=first,
        arriving=arriving,
    )


@pytest.fixture(autouse=True)
def morning() -> Iterator[None]:
    """The pages show arrivals from now on: the tests' "arrives today" needs a morning
    (the business is in Europe/London)."""
    today = timezone.now().date()
    with time_machine.travel(datetime.combine(today, time(7), tzinfo=UTC), tick=True):
        yield


@pytest.fixture
def keys(tenant: Tenant) -> Keys:
    return key_world(tenant)


def on_box(prop: Property) -> str:
    return KeyBox.objects.select_related("key_code").get(property=prop).key_code.code


def test_the_page_shows_each_box_each_arrivals_code_and_each_staff_members_jobs(
    owner: Client, tenant: Tenant, keys: Keys
) -> None:
    response = owner.get(PAGE)
    assert response.status_code == 200
    assert "private" in response["Cache-Control"]
    html = response.content.decode()
    cards = {card.state.property.name: card for card in response.context["cards"]}
    assert list(cards) == ["Hill Barn", "Sea View"]
    sea = cards["Sea View"].state
    assert sea.confirmed is not None
    assert sea.confirmed.code == "1357"
    assert sea.last_confirmation is not None
    assert sea.last_confirmation.confirmed_by_user == tenant.owner
    assert f"by {tenant.owner.name} (owner)" in html
    assert sea.next_code == keys.next_code
    assert "Anna Clean" in sea.next_state
    assert "accepted it" in sea.next_state
    assert [item.code.code for item in sea.recent] == ["1357"]
    assert f"I set it: {keys.next_code.code} is on the box" in html
    assert cards["Hill Barn"].state.confirmed is None
    assert "No code confirmed" in html

    # Arrivals: who was or will be sent which code, and why, linking to the stay.
    rows = {row["arrival"].booking.guest_name: row for row in response.context["arrivals"]}
    assert set(rows) >= {"Grace Hopper", "Ada Lovelace", "Katherine Johnson"}
    ada = rows["Ada Lovelace"]["arrival"]
    assert ada.code == "1357"
    assert ada.planned == keys.next_code.code
    assert f"The new code {keys.next_code.code} is not confirmed yet" in ada.reason
    assert f'href="/dashboard/bookings/{keys.arriving.reference}/"' in html
    assert "no code is confirmed on the box yet" in rows["Katherine Johnson"]["arrival"].reason

    # Staff: cleaners first, their jobs with the answer, problems, a link to each job.
    names = [
        item["row"].staff.name if item["row"].staff else None for item in response.context["staff"]
    ]
    assert names[:2] == ["Anna Clean", "Bea Broom"]
    assert "Rita Repair" in names
    anna = response.context["staff"][0]["row"]
    # The job before Ada's arrival (accepted) and the one after her stay.
    assert anna.jobs[0].pk == keys.job.pk
    assert len(anna.jobs) == 2
    assert anna.accepted == 1
    assert anna.waiting == 1
    assert "The boiler is leaking." in html
    assert f'href="/admin/messaging/turnover/{keys.job.pk}/change/"' in html
    assert "+44 20 7946 0000" in html


def test_the_owner_corrects_the_code_and_it_is_recorded_with_who_and_when(
    owner: Client, tenant: Tenant, keys: Keys
) -> None:
    before = timezone.now()
    response = owner.post(confirm_url(keys.sea), {"code": "86420"})
    assert response.status_code == 302
    assert response["Location"] == f"{PAGE}#keys-{keys.sea.pk}"
    assert on_box(keys.sea) == "86420"
    confirmation = KeyCodeConfirmation.objects.filter(property=keys.sea).first()
    assert confirmation is not None
    assert confirmation.key_code.code == "86420"
    assert confirmation.source == Source.OWNER
    assert confirmation.confirmed_by_user == tenant.owner
    assert before <= confirmation.confirmed_at <= timezone.now()
    page = owner.get(PAGE)
    html = page.content.decode()
    assert "86420 is confirmed on the box of Sea View" in html
    sea = next(c.state for c in page.context["cards"] if c.state.property == keys.sea)
    assert [item.code.code for item in sea.recent] == ["86420", "1357"]
    assert sea.recent[0].confirmation == confirmation


def test_the_owner_confirms_the_planned_code_they_set_themselves(owner: Client, keys: Keys) -> None:
    response = owner.post(confirm_url(keys.sea), {"code": keys.next_code.code})
    assert response.status_code == 302
    assert on_box(keys.sea) == keys.next_code.code
    job = Turnover.objects.get(pk=keys.job.pk)
    assert job.code_outcome == Turnover.CodeOutcome.SET
    assert KeyCodeConfirmation.objects.filter(property=keys.sea).first().turnover == job  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("12ab", "A key-box code is 4 to 6 digits."),
        ("", "A key-box code is 4 to 6 digits."),
        ("1234567", "A key-box code is 4 to 6 digits."),
        ("1357 ", None),  # the code on the box already: confirmed again, nothing refused
    ],
)
def test_a_malformed_code_is_a_form_error_on_the_card_and_changes_nothing(
    owner: Client, keys: Keys, code: str, reason: str | None
) -> None:
    count = KeyCodeConfirmation.objects.count()
    response = owner.post(confirm_url(keys.sea), {"code": code})
    if reason is None:
        assert response.status_code == 302
        assert KeyCodeConfirmation.objects.count() == count + 1
        return
    assert response.status_code == 400
    assert reason in response.content.decode()
    assert 'aria-invalid="true"' in response.content.decode()
    assert on_box(keys.sea) == "1357"
    assert KeyCodeConfirmation.objects.count() == count


def test_a_code_the_box_had_recently_is_refused_with_the_reason(owner: Client, keys: Keys) -> None:
    owner.post(confirm_url(keys.sea), {"code": "86420"})
    response = owner.post(confirm_url(keys.sea), {"code": "1357"})
    assert response.status_code == 400
    assert "past guests know it" in response.content.decode()
    assert on_box(keys.sea) == "86420"


@pytest.mark.parametrize("role", [Membership.Role.FRONT_DESK, Membership.Role.VIEWER])
def test_a_member_who_may_not_manage_staff_gets_no_page_and_cannot_confirm(
    tenant: Tenant, keys: Keys, role: str
) -> None:
    member = MembershipFactory(business=tenant.business, role=role)
    client = Client(HTTP_HOST=APP_HOST)
    client.force_login(member.user)
    assert client.get(PAGE).status_code == 403
    response = client.post(confirm_url(keys.sea), {"code": "86420"})
    assert response.status_code == 403
    assert on_box(keys.sea) == "1357"


def test_a_group_manager_sees_and_confirms_only_their_groups_boxes(
    tenant: Tenant, keys: Keys
) -> None:
    group = PropertyGroup.objects.create(business=tenant.business, name="Coast")
    Property.objects.filter(pk=keys.sea.pk).update(group=group)
    member = MembershipFactory(business=tenant.business, role=Membership.Role.GROUP_MANAGER)
    member.groups.add(group)
    client = Client(HTTP_HOST=APP_HOST)
    client.force_login(member.user)
    html = client.get(PAGE).content.decode()
    assert keys.sea.name in html
    assert keys.hill.name not in html
    assert client.post(confirm_url(keys.hill), {"code": "86420"}).status_code == 404


def test_a_staff_member_gets_no_page_and_cannot_confirm(tenant: Tenant, keys: Keys) -> None:
    staff = MembershipFactory(business=tenant.business, role=Membership.Role.STAFF)
    client = Client(HTTP_HOST=APP_HOST)
    client.force_login(staff.user)
    assert client.get(PAGE).status_code == 403
    assert client.post(confirm_url(keys.sea), {"code": "86420"}).status_code == 403
    assert on_box(keys.sea) == "1357"


def test_anonymous_visitors_are_sent_to_sign_in(anonymous: Client, keys: Keys) -> None:
    response = anonymous.post(confirm_url(keys.sea), {"code": "86420"})
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    assert on_box(keys.sea) == "1357"


def test_another_business_property_answers_404_and_stays_unseen(
    owner: Client, tenant: Tenant, outsider: Tenant, keys: Keys
) -> None:
    key_code_confirm(property=outsider.prop, code="9753", by=outsider.owner, source=Source.OWNER)
    response = owner.post(confirm_url(outsider.prop), {"code": "86420"})
    assert response.status_code == 404
    assert on_box(outsider.prop) == "9753"
    assert owner.get(confirm_url(outsider.prop)).status_code == 404
    assert owner.post("/dashboard/staff/key-box/999999/", {"code": "86420"}).status_code == 404
    page = owner.get(PAGE).content.decode()
    assert "9753" not in page
    theirs = outsider.admin_client().get(PAGE).content.decode()
    assert "1357" not in theirs
    assert "Anna Clean" not in theirs


def test_a_get_on_the_confirm_address_changes_nothing(owner: Client, keys: Keys) -> None:
    response = owner.get(confirm_url(keys.sea) + "?code=86420")
    assert response.status_code == 302
    assert on_box(keys.sea) == "1357"


def test_the_page_costs_the_same_queries_for_two_and_ten_properties(
    owner: Client, tenant: Tenant, outsider: Tenant
) -> None:
    key_world(tenant)
    key_world(outsider, extra_properties=8)
    owner.get(PAGE)
    with CaptureQueriesContext(connection) as small:
        response = owner.get(PAGE)
    assert len(response.context["cards"]) == 2
    for n in range(8):
        extra = PropertyFactory(business=tenant.business, name=f"More {n}")
        with_cleaner(extra, f"More Cleaner{n}")
        today = business_today(tenant.business)
        a = stay(extra, today + timedelta(days=1), 2, name=f"More Guest{n}", source="airbnb")
        stay(extra, today + timedelta(days=5), 2, name=f"Later Guest{n}", source="airbnb")
        key_code_confirm(property=extra, code=f"{3000 + n}", by=tenant.owner, source=Source.OWNER)
        if n % 2:
            planned = KeyCode.objects.get(turnover__booking=a)
            key_code_confirm(
                property=extra, code=planned.code, by=tenant.owner, source=Source.OWNER
            )
    with CaptureQueriesContext(connection) as large:
        response = owner.get(PAGE)
    assert len(response.context["cards"]) == 10
    assert len(response.context["arrivals"]) > 10
    assert len(large) == len(small), "\n".join(q["sql"][:160] for q in large.captured_queries)


def test_the_whole_business_read_agrees_with_one_property_at_a_time(
    tenant: Tenant, keys: Keys, owner: Client
) -> None:
    """`key_box_states` reads a business at once; `key_box_state` (the admin's page)
    one property at a time: the same boxes, codes, arrivals and reasons."""
    owner.post(confirm_url(keys.hill), {"code": "4242"})
    now = timezone.now()
    # Guests told a code already: Grace the one on the box, Katherine an older one
    # (twice: the later telling counts), one with a delivery nobody knows.
    welcome = ScheduledMessage.objects.get(booking=keys.first, kind=Kind.WELCOME)
    ScheduledMessage.objects.filter(pk=welcome.pk).update(
        state=ScheduledMessage.State.SENT,
        sending_at=now - timedelta(hours=2),
        context={**welcome.context, "key_code": "1357"},
    )
    katherine = Booking.objects.get(guest_name="Katherine Johnson")
    told = ScheduledMessage.objects.get(booking=katherine, kind=Kind.WELCOME)
    ScheduledMessage.objects.filter(pk=told.pk).update(
        state=ScheduledMessage.State.FAILED,
        needs_review=True,
        sending_at=now - timedelta(hours=3),
        context={**told.context, "key_code": "1111"},
    )
    ScheduledMessage.objects.create(
        business=tenant.business,
        booking=katherine,
        kind=Kind.KEY_UPDATE,
        recipient=katherine.guest_email,
        key=f"test:update:{katherine.pk}",
        send_at=now - timedelta(hours=1),
        state=ScheduledMessage.State.SENT,
        sending_at=now - timedelta(hours=1),
        context={"key_code": "2222"},
    )
    statuses = set()
    for state in key_box_states(business=tenant.business, now=now):
        one = key_box_state(state.property, now=now)
        assert state.confirmed == one.confirmed
        assert state.confirmed_since == one.confirmed_since
        assert state.last_confirmation == one.last_confirmation
        assert state.next_code == one.next_code
        assert state.next_job == one.next_job
        assert state.next_state == one.next_state
        assert state.recent == one.recent
        assert [(a.booking, a.code, a.planned, a.status, a.reason) for a in state.arrivals] == [
            (a.booking, a.code, a.planned, a.status, a.reason) for a in one.arrivals
        ]
        assert state.arrivals, state.property.name
        statuses |= {(a.booking.guest_name, a.code, a.status) for a in state.arrivals}
    assert ("Grace Hopper", "1357", "sent") in statuses
    assert ("Katherine Johnson", "2222", "correction due") in statuses

    assert _today_agrees(tenant, now) == 1  # Katherine's correction


def test_today_lists_guests_arriving_soon_whose_code_is_in_doubt(owner: Client, keys: Keys) -> None:
    def panel() -> str:
        html = owner.get("/dashboard/").content.decode()
        if 'id="panel-key_codes"' not in html:
            return ""
        return html.split('id="panel-key_codes"', 1)[1].split("</section>", 1)[0]

    listed = panel()
    # Hill Barn has no code confirmed and Alan arrives today; Sea View's box is confirmed
    # and Grace, arriving in two days, gets its code.
    assert "Alan Turing, Hill Barn" in listed
    assert f'href="/dashboard/staff/#keys-{keys.hill.pk}"' in listed
    assert "No code confirmed on the box" in listed
    assert "Grace Hopper" not in listed
    owner.post(confirm_url(keys.hill), {"code": "4242"})
    assert "Alan Turing" not in panel()


def test_the_booking_page_shows_the_code_the_guest_is_sent_and_links_to_the_box(
    owner: Client, keys: Keys
) -> None:
    html = owner.get(f"/dashboard/bookings/{keys.arriving.reference}/").content.decode()
    section = html.split("Key code for the guest", 1)[1].split("</dl>", 1)[0]
    assert "1357" in section  # on the box, not the new code nobody confirmed yet
    assert keys.next_code.code not in section.split("Cleaning before arrival", 1)[0]
    assert "confirmed on the box" in section
    assert f'href="/dashboard/staff/#keys-{keys.sea.pk}"' in section


def test_a_new_business_sees_what_to_do_first(owner: Client, tenant: Tenant) -> None:
    """One property, no staff, no guest yet: the page says so and Today stays quiet."""
    html = owner.get(PAGE).content.decode()
    assert "No code confirmed" in html
    assert "No staff yet" in html
    assert "No guest arrives in the next 30 days." in html
    assert 'id="panel-key_codes"' not in owner.get("/dashboard/").content.decode()


def _today_agrees(tenant: Tenant, now: datetime) -> int:
    """Today's panel explains only what decides or shows an arrival; it finds the same
    arrivals in doubt as the whole business's read, in the same order, with the same
    reasons, and counts them alike. How many there are."""

    def doubtful(status: str) -> bool:
        return status in ("correction due", "waiting for the cleaner", "none")

    expected = sorted(
        (
            (a.check_in, a.booking.pk),
            (a.booking.pk, state.confirmed is not None, a.status, a.reason),
        )
        for state in key_box_states(business=tenant.business, now=now, days=30, history=False)
        for a in state.arrivals
        if state.confirmed is None or doubtful(a.status)
    )
    for limit in (1, 2, 50):
        shown, total = arrivals_in_doubt(
            business=tenant.business, now=now, days=30, doubtful=doubtful, limit=limit
        )
        assert total == len(expected)
        assert [
            (d.arrival.booking.pk, d.box_confirmed, d.arrival.status, d.arrival.reason)
            for d in shown
        ] == [row for _, row in expected[:limit]]
    return len(expected)


def test_todays_read_of_codes_in_doubt_agrees_with_the_whole_business_read(
    tenant: Tenant, keys: Keys
) -> None:
    # Hill Barn's box has no code confirmed: every arrival there is in doubt.
    assert _today_agrees(tenant, timezone.now()) >= 2
