"""The tenant-scoped Django admin.

Owners work in the Django admin, but only ever see their own business. Every admin
of a tenant-owned model derives from `TenantAdmin` (or `TenantInline`), which

- filters list and change pages to the acting business (another business's id is a 404,
  exactly like a missing one),
- offers only the acting business's rows in foreign-key and many-to-many choices, and
  in list filters (`get_list_filter` swaps Django's related-field and all-values
  filters, which list every row of the table, for scoped ones): another business's
  property or channel names never appear in an owner's page,
- hides the `business` field and sets it on save.

Autocomplete answers come from the target model's admin, itself a TenantAdmin, so
they are scoped the same way. The admin's own sign-in page is allauth's (rate-limited,
properties.adapters); `/admin/login/` only redirects there. Platform superusers see
and choose everything. Only roles that `permits(..., USE_ADMIN)` enter it; group
managers, front desk and viewers work in the dashboard, scoped to their groups.
"""

from __future__ import annotations

from functools import update_wrapper
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.utils import NotRelationField, get_fields_from_path, unquote
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import QuerySet
from django.forms import ModelChoiceField, ModelMultipleChoiceField
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from properties.access import acting_business, acting_membership, two_factor_missing
from properties.errors import DomainError
from properties.models import Business
from properties.permissions import USE_ADMIN, permits


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
        return bool(user.is_superuser or permits(acting_membership(request), USE_ADMIN))

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        context = super().each_context(request)
        context["acting_business"] = acting_business(request)
        return context

    def admin_view(self, view: Any, cacheable: bool = False) -> Any:
        """A signed-in member whose role does not open the admin gets a 403 page (not a
        bounce to the sign-in page they have just come through)."""
        wrapped = super().admin_view(view, cacheable)

        def inner(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            if (
                request.user.is_authenticated
                and not self.has_permission(request)
                and request.path != reverse("admin:logout", current_app=self.name)
            ):
                context = {**self.each_context(request), "title": "No access"}
                return TemplateResponse(request, "admin/no_access.html", context, status=403)
            if two_factor_missing(request) and not request.user.is_superuser:
                return HttpResponseRedirect(reverse("mfa_activate_totp"))
            return wrapped(request, *args, **kwargs)

        return update_wrapper(inner, wrapped)

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        """Owners sign in through allauth's page, whose attempts are rate-limited per
        client IP and per account; Django's admin form has no limit at all."""
        index = reverse("admin:index", current_app=self.name)
        next_url = request.GET.get(REDIRECT_FIELD_NAME, "")
        if not url_has_allowed_host_and_scheme(
            next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            next_url = index
        if request.user.is_authenticated:
            if self.has_permission(request):
                return HttpResponseRedirect(next_url)
            # Signed in without a membership that opens the admin: sending them to the
            # sign-in page would bounce straight back here.
            context = {**self.each_context(request), "title": "No access"}
            return TemplateResponse(request, "admin/no_access.html", context, status=403)
        query = urlencode({REDIRECT_FIELD_NAME: next_url})
        return HttpResponseRedirect(f"{reverse('account_login')}?{query}")


site = HolideskAdminSite(name="admin")


def _is_tenant_model(model: type[models.Model]) -> bool:
    return any(f.name == "business" for f in model._meta.get_fields()) or model is Business


def _scope(qs: QuerySet[Any], business: Business | None) -> QuerySet[Any]:
    if business is None:
        return qs.none()
    if qs.model is Business:
        return qs.filter(pk=business.pk)
    return qs.filter(business=business)


class TenantRelatedFieldListFilter(admin.RelatedFieldListFilter):
    """A related-field filter that offers the acting business's rows only (Django's
    lists every row of the related table, whoever owns it)."""

    def field_choices(self, field: Any, request: HttpRequest, model_admin: Any) -> Any:
        if request.user.is_superuser:
            return super().field_choices(field, request, model_admin)
        related = field.related_model
        limit: dict[str, Any]
        if _is_tenant_model(related):
            business = acting_business(request)
            if business is None:
                return []
            limit = {"pk": business.pk} if related is Business else {"business": business}
        else:
            # Rows of a shared table (users): only those the business's own rows use.
            used = model_admin.get_queryset(request).values_list(
                f"{self.field_path}__pk", flat=True
            )
            limit = {"pk__in": used}
        ordering = self.field_admin_ordering(field, request, model_admin)
        return field.get_choices(include_blank=False, limit_choices_to=limit, ordering=ordering)


class TenantAllValuesFieldListFilter(admin.AllValuesFieldListFilter):
    """An all-values filter drawn from the acting business's rows only (Django's reads
    the whole related table when the path crosses a relation)."""

    def __init__(
        self,
        field: Any,
        request: HttpRequest,
        params: Any,
        model: Any,
        model_admin: Any,
        field_path: str,
    ) -> None:
        super().__init__(field, request, params, model, model_admin, field_path)
        if not request.user.is_superuser:
            self.lookup_choices = (
                model_admin.get_queryset(request)
                .distinct()
                .order_by(field_path)
                .values_list(field_path, flat=True)
            )


def scoped_list_filter(model: type[models.Model], item: Any) -> Any:
    """`item` of a `list_filter`, with Django's unscoped field filters replaced."""
    if isinstance(item, str):
        name, chosen = item, None
    elif isinstance(item, list | tuple) and len(item) == 2 and isinstance(item[0], str):
        name, chosen = item
    else:
        return item  # a SimpleListFilter decides its own lookups
    try:
        field = get_fields_from_path(model, name)[-1]
    except (FieldDoesNotExist, NotRelationField):
        return item
    if field.is_relation:
        if chosen in (None, admin.RelatedFieldListFilter):
            return (name, TenantRelatedFieldListFilter)
        return item
    plain = not (field.choices or isinstance(field, models.BooleanField | models.DateField))
    if (chosen is None and plain) or chosen is admin.AllValuesFieldListFilter:
        return (name, TenantAllValuesFieldListFilter)
    return item


class TenantScopedMixin:
    """Shared by TenantAdmin and TenantInline."""

    tenant_field = "business"
    # What a member must be allowed, besides USE_ADMIN, to open this model's pages.
    admin_action = USE_ADMIN

    def _may(self, request: HttpRequest, action: str, obj: Any = None) -> bool:
        """The permission module's answer for the acting member (superusers: yes)."""
        if self._superuser(request):
            return True
        return permits(acting_membership(request), action, obj)

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

    def get_list_filter(self, request: HttpRequest) -> Any:
        filters = super().get_list_filter(request)  # type: ignore[misc]
        if self._superuser(request):
            return filters
        model = self.model  # type: ignore[attr-defined]
        return [scoped_list_filter(model, item) for item in filters]

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

    # Members whose role may use the admin (owners and managers: its tables are
    # business-wide) work on the acting business's rows; admins whose rows need more
    # (members, tokens, the business itself) ask properties.permissions too.
    def _member(self, request: HttpRequest) -> bool:
        if self._superuser(request):
            return True
        membership = acting_membership(request)
        return permits(membership, USE_ADMIN) and permits(membership, self.admin_action)

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

    # A service refusing (a rule, a permission) is shown as an error message on the page
    # the person came from; the admin's transaction has rolled back, nothing is written.
    def _refused(self, request: HttpRequest, error: DomainError) -> HttpResponse:
        self.message_user(request, error.message, level=messages.ERROR)
        return HttpResponseRedirect(request.get_full_path())

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as error:
            return self._refused(request, error)

    def response_action(self, request: HttpRequest, queryset: Any, *args: Any, **kw: Any) -> Any:
        try:
            return super().response_action(request, queryset, *args, **kw)
        except DomainError as error:
            return self._refused(request, error)

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
        try:
            return super().delete_view(request, object_id, extra_context)
        except DomainError as error:
            return self._refused(request, error)

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
