"""Adding and editing staff (cleaners, repairs) and the properties a cleaner cleans.

A cleaner "cleans" a property when they are its default cleaner: new cleaning jobs
there go to them, and the property's jobs and messages are brought up to date when
that changes (`property_messages_refresh`, as the admin's property settings do).

Staff are business-wide rows. A group-scoped member (a hotel manager) works with the
cleaners of their groups: those who clean, or have a job at, one of their properties
(`staff_in_scope`). They add cleaners for their properties, and choose or drop only
their own properties; repair and other staff, who work across the business, are an
owner's or manager's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet

from messaging.errors import MessagingError, NotFound
from messaging.models import Staff
from messaging.selectors import staff_in_scope
from messaging.services.calendar_sync import property_messages_refresh
from messaging.services.settings_rows import property_set_default_cleaner
from properties import permissions
from properties.db import lock_one
from properties.models import Business, Membership, Property, User
from properties.permissions import Scope

STAFF_FIELDS = ("name", "email", "phone", "kind", "active")


class StaffInvalid(MessagingError):
    code = "invalid"
    http_status = 400


def cleaned_properties(*, staff: Staff, scope: Scope) -> QuerySet[Property]:
    """The properties in `scope` whose default cleaner `staff` is."""
    return scope.properties().filter(messaging_settings__default_cleaner=staff)


def _scope(by: User | AnonymousUser, business: Business) -> Scope:
    membership = (
        Membership.objects.filter(user=by, business=business).first()
        if isinstance(by, User)
        else None
    )
    if membership is None:  # a platform superuser (require() let them through)
        return Scope(business_id=business.pk)
    return permissions.scope_for(membership)


@transaction.atomic
def staff_save(
    *,
    by: User | AnonymousUser,
    business: Business,
    values: Mapping[str, Any],
    properties: Iterable[Property],
    staff: Staff | None = None,
) -> Staff:
    """Add a staff member (`staff` None) or change one: name, email, phone, kind,
    active, and the properties they clean (of those the member sees; the others keep
    their cleaner)."""
    permissions.require(by, permissions.MANAGE_STAFF, business=business)
    scope = _scope(by, business)
    chosen = list(properties)
    for prop in chosen:
        if prop.business_id != business.pk or not scope.covers_property(prop.pk, prop.group_id):
            raise NotFound("No such property.")
    if staff is None:
        row = Staff(business=business)
    else:
        row = lock_one(Staff.objects.filter(business=business), pk=staff.pk)
        if not staff_in_scope(Staff.objects.filter(pk=row.pk), scope).exists():
            raise NotFound("No such staff member.")
    for field in STAFF_FIELDS:
        if field in values:
            setattr(row, field, values[field])
    if not scope.whole_business:
        if row.kind != Staff.StaffKind.CLEANER:
            raise StaffInvalid(
                "Repair and other staff work across the business: an owner or manager "
                "adds and changes them.",
                fields={"kind": ["Choose Cleaner."]},
            )
        if not chosen and staff is None:
            raise StaffInvalid(
                "Choose the properties they clean.",
                fields={"properties": ["Choose at least one of your properties."]},
            )
    if chosen and row.kind != Staff.StaffKind.CLEANER:
        raise StaffInvalid(
            "Only a cleaner is given a property's cleaning jobs.",
            fields={"properties": ["Only for cleaners."]},
        )
    if chosen and not row.active:
        raise StaffInvalid(
            "Someone who is not active gets no cleaning jobs: keep them active, or take "
            "them off their properties.",
            fields={"properties": ["Not for someone inactive."]},
        )
    row.email = (row.email or "").strip().lower()
    try:
        row.full_clean(exclude=["business"])
    except ValidationError as error:
        fields = {
            field: [message for e in errors for message in e.messages]
            for field, errors in getattr(error, "error_dict", {}).items()
        }
        first = next((m for ms in fields.values() for m in ms), "Check the details.")
        raise StaffInvalid(first, fields=fields) from None
    row.save()
    _set_cleaned(row, scope, chosen)
    return row


def _set_cleaned(staff: Staff, scope: Scope, chosen: list[Property]) -> None:
    now_cleaning = {p.pk: p for p in cleaned_properties(staff=staff, scope=scope)}
    wanted = {p.pk: p for p in chosen}
    changed = [p for pk, p in wanted.items() if pk not in now_cleaning]
    for prop in changed:
        property_set_default_cleaner(prop=prop, cleaner=staff)
    dropped = [p for pk, p in now_cleaning.items() if pk not in wanted]
    for prop in dropped:
        property_set_default_cleaner(prop=prop, cleaner=None)
    for prop in [*changed, *dropped]:
        property_messages_refresh(prop=prop)
