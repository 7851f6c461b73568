"""The tenant-scoped Django admin.

Owners work in the Django admin, but only ever see their own business. Every admin
of a tenant-owned model derives from `TenantAdmin` (or `TenantInline`), which

- filters list and change pages to the acting business (another business's id is a 404,
  exactly like a missing one),
- offers only the acting business's rows in foreign-key and many-to-many choices,
- hides the `business` field and sets it on save.

Platform superusers see and choose everything.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.db import models
from django.db.models import QuerySet
from django.forms import ModelChoiceField, ModelMultipleChoiceField
from django.http import Http404, HttpRequest, HttpResponse

from properties.access import acting_business, acting_membership
from properties.models import Business


class HolideskAdminSite(admin.AdminSite):
    site_header = "Holidesk"
    site_title = "Holidesk"
    index_title = "Your business"
    # "View site" leads back to the dashboard, where owners work day to day (the app
    # host's "/" sends members to the dashboard too, never back here).
    site_url = "/dashboard/"

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        if not (user.is_active and user.is_authenticated):
            return False
        return bool(user.is_superuser or acting_membership(request) is not None)

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        context = super().each_context(request)
        context["acting_business"] = acting_business(request)
        return context


site = HolideskAdminSite(name="admin")


def _is_tenant_model(model: type[models.Model]) -> bool:
    return any(f.name == "business" for f in model._meta.get_fields()) or model is Business


def _scope(qs: QuerySet[Any], business: Business | None) -> QuerySet[Any]:
    if business is None:
        return qs.none()
    if qs.model is Business:
        return qs.filter(pk=business.pk)
    return qs.filter(business=business)


class TenantScopedMixin:
    """Shared by TenantAdmin and TenantInline."""

    tenant_field = "business"

    def _superuser(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = super().get_queryset(request)  # type: ignore[misc]
        if self._superuser(request):
            return qs
        business = acting_business(request)
        if business is None:
            return qs.none()
        return qs.filter(**{self.tenant_field: business})

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> Any:
        exclude = list(super().get_exclude(request, obj) or [])  # type: ignore[misc]
        if not self._superuser(request) and self.tenant_field == "business":
            exclude.append("business")
        return exclude

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]
        self._limit_choices(field, request)
        return field

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_manytomany(db_field, request, **kwargs)  # type: ignore[misc]
        self._limit_choices(field, request)
        return field

    def _limit_choices(self, field: Any, request: HttpRequest) -> None:
        if field is None or self._superuser(request):
            return
        if (
            isinstance(field, ModelChoiceField | ModelMultipleChoiceField)
            and field.queryset is not None
            and _is_tenant_model(field.queryset.model)
        ):
            field.queryset = _scope(field.queryset, acting_business(request))

    # Owners and managers of the acting business may do everything to its rows;
    # the role check happens in HolideskAdminSite.has_permission via the membership.
    def _member(self, request: HttpRequest) -> bool:
        return self._superuser(request) or acting_membership(request) is not None

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._member(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._member(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self._member(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._member(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._member(request)


class TenantAdmin(TenantScopedMixin, admin.ModelAdmin[Any]):
    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not self._superuser(request) and self.tenant_field == "business":
            obj.business = acting_business(request)
        super().save_model(request, obj, form, change)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        # Inline rows belong to the parent's business.
        instances = formset.save(commit=False)
        for instance in instances:
            if hasattr(instance, "business_id") and not self._superuser(request):
                instance.business = acting_business(request)
            elif hasattr(instance, "business_id") and instance.business_id is None:
                instance.business = getattr(form.instance, "business", None)
            instance.save()
        for obj in formset.deleted_objects:
            obj.delete()
        formset.save_m2m()

    def _404_unless_visible(self, request: HttpRequest, object_id: str | None) -> None:
        if object_id and self.get_object(request, unquote(object_id)) is None:
            raise Http404("No such object.")

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        self._404_unless_visible(request, object_id)
        return super().change_view(request, object_id, form_url, extra_context)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        self._404_unless_visible(request, object_id)
        return super().delete_view(request, object_id, extra_context)

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        self._404_unless_visible(request, object_id)
        return super().history_view(request, object_id, extra_context)


class TenantInline(TenantScopedMixin, admin.TabularInline[Any, Any]):
    extra = 0


class ReadOnlyTenantAdmin(TenantAdmin):
    """A record the system keeps (logs, key codes, the outbox): owners look, never edit."""

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
