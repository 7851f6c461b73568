"""Adding and editing a staff member on the dashboard: name, email, phone, kind, whether
they are active, and the properties they clean. The form shapes the input;
`messaging.services.staff.staff_save` decides (who may, the group scope, the rules).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect

from messaging.errors import MessagingError
from messaging.models import Staff
from messaging.selectors import staff_in_scope
from messaging.services.staff import STAFF_FIELDS, cleaned_properties, staff_save
from properties.dashboard.access import Acting
from properties.dashboard.forms import form_add_domain_error
from properties.dashboard.views import render_page


class StaffForm(forms.ModelForm[Staff]):
    properties: forms.ModelMultipleChoiceField[Any] = forms.ModelMultipleChoiceField(
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Cleans these properties",
        help_text="Their new cleaning jobs go to them (they are the property's default "
        "cleaner). Only for cleaners.",
    )

    class Meta:
        model = Staff
        fields = STAFF_FIELDS
        labels = {"kind": "Works as", "active": "Active (gets jobs and emails)"}
        widgets = {"phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "off"})}

    def __init__(self, *args: Any, acting: Acting, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["properties"]
        assert isinstance(field, forms.ModelMultipleChoiceField)
        field.queryset = acting.properties().order_by("name")
        if not acting.scope.whole_business:
            kind = self.fields["kind"]
            assert isinstance(kind, forms.ChoiceField)
            kind.choices = [(Staff.StaffKind.CLEANER, Staff.StaffKind.CLEANER.label)]


def _staff(acting: Acting, staff_id: int) -> Staff:
    qs = staff_in_scope(Staff.objects.filter(business=acting.business), acting.scope)
    found = qs.filter(pk=staff_id).first()
    if found is None:
        raise Http404("No such staff member.")
    return found


def _page(request: HttpRequest, acting: Acting, staff: Staff | None) -> HttpResponse:
    initial: dict[str, Any] = {}
    if staff is not None:
        initial["properties"] = list(cleaned_properties(staff=staff, scope=acting.scope))
    instance = Staff(business=acting.business) if staff is None else _staff(acting, staff.pk)
    form = StaffForm(request.POST or None, instance=instance, initial=initial, acting=acting)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                saved = staff_save(
                    by=acting.user,
                    business=acting.business,
                    staff=staff,
                    values={f: data[f] for f in STAFF_FIELDS if f in data},
                    properties=data["properties"],
                )
            except MessagingError as error:
                if error.http_status == 404:
                    raise Http404(error.message) from None
                form_add_domain_error(form, error)
            else:
                messages.success(request, f"{saved.name} is saved.")
                return redirect("dashboard:staff-keys")
        status = 400
    context = {"form": form, "staff": staff}
    return render_page(
        request, acting, "dashboard/messaging/staff_edit.html", context, status=status
    )


def staff_new_page(request: HttpRequest, acting: Acting) -> HttpResponse:
    return _page(request, acting, None)


def staff_edit_page(request: HttpRequest, acting: Acting, staff_id: int) -> HttpResponse:
    return _page(request, acting, _staff(acting, staff_id))
