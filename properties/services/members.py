"""Members of a business: adding, changing and removing them.

Who may is asked of `properties.permissions`; this module adds the one rule the
permission table cannot see: a business keeps at least one owner. Changes to one
business's members are serialised by locking the business row, so two owners demoting
each other at the same moment cannot both succeed (and the deferred constraint trigger
`membership_keeps_an_owner` stands behind this in PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AnonymousUser
from django.db import transaction

from properties import permissions
from properties.db import lock_one
from properties.errors import DomainError
from properties.models import Business, Membership, PropertyGroup, User

OWNER = Membership.Role.OWNER


class LastOwner(DomainError):
    code = "last_owner"
    http_status = 409

    def __init__(self) -> None:
        super().__init__("A business needs at least one owner: make someone else an owner first.")


class AlreadyMember(DomainError):
    code = "already_member"
    http_status = 409


def _check_groups(
    business: Business, role: str, groups: Iterable[PropertyGroup] | None
) -> list[PropertyGroup]:
    chosen = list(groups or [])
    if any(group.business_id != business.pk for group in chosen):
        raise DomainError("No such group in this business.", fields={"groups": ["Unknown group."]})
    if permissions.is_group_scoped(role) and not chosen:
        raise DomainError(
            "Choose the groups this member works in: their role sees only those.",
            fields={"groups": ["Choose at least one group."]},
        )
    if not permissions.is_group_scoped(role):
        return []  # the whole business: groups would mean nothing
    return chosen


def _require_grant(by: User | AnonymousUser, business: Business, role: str) -> None:
    membership = (
        Membership.objects.filter(user=by, business=business).first()
        if isinstance(by, User)
        else None
    )
    if isinstance(by, User) and by.is_superuser:
        return
    if not permissions.may_grant(membership, role):
        raise permissions.NotAllowed(
            "Only an owner may make someone an owner.", action=permissions.GRANT_OWNER
        )


def _other_owners(membership: Membership) -> bool:
    return (
        Membership.objects.filter(business_id=membership.business_id, role=OWNER)
        .exclude(pk=membership.pk)
        .exists()
    )


def _locked_for(
    by: User | AnonymousUser, action: str, membership: Membership, message: str
) -> tuple[Business, Membership]:
    """The business row (the lock every members change takes first) and the stored
    membership, once `by` may act on it."""
    business = lock_one(Business.objects.filter(pk=membership.business_id))
    stored = lock_one(Membership.objects.filter(pk=membership.pk))
    permissions.require(by, action, business=business, obj=stored, message=message)
    return business, stored


@transaction.atomic
def membership_add(
    *,
    by: User | AnonymousUser,
    business: Business,
    email: str,
    role: str,
    groups: Iterable[PropertyGroup] | None = None,
) -> Membership:
    """Add the person with `email` (an account is created if they have none)."""
    permissions.require(by, permissions.ADD_MEMBER, business=business)
    _require_grant(by, business, role)
    chosen = _check_groups(business, role, groups)
    lock_one(Business.objects.filter(pk=business.pk))
    email = email.strip().lower()
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(email=email)
    elif Membership.objects.filter(user=user, business=business).exists():
        raise AlreadyMember(
            f"{email} is already a member of this business.",
            fields={"email": ["Already a member."]},
        )
    membership = Membership.objects.create(user=user, business=business, role=role)
    membership.groups.set(chosen)
    return membership


@transaction.atomic
def membership_change(
    *,
    by: User | AnonymousUser,
    membership: Membership,
    role: str,
    groups: Iterable[PropertyGroup] | None = None,
) -> Membership:
    business, stored = _locked_for(
        by,
        permissions.CHANGE_MEMBER,
        membership,
        "Only an owner may change an owner's membership.",
    )
    if role != stored.role:
        _require_grant(by, business, role)
    if stored.role == OWNER and role != OWNER and not _other_owners(stored):
        raise LastOwner()
    chosen = _check_groups(business, role, groups)
    stored.role = role
    stored.save(update_fields=["role"])
    stored.groups.set(chosen)
    return stored


@transaction.atomic
def membership_remove(*, by: User | AnonymousUser, membership: Membership) -> None:
    _, stored = _locked_for(
        by, permissions.REMOVE_MEMBER, membership, "Only an owner may remove an owner."
    )
    if stored.role == OWNER and not _other_owners(stored):
        raise LastOwner()
    stored.delete()
