"""Members of a business: adding, changing and removing them.

Who may is asked of `properties.permissions`; this module adds the one rule the
permission table cannot see: a business keeps at least one owner. Changes to one
business's members are serialised by locking the business row, so two owners demoting
each other at the same moment cannot both succeed (and the deferred constraint trigger
`membership_keeps_an_owner` stands behind this in PostgreSQL).
"""

from __future__ import annotations

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


def _check_group(business: Business, group: PropertyGroup | None) -> None:
    if group is not None and group.business_id != business.pk:
        raise DomainError("No such group in this business.", fields={"group": ["Unknown group."]})


def _other_owners(membership: Membership) -> bool:
    return (
        Membership.objects.filter(business_id=membership.business_id, role=OWNER)
        .exclude(pk=membership.pk)
        .exists()
    )


@transaction.atomic
def membership_add(
    *,
    by: User | AnonymousUser,
    business: Business,
    email: str,
    role: str,
    group: PropertyGroup | None = None,
) -> Membership:
    """Add the person with `email` (an account is created if they have none)."""
    permissions.require(by, permissions.ADD_MEMBER, business=business)
    if role == OWNER:
        permissions.require(
            by, permissions.GRANT_OWNER, business=business, message="Only an owner may add owners."
        )
    _check_group(business, group)
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
    return Membership.objects.create(user=user, business=business, role=role, group=group)


@transaction.atomic
def membership_change(
    *,
    by: User | AnonymousUser,
    membership: Membership,
    role: str,
    group: PropertyGroup | None = None,
) -> Membership:
    business = lock_one(Business.objects.filter(pk=membership.business_id))
    stored = lock_one(Membership.objects.filter(pk=membership.pk))
    permissions.require(
        by,
        permissions.CHANGE_MEMBER,
        business=business,
        obj=stored,
        message="Only an owner may change an owner's membership.",
    )
    if role == OWNER and stored.role != OWNER:
        permissions.require(
            by,
            permissions.GRANT_OWNER,
            business=business,
            message="Only an owner may make someone an owner.",
        )
    if stored.role == OWNER and role != OWNER and not _other_owners(stored):
        raise LastOwner()
    _check_group(business, group)
    stored.role = role
    stored.group = group
    stored.save(update_fields=["role", "group"])
    return stored


@transaction.atomic
def membership_remove(*, by: User | AnonymousUser, membership: Membership) -> None:
    business = lock_one(Business.objects.filter(pk=membership.business_id))
    stored = lock_one(Membership.objects.filter(pk=membership.pk))
    permissions.require(
        by,
        permissions.REMOVE_MEMBER,
        business=business,
        obj=stored,
        message="Only an owner may remove an owner.",
    )
    if stored.role == OWNER and not _other_owners(stored):
        raise LastOwner()
    stored.delete()
