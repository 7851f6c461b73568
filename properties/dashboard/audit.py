"""The audit page: who changed what, and when, in the acting business (owners)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse

from properties.audit import PAGE_SIZE, audit_entries, tracked_models
from properties.dashboard.access import Acting
from properties.dashboard.views import render_page
from properties.models import User


class AuditFilterForm(forms.Form):
    model = forms.ChoiceField(required=False, label="What")
    actor = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Who")
    start = forms.DateField(required=False, label="From", widget=forms.DateInput({"type": "date"}))
    end = forms.DateField(required=False, label="Until", widget=forms.DateInput({"type": "date"}))

    def __init__(self, *args: Any, acting: Acting, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model = self.fields["model"]
        assert isinstance(model, forms.ChoiceField)
        model.choices = [("", "Everything"), *tracked_models()]
        people = User.objects.filter(memberships__business=acting.business).order_by("email")
        actor = self.fields["actor"]
        assert isinstance(actor, forms.ChoiceField)
        actor.choices = [("", "Anyone"), *((u.pk, u.email) for u in people)]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", "Must not be before the start.")
        return data


def _changes(entry: Any) -> list[tuple[str, str, str]]:
    changes = entry.changes_dict if hasattr(entry, "changes_dict") else {}
    rows = []
    for field, values in sorted(changes.items()):
        if isinstance(values, list | tuple) and len(values) == 2:
            rows.append((field, str(values[0]), str(values[1])))
        else:
            rows.append((field, "", str(values)))
    return rows


def audit_page(request: HttpRequest, acting: Acting) -> HttpResponse:
    form = AuditFilterForm(request.GET or None, acting=acting)
    filters: dict[str, Any] = {}
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        filters = {
            "model": data.get("model") or "",
            "actor_id": data.get("actor"),
            "start": data.get("start"),
            "end": data.get("end"),
        }
    entries = audit_entries(business=acting.business, **filters)
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "rows": [{"entry": e, "changes": _changes(e)} for e in page.object_list],
        "query": query.urlencode(),
    }
    return render_page(request, acting, "dashboard/audit.html", context)
