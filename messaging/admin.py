"""The owner's views of messaging: outbox, staff, turnovers, key codes, templates,
broadcasts. All scoped to the acting business by TenantAdmin."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html

from messaging import key_box_selectors, rendering, selectors
from messaging.errors import MessagingError
from messaging.models import (
    Broadcast,
    BusinessMessaging,
    EmailTemplate,
    GuestOptOut,
    KeyCode,
    KeyCodeConfirmation,
    PropertyMessaging,
    ScheduledMessage,
    SentEmail,
    Staff,
    Turnover,
)
from messaging.services.broadcasts import broadcast_send, guest_unsubscribe
from messaging.services.calendar_sync import property_messages_refresh
from messaging.services.cleaners import turnover_cleaner_assign
from messaging.services.key_box import key_code_confirm
from messaging.services.outbox import outbox_cancel, outbox_send_now
from properties.access import acting_business
from properties.admin_base import ReadOnlyTenantAdmin, TenantAdmin, site
from properties.models import Property


def key_box_link(prop: Property, label: str = "Key box: confirm or correct the code") -> str:
    return format_html(
        '<a href="{}">{}</a>', reverse("admin:messaging_keycode_box", args=[prop.pk]), label
    )


def _business_of(request: HttpRequest, obj: Any = None) -> Any:
    if obj is not None and getattr(obj, "business_id", None):
        return obj.business
    return acting_business(request)


@admin.register(BusinessMessaging, site=site)
class BusinessMessagingAdmin(TenantAdmin):
    list_display = ["business", "quiet_hours", "reminder_days_before", "welcome_hours_before"]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        business = acting_business(request)
        if business is None or BusinessMessaging.objects.filter(business=business).exists():
            return False
        return super().has_add_permission(request)


@admin.register(Staff, site=site)
class StaffAdmin(TenantAdmin):
    list_display = ["name", "kind", "email", "phone", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["name", "email"]


@admin.register(PropertyMessaging, site=site)
class PropertyMessagingAdmin(TenantAdmin):
    list_display = ["property", "default_cleaner", "current_code"]
    readonly_fields = ["key_codes"]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "default_cleaner" and field is not None:
            field.queryset = field.queryset.filter(active=True)
        return field

    @admin.display(description="code on the box")
    def current_code(self, obj: PropertyMessaging) -> str:
        code = selectors.box_code(obj.property)
        return code.code if code else "not confirmed"

    @admin.display(description="key box")
    def key_codes(self, obj: PropertyMessaging) -> str:
        if obj.pk is None:
            return "—"
        state = key_box_selectors.key_box_state(obj.property, now=timezone.now(), days=7)
        confirmed = state.confirmed.code if state.confirmed else "none confirmed yet"
        planned = state.next_code.code if state.next_code else "—"
        return format_html(
            "On the box: <strong>{}</strong><br>Next code to set: {}<br>{}",
            confirmed,
            planned,
            key_box_link(obj.property, "Arrivals, confirmations, confirm or correct the code"),
        )

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        property_messages_refresh(prop=obj.property)


@admin.register(Turnover, site=site)
class TurnoverAdmin(TenantAdmin):
    list_display = ["property", "starts_at", "ends_at", "cleaner", "state", "code", "accept_by"]
    list_filter = ["state", "property"]
    date_hierarchy = "starts_at"
    fields = [
        "property",
        "booking",
        "next_booking",
        "cleaner",
        "starts_at",
        "ends_at",
        "accept_by",
        "state",
        "code",
        "code_outcome",
        "code_outcome_at",
        "key_box",
        "accepted_at",
        "done_at",
        "problem",
        "owner_alerted_at",
    ]
    readonly_fields = [str(f) for f in fields if f != "cleaner"]
    actions = ["confirm_code"]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    @admin.display(description="key code to set")
    def code(self, obj: Turnover) -> str:
        key = KeyCode.objects.filter(turnover=obj).first()
        if key is None:
            return "—"
        return f"{key.code} (confirmed)" if key.confirmed_at else f"{key.code} (not confirmed)"

    @admin.display(description="key box")
    def key_box(self, obj: Turnover) -> str:
        return key_box_link(obj.property) if obj.pk else "—"

    @admin.action(description="Confirm: the job's key code is set on the box")
    def confirm_code(self, request: HttpRequest, queryset: QuerySet[Turnover]) -> None:
        """The owner set (or checked) the job's code themselves. With several jobs
        selected, the latest ends up as the code on the box."""
        for job in queryset.select_related("property__business").order_by("starts_at"):
            key = KeyCode.objects.filter(turnover=job).first()
            if key is None:
                continue
            try:
                key_code_confirm(
                    property=job.property,
                    code=key.code,
                    by=request.user,  # type: ignore[arg-type]
                    source=KeyCodeConfirmation.Source.OWNER,
                    turnover=job,
                )
            except MessagingError as exc:
                self.message_user(request, f"{job}: {exc.message}", level=messages.ERROR)
            else:
                self.message_user(request, f"{job}: {key.code} is confirmed on the box.")

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        # The cleaner is the only field an owner edits; the service applies the change
        # with its effects (new links, emails, maybe a new key code).
        if "cleaner" in form.changed_data:
            turnover_cleaner_assign(turnover=obj, cleaner=form.cleaned_data["cleaner"])


class KeyBoxForm(forms.Form):
    code = forms.CharField(
        label="Code on the box",
        max_length=6,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "off", "pattern": "[0-9]{4,6}"}
        ),
    )


@admin.register(KeyCode, site=site)
class KeyCodeAdmin(ReadOnlyTenantAdmin):
    """Read-only rows: codes are planned by turnovers and put on the box by a
    confirmation (the key box page), and are never deleted by hand."""

    list_display = ["property", "code", "valid_from", "status", "turnover", "box_link"]
    list_filter = ["property"]
    readonly_fields = [
        "property",
        "code",
        "valid_from",
        "turnover",
        "confirmed_at",
        "retired_at",
        "created_at",
    ]

    @admin.display(description="status")
    def status(self, obj: KeyCode) -> str:
        on_box = selectors.box_code(obj.property)
        if on_box is not None and on_box.pk == obj.pk:
            return "on the box"
        if obj.confirmed_at:
            return "previous (was on the box)"
        if obj.retired_at:
            return "not used (replaced)" if obj.turnover_id is None else "not used (job cancelled)"
        return "planned, not confirmed"

    @admin.display(description="key box")
    def box_link(self, obj: KeyCode) -> str:
        return key_box_link(obj.property, "Key box")

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "box/<int:property_id>/",
                self.admin_site.admin_view(self.key_box_view),
                name="messaging_keycode_box",
            ),
            *super().get_urls(),
        ]

    def key_box_view(self, request: HttpRequest, property_id: int) -> HttpResponse:
        """The code on a property's box, the next code to set, each upcoming guest's
        code and why; the owner confirms or corrects the code here."""
        business = acting_business(request)
        props = Property.objects.select_related("business")
        if not request.user.is_superuser:
            props = props.filter(business=business) if business else props.none()
        prop = props.filter(pk=property_id).first()
        if prop is None:
            raise Http404("No such property.")
        form = KeyBoxForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                key_code_confirm(
                    property=prop,
                    code=form.cleaned_data["code"],
                    by=request.user,  # type: ignore[arg-type]
                    source=KeyCodeConfirmation.Source.OWNER,
                )
            except MessagingError as exc:
                form.add_error("code", exc.message)
            else:
                self.message_user(
                    request, f"{form.cleaned_data['code']} is confirmed on the box of {prop}."
                )
                return HttpResponseRedirect(request.path)
        state = key_box_selectors.key_box_state(prop, now=timezone.now())
        return TemplateResponse(
            request,
            "messaging/admin_key_box.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": f"Key box: {prop.name}",
                "prop": prop,
                "state": state,
                "next_state": selectors.cleaner_state(state.next_job) if state.next_job else "",
                "form": form,
                "history": KeyCodeConfirmation.objects.filter(property=prop).select_related(
                    "key_code", "confirmed_by_user", "confirmed_by_staff"
                )[:10],
            },
            status=400 if form.errors else 200,
        )


@admin.register(KeyCodeConfirmation, site=site)
class KeyCodeConfirmationAdmin(ReadOnlyTenantAdmin):
    """Who confirmed which code on which box, and when (kept with its code)."""

    list_display = ["confirmed_at", "property", "code", "source", "who", "turnover"]
    list_filter = ["source", "property"]
    readonly_fields = [
        "property",
        "key_code",
        "turnover",
        "source",
        "confirmed_by_user",
        "confirmed_by_staff",
        "confirmed_at",
    ]

    @admin.display(description="code")
    def code(self, obj: KeyCodeConfirmation) -> str:
        return obj.key_code.code

    @admin.display(description="confirmed by")
    def who(self, obj: KeyCodeConfirmation) -> str:
        return obj.confirmed_by()


class EmailTemplateForm(forms.ModelForm[EmailTemplate]):
    class Meta:
        model = EmailTemplate
        fields = ["kind", "subject", "body", "active"]
        help_texts = {
            "body": "Plain text. Variables: "
            + ", ".join("{{ " + name + " }}" for name in rendering.VARIABLES),
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in ("subject", "body"):
            unknown = rendering.unknown_variables(data.get(name) or "")
            if unknown:
                self.add_error(name, f"Unknown variable(s): {', '.join(unknown)}.")
        return data


@admin.register(EmailTemplate, site=site)
class EmailTemplateAdmin(TenantAdmin):
    form = EmailTemplateForm
    list_display = ["kind", "subject", "active", "updated_at", "preview_link"]
    list_filter = ["active"]

    def get_urls(self) -> list[URLPattern]:
        info = (self.opts.app_label, self.opts.model_name)
        return [
            path(
                "<path:object_id>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="{}_{}_preview".format(*info),
            ),
            *super().get_urls(),
        ]

    @admin.display(description="preview")
    def preview_link(self, obj: EmailTemplate) -> str:
        url = reverse("admin:messaging_emailtemplate_preview", args=[obj.pk])
        return format_html('<a href="{}">Preview</a>', url)

    def preview_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        obj = self.get_object(request, object_id)
        if obj is None:
            raise Http404("No such template.")
        context = rendering.sample_context(obj.business, obj.kind)
        rendered = rendering.render(obj.business, obj.kind, context)
        return TemplateResponse(
            request,
            "messaging/admin_preview.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "original": obj,
                "title": f"Preview: {obj.get_kind_display()}",
                "rendered": rendered,
            },
        )


class BroadcastForm(forms.ModelForm[Broadcast]):
    """Sends through `broadcast_send` once the fields are valid; its refusals become
    form errors (the rules are the service's)."""

    class Meta:
        model = Broadcast
        fields = ["property", "free_from", "free_until", "note"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.result: Broadcast | None = None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        prop = data["property"]  # one of the acting business's own (TenantAdmin)
        try:
            self.result = broadcast_send(
                business=prop.business,
                property=prop,
                free_from=data["free_from"],
                free_until=data["free_until"],
                note=data.get("note", ""),
            )
        except MessagingError as exc:
            raise ValidationError(exc.fields or exc.message) from exc
        return data


@admin.register(Broadcast, site=site)
class BroadcastAdmin(TenantAdmin):
    form = BroadcastForm
    list_display = ["property", "free_from", "free_until", "created_at", "progress"]
    readonly_fields = ["progress"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="progress (sent / total)")
    def progress(self, obj: Broadcast) -> str:
        if obj.pk is None:
            return "—"
        figures = selectors.broadcast_progress(obj)
        extra = []
        if figures["skipped"]:
            extra.append(f"{figures['skipped']} skipped")
        if figures["failed"]:
            extra.append(f"{figures['failed']} failed")
        suffix = f" ({', '.join(extra)})" if extra else ""
        return f"{figures['sent']} / {obj.total}{suffix}"

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        created = form.result  # sent by the form's validation
        assert created is not None
        obj.pk = created.pk
        obj.business = created.business
        obj.total = created.total
        obj.created_at = created.created_at
        obj._state.adding = False


@admin.register(ScheduledMessage, site=site)
class ScheduledMessageAdmin(ReadOnlyTenantAdmin):
    list_display = [
        "kind",
        "recipient",
        "send_at",
        "state",
        "needs_review",
        "attempts",
        "booking",
        "sent_at",
    ]
    list_filter = ["state", "needs_review", "kind", "priority"]
    search_fields = ["recipient", "booking__reference"]
    date_hierarchy = "send_at"
    actions = ["send_now", "cancel"]
    list_select_related = ["booking"]
    readonly_fields = [
        "booking",
        "turnover",
        "broadcast",
        "kind",
        "recipient",
        "recipient_name",
        "key",
        "send_at",
        "expires_at",
        "priority",
        "state",
        "attempts",
        "last_error",
        "needs_review",
        "sent_at",
        "message_id",
        "provider_message_id",
        "context",
    ]
    exclude = ["claimed_until", "sending_at"]

    @admin.action(description="Send now (also re-sends failed or skipped ones)")
    def send_now(self, request: HttpRequest, queryset: QuerySet[ScheduledMessage]) -> None:
        self._outbox_action(request, queryset, outbox_send_now, "message(s) will go out now.")

    @admin.action(description="Cancel")
    def cancel(self, request: HttpRequest, queryset: QuerySet[ScheduledMessage]) -> None:
        self._outbox_action(request, queryset, outbox_cancel, "scheduled message(s) cancelled.")

    def _outbox_action(
        self,
        request: HttpRequest,
        queryset: QuerySet[ScheduledMessage],
        service: Callable[..., int],
        done: str,
    ) -> None:
        business = acting_business(request)
        if business is None:
            return
        count = service(business=business, message_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} {done}")


@admin.register(SentEmail, site=site)
class SentEmailAdmin(ReadOnlyTenantAdmin):
    list_display = ["sent_at", "kind", "to", "subject", "provider_message_id"]
    list_filter = ["kind"]
    search_fields = ["to", "message_id", "provider_message_id"]
    readonly_fields = [
        "scheduled_message",
        "kind",
        "to",
        "subject",
        "message_id",
        "provider_message_id",
        "backend",
        "sent_at",
    ]


@admin.register(GuestOptOut, site=site)
class GuestOptOutAdmin(TenantAdmin):
    """An owner unsubscribes a guest (added through `guest_unsubscribe`, like the
    guest's own link); deleting the row subscribes them again."""

    list_display = ["email", "created_at"]
    search_fields = ["email"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        business = _business_of(request, obj)
        if business is None:
            raise PermissionDenied("Guests are unsubscribed from a business membership.")
        created = guest_unsubscribe(business_id=business.pk, email=obj.email)
        obj.pk = created.pk
        obj.business = created.business
        obj.email = created.email
        obj.created_at = created.created_at
        obj._state.adding = False
