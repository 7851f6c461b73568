"""The team page: members and invitations of the acting business.

Invite by email with a role and groups, resend or revoke an invitation, change a
member's role and groups, remove a member. The page shapes input and shows errors;
`properties.services` decide (and `properties.permissions` says who may).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect

from properties import permissions
from properties.dashboard.access import Acting
from properties.dashboard.forms import form_add_domain_error
from properties.dashboard.views import render_page
from properties.errors import DomainError
from properties.models import Invitation, Membership, PropertyGroup
from properties.services import membership_change, membership_remove
from properties.services.invitations import (
    invitation_create,
    invitation_resend,
    invitation_revoke,
)


class MemberForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)
    groups = forms.ModelMultipleChoiceField(
        queryset=PropertyGroup.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Group managers and front desk see only these groups' properties.",
    )

    def __init__(self, *args: Any, acting: Acting, current: str | None = None, **kw: Any):
        super().__init__(*args, **kw)
        groups = self.fields["groups"]
        assert isinstance(groups, forms.ModelMultipleChoiceField)
        groups.queryset = PropertyGroup.objects.for_business(acting.business).order_by("name")
        role = self.fields["role"]
        assert isinstance(role, forms.ChoiceField)
        role.choices = [
            choice
            for choice in Membership.Role.choices
            if permissions.may_grant(acting.membership, choice[0]) or choice[0] == current
        ]


class InviteForm(MemberForm):
    email = forms.EmailField(max_length=254)
    field_order = ["email", "role", "groups"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].initial = Membership.Role.VIEWER  # the least a mistake can give


def _invitations(acting: Acting) -> list[Invitation]:
    return list(
        Invitation.objects.for_business(acting.business)
        .filter(accepted_at__isnull=True, revoked_at__isnull=True)
        .prefetch_related("groups")
        .order_by("email")
    )


def _members(acting: Acting) -> list[Membership]:
    return list(
        Membership.objects.for_business(acting.business)
        .select_related("user")
        .prefetch_related("groups")
        .order_by("user__email")
    )


def team_page(
    request: HttpRequest, acting: Acting, form: InviteForm | None = None, status: int = 200
) -> HttpResponse:
    members = _members(acting)
    context = {
        "members": [
            {
                "membership": m,
                "can_change": acting.may(permissions.CHANGE_MEMBER, m),
                "can_remove": acting.may(permissions.REMOVE_MEMBER, m),
            }
            for m in members
        ],
        "invitations": _invitations(acting),
        "invite_form": form
        if form is not None
        else (InviteForm(acting=acting) if acting.may(permissions.ADD_MEMBER) else None),
        "can_invite": acting.may(permissions.ADD_MEMBER),
    }
    return render_page(request, acting, "dashboard/team.html", context, status=status)


def team_invite(request: HttpRequest, acting: Acting) -> HttpResponse:
    if request.method != "POST":
        return redirect("dashboard:team")
    form = InviteForm(request.POST, acting=acting)
    if form.is_valid():
        data = form.cleaned_data
        try:
            invitation_create(
                by=acting.user,
                business=acting.business,
                email=data["email"],
                role=data["role"],
                groups=data["groups"],
            )
        except DomainError as error:
            form_add_domain_error(form, error)
        else:
            messages.success(request, f"Invitation sent to {data['email']}.")
            return redirect("dashboard:team")
    return team_page(request, acting, form=form, status=400)


def _invitation(acting: Acting, invitation_id: int) -> Invitation:
    found = (
        Invitation.objects.for_business(acting.business)
        .filter(pk=invitation_id, accepted_at__isnull=True, revoked_at__isnull=True)
        .first()
    )
    if found is None:
        raise Http404("No such invitation.")
    return found


def invitation_resend_page(
    request: HttpRequest, acting: Acting, invitation_id: int
) -> HttpResponse:
    invitation = _invitation(acting, invitation_id)
    if request.method == "POST":
        try:
            invitation_resend(by=acting.user, invitation=invitation)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"A new link went to {invitation.email}.")
    return redirect("dashboard:team")


def invitation_revoke_page(
    request: HttpRequest, acting: Acting, invitation_id: int
) -> HttpResponse:
    invitation = _invitation(acting, invitation_id)
    if request.method == "POST":
        try:
            invitation_revoke(by=acting.user, invitation=invitation)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"The invitation to {invitation.email} no longer works.")
    return redirect("dashboard:team")


def _member(acting: Acting, member_id: int) -> Membership:
    found = (
        Membership.objects.for_business(acting.business)
        .select_related("user", "business")
        .filter(pk=member_id)
        .first()
    )
    if found is None:
        raise Http404("No such member.")
    return found


def member_page(request: HttpRequest, acting: Acting, member_id: int) -> HttpResponse:
    member = _member(acting, member_id)
    initial = {"role": member.role, "groups": list(member.groups.all())}
    form = MemberForm(request.POST or None, acting=acting, current=member.role, initial=initial)
    status = 200
    if request.method == "POST":
        if not acting.may(permissions.CHANGE_MEMBER, member):
            return render_page(request, acting, "dashboard/forbidden.html", status=403)
        if form.is_valid():
            try:
                membership_change(
                    by=acting.user,
                    membership=member,
                    role=form.cleaned_data["role"],
                    groups=form.cleaned_data["groups"],
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                messages.success(
                    request, f"{member.user.email} is now {member.get_role_display()}."
                )
                return redirect("dashboard:team")
        status = 400
    context = {
        "member": member,
        "form": form,
        "can_change": acting.may(permissions.CHANGE_MEMBER, member),
        "can_remove": acting.may(permissions.REMOVE_MEMBER, member),
    }
    return render_page(request, acting, "dashboard/team_member.html", context, status=status)


def member_remove_page(request: HttpRequest, acting: Acting, member_id: int) -> HttpResponse:
    member = _member(acting, member_id)
    if request.method == "POST":
        try:
            membership_remove(by=acting.user, membership=member)
        except DomainError as error:
            messages.error(request, error.message)
            return redirect("dashboard:team-member", member_id=member.pk)
        messages.success(request, f"{member.user.email} is no longer a member.")
    return redirect("dashboard:team")
