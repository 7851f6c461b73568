"""Today's attention panels, for the owner and for a member who sees only some groups:
each shows what is in the member's scope and nothing else. Those that give an
`anything` question are asked it together in one query (`today_asked`) and read only
when the answer is yes: it must never be no for a panel with items."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from properties.dashboard.access import Acting
from properties.dashboard.registry import today_asked, today_panels
from properties.models import Membership, PropertyGroup
from properties.permissions import scope_for
from tests.conftest import Tenant, make_tenant
from tests.dashboard.conftest import make_busy_day
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def _acting(membership: Membership) -> Acting:
    business = membership.business
    return Acting(
        membership=membership,
        user=membership.user,
        business=business,
        today=timezone.now().astimezone(business.tz).date(),
        scope=scope_for(membership),
    )


def _check(acting: Acting) -> dict[str, bool]:
    specs = [s for s in today_panels() if s.kind == "attention" and acting.may(s.action)]
    questions = [s for s in specs if s.anything is not None]
    with CaptureQueriesContext(connection) as captured:
        asked, _ = today_asked(acting, questions, [])
    assert len(captured) == (1 if questions else 0)
    built = {s.key: bool(s.build(acting).items) for s in specs}
    for key, has in built.items():
        if key not in asked:
            continue
        # Never "nothing" for a panel with items; "something" for an empty panel only
        # where the panel says it may (the plan panel's question is wider).
        assert asked[key] or not has, key
        if key != "billing":
            assert asked[key] == has, key
    return built


def test_attention_panels_asked_together_match_what_they_show(tenant: Tenant) -> None:
    make_busy_day(tenant)
    owner = Membership.objects.get(user=tenant.owner, business=tenant.business)
    shown = _check(_acting(owner))
    assert all(shown[k] for k in ("conflicts", "emails", "refunds", "channels")), shown

    # A group manager of a group without the busy properties sees none of it.
    group = PropertyGroup.objects.create(business=tenant.business, name="Annexe")
    for role in (Membership.Role.GROUP_MANAGER, Membership.Role.FRONT_DESK):
        member = MembershipFactory(business=tenant.business, role=role)
        member.groups.set([group])
        seen = _check(_acting(member))
        assert not any(v for k, v in seen.items() if k != "billing"), (role, seen)
        # With the busy properties in their group, they see them again.
        tenant.business.properties.update(group=group)
        again = _check(_acting(member))
        assert again == {k: shown[k] for k in again}, (role, again)
        assert any(again.values()), role
        tenant.business.properties.update(group=None)


def test_a_quiet_business_reads_no_attention_list() -> None:
    quiet = make_tenant("quiet")
    owner = Membership.objects.get(user=quiet.owner, business=quiet.business)
    shown = _check(_acting(owner))
    assert not any(shown.values()), shown
