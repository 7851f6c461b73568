from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from properties.access import acting_business
from properties.admin_base import TenantAdmin, site
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
from properties.photos.admin import (
    PropertyImageAdmin,
    PropertyImageInline,
    photo_progress_text,
    save_photo_formset,
)
from properties.services import api_token_create, api_token_revoke


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


@admin.register(Business, site=site)
class BusinessAdmin(TenantAdmin):
    tenant_field = "pk"
    list_display = ("name", "slug", "custom_domain", "timezone", "currency")
    search_fields = ("name", "slug", "custom_domain")
    fieldsets = (
        (None, {"fields": ("name", "slug", "custom_domain", "contact_email")}),
        ("Locale", {"fields": ("timezone", "currency")}),
        ("Branding", {"fields": ("logo", "accent_colour", "about")}),
    )

    def get_queryset(self, request: HttpRequest) -> Any:
        qs = Business.objects.all()
        if request.user.is_superuser:
            return qs
        business = acting_business(request)
        return qs.filter(pk=business.pk) if business else qs.none()

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return bool(request.user.is_superuser)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        obj.save()


class MembershipForm(forms.ModelForm[Membership]):
    email = forms.EmailField(
        help_text="The person's email; they get an account if they have none yet."
    )

    class Meta:
        model = Membership
        fields = ("email", "role", "group")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["email"].initial = self.instance.user.email
            self.fields["email"].disabled = True

    def save(self, commit: bool = True) -> Membership:
        membership: Membership = super().save(commit=False)
        if not membership.pk:
            email = self.cleaned_data["email"].lower()
            user = User.objects.filter(email__iexact=email).first()
            membership.user = user or User.objects.create_user(email=email)
        if commit:
            membership.save()
        return membership


@admin.register(Membership, site=site)
class MembershipAdmin(TenantAdmin):
    form = MembershipForm
    list_display = ("user", "role", "group", "created_at")
    list_filter = ("role",)

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if request.user.is_superuser:
            kwargs["fields"] = ("email", "business", "role", "group")
        return super().get_form(request, obj, change, **kwargs)


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
        (
            "Prices and rules",
            {
                "fields": (
                    "base_price",
                    "cleaning_fee",
                    "tax_percent",
                    "min_nights",
                    "max_nights",
                    "weekly_discount_percent",
                    "monthly_discount_percent",
                    "advance_notice_days",
                    "booking_horizon_days",
                    "cancellation_policy",
                )
            },
        ),
        ("Photos", {"fields": ("photos_ready",)}),
    )

    @admin.display(description="Photos processed")
    def photos_ready(self, obj: Property) -> str:
        return photo_progress_text(obj)

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

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a token is created or revoked, never edited

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
        for token in queryset:
            api_token_revoke(token=token)


@admin.register(SeasonalRate, site=site)
class SeasonalRateAdmin(TenantAdmin):
    list_display = ("property", "name", "start", "end", "nightly_price", "min_nights")
    list_filter = ("property",)
    date_hierarchy = "start"
