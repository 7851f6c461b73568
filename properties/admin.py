from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminFileWidget
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.html import format_html

from properties import permissions
from properties.access import acting_business, acting_membership
from properties.admin_base import TenantAdmin, site
from properties.errors import DomainError
from properties.models import (
    ApiToken,
    Business,
    Membership,
    Property,
    PropertyGroup,
    PropertyImage,
    SeasonalRate,
    User,
)
from properties.permissions import user_may
from properties.photos.admin import (
    PropertyImageAdmin,
    PropertyImageInline,
    photo_progress_text,
    save_photo_formset,
)
from properties.photos.validation import CONTENT_TYPES
from properties.selectors import currency_lock_reason, slug_unavailable_reason
from properties.services import (
    BUSINESS_EDITABLE_FIELDS,
    DOMAIN_CHECK_TEXT,
    DomainCheck,
    api_token_create,
    api_token_revoke,
    business_save,
    custom_domain_verify,
    membership_add,
    membership_change,
    membership_remove,
    verification_record,
)
from properties.services.listings import (
    PRICE_FIELDS,
    SETTINGS_FIELDS,
    property_create,
    property_update,
    seasonal_rate_delete,
    seasonal_rate_save,
)


@admin.register(User, site=site)
class UserAdmin(DjangoUserAdmin[User]):
    """Platform staff only: owners never browse the platform's users."""

    ordering = ("email",)
    list_display = ("email", "name", "is_staff", "is_superuser", "date_joined")
    search_fields = ("email", "name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("name", "phone")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)


class BusinessRefused(DomainError):
    """`business_save` refused the admin's values (shown as a message, nothing saved)."""

    code = "invalid"


class BusinessForm(forms.ModelForm[Business]):
    # A plain file field: `business_save` checks the image as the photos are checked
    # (Django's image field would first hand the file to every decoder Pillow has).
    logo = forms.FileField(
        required=False,
        widget=AdminFileWidget(attrs={"accept": ",".join(CONTENT_TYPES)}),
        help_text="JPEG, PNG or WebP.",
    )

    class Meta:
        model = Business
        fields = BUSINESS_EDITABLE_FIELDS

    def clean_slug(self) -> str:
        slug: str = self.cleaned_data["slug"].strip().lower()
        if slug != self.instance.slug:
            problem = slug_unavailable_reason(slug=slug, business=self.instance)
            if problem:
                raise forms.ValidationError(problem)
        return slug

    def clean_custom_domain(self) -> str | None:
        domain = (self.cleaned_data.get("custom_domain") or "").strip().lower().rstrip(".")
        return domain or None


@admin.register(Business, site=site)
class BusinessAdmin(TenantAdmin):
    form = BusinessForm
    tenant_field = "pk"
    list_display = ("name", "slug", "custom_domain", "domain_verified", "timezone", "currency")
    search_fields = ("name", "slug", "custom_domain")
    actions = ["verify_domain"]
    fieldsets = (
        (None, {"fields": ("name", "slug", "contact_email")}),
        ("Custom domain", {"fields": ("custom_domain", "domain_status")}),
        ("Locale", {"fields": ("timezone", "currency", "languages")}),
        ("Branding", {"fields": ("logo", "accent_colour", "about")}),
        ("Security", {"fields": ("require_owner_two_factor",)}),
    )

    def get_queryset(self, request: HttpRequest) -> Any:
        qs = Business.objects.all()
        if request.user.is_superuser:
            return qs
        business = acting_business(request)
        return qs.filter(pk=business.pk) if business else qs.none()

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = ["domain_status"]
        if obj is not None:
            if not user_may(request.user, permissions.RENAME_SITE, business=obj):
                readonly.append("slug")
            if not user_may(request.user, permissions.SET_CUSTOM_DOMAIN, business=obj):
                readonly.append("custom_domain")
            if not user_may(request.user, permissions.REQUIRE_TWO_FACTOR, business=obj):
                readonly.append("require_owner_two_factor")
            if currency_lock_reason(business=obj):
                readonly.append("currency")
        return readonly

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return bool(request.user.is_superuser)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change:
            obj.save()  # platform staff only; a business is created with its owner elsewhere
            return
        try:
            business_save(user=request.user, business=obj)
        except ValidationError as error:
            # The form checked the row; what is left is the service's own rules (a
            # currency with stays to come, a logo that is no image, a slug just taken).
            raise BusinessRefused(" ".join(error.messages)) from None

    @admin.display(boolean=True, description="domain verified")
    def domain_verified(self, obj: Business) -> bool | None:
        return bool(obj.domain_verified_at) if obj.custom_domain else None

    @admin.display(description="verification")
    def domain_status(self, obj: Business | None) -> str:
        if obj is None or not obj.custom_domain:
            return "No custom domain: your site is at its Holidesk address."
        if obj.domain_verified_at:
            return format_html(
                "Verified on {}: {} serves your site.",
                obj.domain_verified_at.date(),
                obj.custom_domain,
            )
        name, value = verification_record(obj)
        return format_html(
            "Not verified yet, so {} serves nothing. Add this DNS record, then use "
            "“Verify the custom domain now” on the list of businesses (or wait: it is "
            "checked regularly): <br>type <code>TXT</code>, name <code>{}</code>, "
            "value <code>{}</code>",
            obj.custom_domain,
            name,
            value,
        )

    @admin.action(description="Verify the custom domain now")
    def verify_domain(self, request: HttpRequest, queryset: Any) -> None:
        for business in queryset.filter(custom_domain__isnull=False):
            outcome = custom_domain_verify(business=business)
            text, level = _DOMAIN_OUTCOMES[outcome]
            self.message_user(request, text.format(domain=business.custom_domain), level=level)


_DOMAIN_OUTCOMES = {
    outcome: (DOMAIN_CHECK_TEXT[outcome], level)
    for outcome, level in (
        (DomainCheck.VERIFIED, messages.SUCCESS),
        (DomainCheck.MISSING, messages.WARNING),
        (DomainCheck.UNKNOWN, messages.WARNING),
        (DomainCheck.TAKEN, messages.ERROR),
    )
}


class MembershipForm(forms.ModelForm[Membership]):
    """Shapes the input; membership_add / membership_change decide and write."""

    email = forms.EmailField(
        help_text=(
            "The email of someone who already has an account. To add someone new, invite "
            "them from the dashboard's Team page: they get an email to join."
        )
    )

    class Meta:
        model = Membership
        fields = ("email", "role", "groups")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["email"].initial = self.instance.user.email
            self.fields["email"].disabled = True

    def clean_email(self) -> str:
        email: str = self.cleaned_data["email"]
        if not self.instance.pk and not User.objects.filter(email__iexact=email).exists():
            # An account made here would have no password and its owner no word of it.
            raise forms.ValidationError(
                "No account uses this address yet: invite them from the Team page, "
                "which emails them a link to join."
            )
        return email


@admin.register(Membership, site=site)
class MembershipAdmin(TenantAdmin):
    form = MembershipForm
    list_display = ("user", "role", "group_names", "created_at")
    list_filter = ("role",)

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description="groups")
    def group_names(self, obj: Membership) -> str:
        return ", ".join(g.name for g in obj.groups.all()) or "—"

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if request.user.is_superuser:
            kwargs["fields"] = ("email", "business", "role", "groups")
        form = super().get_form(request, obj, change, **kwargs)
        role = form.base_fields.get("role")
        if isinstance(role, forms.ChoiceField) and not request.user.is_superuser:
            membership = acting_membership(request)
            role.choices = [
                choice
                for choice in Membership.Role.choices
                if permissions.may_grant(membership, choice[0])
                or (obj is not None and choice[0] == obj.role)
            ]
        return form

    def _business(self, request: HttpRequest, form: Any) -> Business | None:
        if request.user.is_superuser:
            chosen: Business | None = form.cleaned_data.get("business")
            return chosen
        return acting_business(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self._may(request, permissions.ADD_MEMBER)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may(request, permissions.CHANGE_MEMBER, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may(request, permissions.REMOVE_MEMBER, obj)

    def _may(self, request: HttpRequest, action: str, obj: Any = None) -> bool:
        if request.user.is_superuser:
            return True
        business = acting_business(request)
        if business is None:
            return False
        return user_may(request.user, action, business=business, obj=obj)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if change:
            saved = membership_change(
                by=request.user, membership=obj, role=data["role"], groups=data.get("groups")
            )
        else:
            business = self._business(request, form)
            if business is None:
                raise PermissionDenied("Members are added from a business membership.")
            saved = membership_add(
                by=request.user,
                business=business,
                email=data["email"],
                role=data["role"],
                groups=data.get("groups"),
            )
        obj.pk, obj.user, obj.business = saved.pk, saved.user, saved.business

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """The service has set the groups already (and cleared them for a role that
        covers the whole business); the form's own m2m save would undo that."""

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        membership_remove(by=request.user, membership=obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        with transaction.atomic():
            for membership in queryset:
                membership_remove(by=request.user, membership=membership)


@admin.register(PropertyGroup, site=site)
class PropertyGroupAdmin(TenantAdmin):
    list_display = ("name",)
    search_fields = ("name",)


site.register(PropertyImage, PropertyImageAdmin)


@admin.register(Property, site=site)
class PropertyAdmin(TenantAdmin):
    list_display = ("name", "group", "max_guests", "base_price", "published")
    list_filter = ("published", "group")
    search_fields = ("name", "address")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [PropertyImageInline]
    readonly_fields = ("photos_ready",)
    fieldsets = (
        (None, {"fields": ("name", "slug", "group", "published", "description", "address")}),
        ("Capacity", {"fields": ("max_guests", "bedrooms", "bathrooms", "amenities")}),
        ("House times", {"fields": ("check_in_time", "check_out_time", "timezone")}),
        ("Prices and rules", {"fields": PRICE_FIELDS}),
        ("Photos", {"fields": ("photos_ready",)}),
    )

    @admin.display(description="Photos processed")
    def photos_ready(self, obj: Property) -> str:
        return photo_progress_text(obj)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """Through the dashboard's services (who may, a slug free in the business, the
        group scope); a refusal is shown on the page and nothing is saved."""
        values = {f: getattr(obj, f) for f in (*SETTINGS_FIELDS, *PRICE_FIELDS)}
        if change:
            saved = property_update(by=request.user, prop=obj, values=values)
        else:
            business = obj.business if self._superuser(request) else acting_business(request)
            if business is None:
                raise PermissionDenied("Properties are added from a business membership.")
            saved = property_create(by=request.user, business=business, values=values)
        # The inlines and the admin's history hang on the form's instance.
        obj.pk, obj.business, obj.slug = saved.pk, saved.business, saved.slug
        obj._state.adding = False

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is PropertyImage:
            save_photo_formset(formset, parent=form.instance)
            return
        super().save_formset(request, form, formset, change)


@admin.register(ApiToken, site=site)
class ApiTokenAdmin(TenantAdmin):
    list_display = ("name", "key_hint", "user", "created_at", "last_used_at", "revoked_at")
    fields = ("name",)
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        if request.user.is_superuser:
            return True
        business = acting_business(request)
        return business is not None and user_may(
            request.user, permissions.CREATE_API_TOKEN, business=business
        )

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a token is created or revoked, never edited

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoked, not deleted: the record of who had access stays

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        business = acting_business(request)
        if business is None or not isinstance(request.user, User):
            raise PermissionDenied("Tokens are created from a business membership.")
        token, raw = api_token_create(business=business, user=request.user, name=obj.name)
        obj.pk = token.pk
        # Shown exactly once; only its hash is stored.
        self.message_user(
            request, f"Your new API token (copy it now, it is not shown again): {raw}"
        )

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        with transaction.atomic():
            for token in queryset.select_related("business"):
                api_token_revoke(token=token, by=request.user)


@admin.register(SeasonalRate, site=site)
class SeasonalRateAdmin(TenantAdmin):
    """Through the same service as the dashboard's prices page (who may, the season
    rules); a refusal is shown on the page and nothing is saved."""

    list_display = ("property", "name", "start", "end", "nightly_price", "min_nights")
    list_filter = ("property",)
    date_hierarchy = "start"

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        values = {f: getattr(obj, f) for f in ("name", "start", "end", "nightly_price")}
        values["min_nights"] = obj.min_nights
        saved = seasonal_rate_save(
            by=request.user, prop=obj.property, values=values, rate=obj if change else None
        )
        obj.pk, obj.business_id = saved.pk, saved.business_id

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        seasonal_rate_delete(by=request.user, rate=obj)
