"""The dashboard shell: who gets in, where owners land after signing in, navigation,
the business switch, and the one permission question pages ask."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from messaging.models import ScheduledMessage
from properties.models import Membership
from properties.permissions import MANAGE_BOOKINGS, VIEW_DASHBOARD, permits
from tests.conftest import APP_HOST, Tenant, site_host
from tests.dashboard.conftest import Day
from tests.factories import BusinessFactory, MembershipFactory, UserFactory

PASSWORD = "correct-horse-battery"


def page_urls(day: Day) -> list[str]:
    booking = day.arriving
    message = ScheduledMessage.objects.filter(booking=booking).first()
    assert message is not None
    return [
        "/dashboard/",
        "/dashboard/calendar/",
        "/dashboard/bookings/",
        "/dashboard/bookings/export.csv",
        f"/dashboard/bookings/{booking.reference}/",
        f"/dashboard/bookings/{booking.reference}/cancel/",
        "/dashboard/conflicts/",
        f"/dashboard/conflicts/{day.conflict.public_id}/",
        "/dashboard/channels/",
    ]


def test_every_page_answers_the_owner(owner: Client, day: Day) -> None:
    for url in page_urls(day):
        response = owner.get(url)
        assert response.status_code == 200, url
        assert "private" in response["Cache-Control"], url


def test_every_page_sends_anonymous_visitors_to_sign_in(anonymous: Client, day: Day) -> None:
    for url in page_urls(day):
        response = anonymous.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("account_login") + "?next="), url


def test_another_business_gets_404_for_this_business_objects(
    outsider_client: Client, day: Day
) -> None:
    booking = day.arriving
    message = ScheduledMessage.objects.filter(booking=booking).first()
    assert message is not None
    for url in (
        f"/dashboard/bookings/{booking.reference}/",
        f"/dashboard/bookings/{booking.reference}/cancel/",
        f"/dashboard/bookings/{day.block.reference}/remove-block/",
        f"/dashboard/conflicts/{day.conflict.public_id}/",
        f"/dashboard/messages/{message.pk}/send-again/",
    ):
        assert outsider_client.get(url).status_code == 404, url
        assert outsider_client.post(url, {"refund": "full", "action": "done"}).status_code == 404, (
            url
        )


def test_the_dashboard_is_not_served_on_a_business_site(tenant: Tenant) -> None:
    client = Client(HTTP_HOST=site_host(tenant.business))
    client.force_login(tenant.owner)
    assert client.get("/dashboard/").status_code == 404


def test_a_staff_member_is_told_the_dashboard_is_for_managers(tenant: Tenant) -> None:
    staff = MembershipFactory(business=tenant.business, role=Membership.Role.STAFF)
    client = Client(HTTP_HOST=APP_HOST)
    client.force_login(staff.user)
    response = client.get("/dashboard/")
    assert response.status_code == 403
    assert "for owners and managers" in response.content.decode()


def test_a_signed_in_user_without_a_business_is_sent_to_onboarding(db: None) -> None:
    client = Client(HTTP_HOST=APP_HOST)
    client.force_login(UserFactory())
    response = client.get("/dashboard/calendar/")
    assert response.status_code == 302
    assert response["Location"] == reverse("onboarding")


def test_owners_land_on_the_dashboard_after_signing_in(tenant: Tenant, settings: object) -> None:
    settings.ACCOUNT_EMAIL_VERIFICATION = "optional"  # type: ignore[attr-defined]
    client = Client(HTTP_HOST=APP_HOST)
    response = client.post(
        reverse("account_login"), {"login": tenant.owner.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"
    assert client.get("/").headers["Location"] == "/dashboard/"


def test_the_admins_view_site_link_leads_to_the_dashboard_without_a_loop(
    owner: Client, tenant: Tenant
) -> None:
    admin = owner.get("/admin/").content.decode()
    assert 'href="/dashboard/"' in admin
    assert owner.get("/dashboard/").status_code == 200


def test_navigation_lists_every_registered_page_and_marks_the_current_one(
    owner: Client, tenant: Tenant
) -> None:
    html = owner.get("/dashboard/calendar/").content.decode()
    nav = html.split('aria-label="Dashboard"', 1)[1].split("</nav>", 1)[0]
    for label in ("Today", "Calendar", "Bookings", "Conflicts", "Channels"):
        assert f">{label}</a>" in nav
    assert 'href="/dashboard/calendar/" aria-current="page"' in nav
    assert 'href="/dashboard/" aria-current' not in nav
    assert tenant.business.name in html


def test_an_owner_of_two_businesses_switches_between_them(tenant: Tenant) -> None:
    other = BusinessFactory(name="Lakeside Lodges")
    MembershipFactory(business=other, user=tenant.owner)
    client = tenant.admin_client()
    html = client.get("/dashboard/").content.decode()
    assert 'id="switch-business"' in html
    assert "Lakeside Lodges" in html
    response = client.post("/dashboard/switch/", {"business": other.pk})
    assert response.status_code == 302
    assert "Set up Lakeside Lodges" in client.get("/dashboard/").content.decode()


def test_switching_to_a_business_that_is_not_yours_is_404(tenant: Tenant, outsider: Tenant) -> None:
    client = tenant.admin_client()
    assert client.post("/dashboard/switch/", {"business": outsider.business.pk}).status_code == 404
    assert client.post("/dashboard/switch/", {"business": "x"}).status_code == 404
    html = client.get("/dashboard/").content.decode()
    assert (
        f'class="dash-business-name" title="The business you are working on">{tenant.business.name}<'
        in html
    )


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Membership.Role.OWNER, True),
        (Membership.Role.MANAGER, True),
        (Membership.Role.STAFF, False),
    ],
)
def test_permits_answers_by_role(db: None, role: str, allowed: bool) -> None:
    membership = MembershipFactory(role=role)
    assert permits(membership, VIEW_DASHBOARD) is allowed
    assert permits(membership, MANAGE_BOOKINGS) is allowed
    assert permits(None, VIEW_DASHBOARD) is False


def test_permits_refuses_to_guess_an_unknown_action(db: None) -> None:
    with pytest.raises(ValueError, match="Unknown action"):
        permits(MembershipFactory(), "bookings.manag")
