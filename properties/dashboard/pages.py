"""What the properties app itself puts on the dashboard."""

from __future__ import annotations

from django.db.models.expressions import RawSQL
from django.urls import reverse

from properties.dashboard.registry import (
    exists_sql,
    register_nav,
    register_page,
    register_setup_step,
)
from properties.models import Business
from properties.permissions import (
    ADD_MEMBER,
    EDIT_BUSINESS,
    MANAGE_PROPERTIES,
    MANAGE_RATES,
    REMOVE_MEMBER,
    SET_CUSTOM_DOMAIN,
    VIEW_AUDIT_LOG,
    VIEW_TEAM,
)


def _has_property(business: Business) -> RawSQL:
    return exists_sql("SELECT FROM properties_property WHERE business_id = %s", [business.pk])


def register() -> None:
    from properties.dashboard import audit, business_settings, listings, team
    from properties.photos import dashboard as photos

    register_nav("Today", "dashboard:today", order=0)
    register_page(
        "properties/", photos.properties_page, name="properties", action=MANAGE_PROPERTIES
    )
    register_page(
        "properties/<int:property_id>/photos/",
        photos.photos_page,
        name="property-photos",
        action=MANAGE_PROPERTIES,
    )
    register_page(
        "properties/new/", listings.property_new_page, name="property-new", action=MANAGE_PROPERTIES
    )
    register_page(
        "properties/<int:property_id>/",
        listings.property_edit_page,
        name="property-edit",
        action=MANAGE_PROPERTIES,
    )
    register_page(
        "properties/<int:property_id>/prices/",
        listings.property_prices_page,
        name="property-prices",
        action=MANAGE_RATES,
    )
    register_page(
        "properties/<int:property_id>/prices/<int:rate_id>/",
        listings.season_edit_page,
        name="property-season",
        action=MANAGE_RATES,
    )
    register_page(
        "properties/<int:property_id>/prices/<int:rate_id>/delete/",
        listings.season_delete_page,
        name="property-season-delete",
        action=MANAGE_RATES,
    )
    register_nav("Properties", "dashboard:properties", order=45, action=MANAGE_PROPERTIES)
    register_page("team/", team.team_page, name="team", action=VIEW_TEAM)
    register_page("team/invite/", team.team_invite, name="team-invite", action=ADD_MEMBER)
    register_page(
        "team/invitations/<int:invitation_id>/resend/",
        team.invitation_resend_page,
        name="team-invitation-resend",
        action=ADD_MEMBER,
    )
    register_page(
        "team/invitations/<int:invitation_id>/revoke/",
        team.invitation_revoke_page,
        name="team-invitation-revoke",
        action=ADD_MEMBER,
    )
    register_page(
        "team/members/<int:member_id>/", team.member_page, name="team-member", action=VIEW_TEAM
    )
    register_page(
        "team/members/<int:member_id>/remove/",
        team.member_remove_page,
        name="team-member-remove",
        action=REMOVE_MEMBER,
    )
    register_nav("Team", "dashboard:team", order=90, action=VIEW_TEAM)
    register_page("audit/", audit.audit_page, name="audit", action=VIEW_AUDIT_LOG)
    register_nav("Audit log", "dashboard:audit", order=95, action=VIEW_AUDIT_LOG)
    register_page(
        "settings/", business_settings.settings_page, name="settings", action=EDIT_BUSINESS
    )
    register_page(
        "settings/domain/",
        business_settings.domain_page,
        name="settings-domain",
        action=SET_CUSTOM_DOMAIN,
    )
    register_nav("Business settings", "dashboard:settings", order=92, action=EDIT_BUSINESS)
    register_setup_step(
        "property",
        "Add your first property",
        text="Name, photos, prices and check-in times: what guests see on your site.",
        url=lambda: reverse("dashboard:property-new"),
        done=_has_property,
        order=10,
        action=MANAGE_PROPERTIES,
    )
