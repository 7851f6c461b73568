"""Inviting people into a business: invite, resend, revoke, accept.

An invitation carries the role and groups the person will have; the email holds an
expiring link (only its hash is stored). Accepting needs a signed-in account with the
invited email address (allauth's sign-up, sign-in or password reset get them there), so
a forwarded link cannot make a stranger a member. Who may invite with which role is
asked of `properties.permissions`, like every other members change.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from properties import permissions
from properties.db import after_commit, lock_one
from properties.errors import DomainError
from properties.models import Business, Invitation, Membership, PropertyGroup, User
from properties.services.members import AlreadyMember, _check_groups, _require_grant
from properties.urls_util import app_url


class InvitationInvalid(DomainError):
    code = "invitation_invalid"
    http_status = 404

    def __init__(self) -> None:
        super().__init__(
            "This invitation link is not valid any more: it expired, was revoked or was "
            "used. Ask the business for a new one."
        )


class InvitationForAnotherEmail(DomainError):
    code = "invitation_other_email"
    http_status = 403


def invitation_url(raw: str) -> str:
    return app_url(reverse("invitation-accept", kwargs={"token": raw}))


def _send(invitation: Invitation, raw: str) -> None:
    context = {
        "business": invitation.business,
        "role": invitation.get_role_display(),
        "groups": [g.name for g in invitation.groups.all()],
        "url": invitation_url(raw),
        "expires_at": invitation.expires_at,
        "invited_by": invitation.invited_by,
    }
    subject = f"You are invited to {invitation.business.name} on Holidesk"
    body = render_to_string("emails/invitation.txt", context)
    html = render_to_string("emails/invitation.html", context)
    email = invitation.email
    after_commit(
        lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [email], html_message=html),
        what="invitation email",
    )


def _mint(invitation: Invitation, now: datetime) -> str:
    raw = Invitation.new_token()
    invitation.token_hash = Invitation.hash_token(raw)
    invitation.sent_at = now
    invitation.expires_at = now + Invitation.VALID_FOR
    return raw


@transaction.atomic
def invitation_create(
    *,
    by: User | AnonymousUser,
    business: Business,
    email: str,
    role: str,
    groups: Iterable[PropertyGroup] | None = None,
) -> Invitation:
    """Invite `email` with `role` (and groups); the email leaves on commit."""
    permissions.require(by, permissions.ADD_MEMBER, business=business)
    _require_grant(by, business, role)
    chosen = _check_groups(business, role, groups)
    lock_one(Business.objects.filter(pk=business.pk))
    email = email.strip().lower()
    if Membership.objects.filter(business=business, user__email__iexact=email).exists():
        raise AlreadyMember(
            f"{email} is already a member of this business.",
            fields={"email": ["Already a member."]},
        )
    now = timezone.now()
    # A new invitation replaces an open one to the same address.
    Invitation.objects.filter(
        business=business, email=email, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=now)
    invitation = Invitation(
        business=business,
        email=email,
        role=role,
        invited_by=by if isinstance(by, User) else None,
    )
    raw = _mint(invitation, now)
    invitation.save()
    invitation.groups.set(chosen)
    _send(invitation, raw)
    return invitation


def _open_for(by: User | AnonymousUser, invitation: Invitation) -> Invitation:
    stored = lock_one(Invitation.objects.filter(pk=invitation.pk))
    business = stored.business
    permissions.require(by, permissions.ADD_MEMBER, business=business)
    _require_grant(by, business, stored.role)
    if stored.accepted_at is not None or stored.revoked_at is not None:
        raise DomainError("This invitation was already used or revoked.")
    return stored


@transaction.atomic
def invitation_resend(*, by: User | AnonymousUser, invitation: Invitation) -> Invitation:
    """Send a fresh link (the old one stops working) valid for another week."""
    stored = _open_for(by, invitation)
    raw = _mint(stored, timezone.now())
    stored.save(update_fields=["token_hash", "sent_at", "expires_at"])
    _send(stored, raw)
    return stored


@transaction.atomic
def invitation_revoke(*, by: User | AnonymousUser, invitation: Invitation) -> Invitation:
    stored = _open_for(by, invitation)
    stored.revoked_at = timezone.now()
    stored.save(update_fields=["revoked_at"])
    return stored


def invitation_for_token(raw: str) -> Invitation | None:
    """The open invitation a link names, or None."""
    found = (
        Invitation.objects.select_related("business", "invited_by")
        .filter(token_hash=Invitation.hash_token(raw or ""))
        .first()
    )
    return found if found is not None and found.is_open() else None


@transaction.atomic
def invitation_accept(*, user: User, raw: str) -> Membership:
    """Make the signed-in `user` a member with the invitation's role and groups."""
    found = invitation_for_token(raw)
    if found is None:
        raise InvitationInvalid()
    lock_one(Business.objects.filter(pk=found.business_id))
    invitation = lock_one(Invitation.objects.filter(pk=found.pk))
    if not invitation.is_open():
        raise InvitationInvalid()
    if user.email.strip().lower() != invitation.email:
        raise InvitationForAnotherEmail(
            f"This invitation is for {invitation.email}; you are signed in as {user.email}. "
            "Sign out and sign in (or create an account) with the invited address."
        )
    if Membership.objects.filter(user=user, business_id=invitation.business_id).exists():
        raise AlreadyMember("You are already a member of this business.")
    membership = Membership.objects.create(
        user=user, business_id=invitation.business_id, role=invitation.role
    )
    membership.groups.set(list(invitation.groups.all()))
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    return membership
