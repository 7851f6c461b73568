"""The owner's views of partner sync: channels (secrets shown once, rotation), listing
links, conflicts to resolve, the push outbox with its attempt log and dead letters,
iCal feeds and exports, with sync-health columns. All scoped by TenantAdmin."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Min, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html

from integrations import ssrf
from integrations.models import (
    BookingConflict,
    Channel,
    IcalEvent,
    IcalExportToken,
    IcalFeed,
    InboundEvent,
    ListingLink,
    PartnerMessage,
    PartnerReservation,
    PushAttempt,
    PushOutbox,
)
from integrations.services import channels, conflicts, ical, push
from properties.access import acting_business
from properties.admin_base import ReadOnlyTenantAdmin, TenantAdmin, TenantInline, site
from properties.errors import DomainError
from properties.permissions import MANAGE_CHANNEL_SECRETS


def _when(value: Any) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "—"


class ListingLinkInline(TenantInline):
    """The channel's links, to read; they are added and changed under Listing links,
    where each goes through the listing-link services."""

    model = ListingLink
    fields = ("listing_id", "property")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _safe_url(url: str) -> str:
    if url:
        try:
            ssrf.check_url(url)
        except ssrf.UnsafeURL as exc:
            raise forms.ValidationError(str(exc)) from exc
    return url


class ChannelForm(forms.ModelForm[Channel]):
    endpoint_url = forms.URLField(
        label="Endpoint URL",
        max_length=500,
        required=False,
        assume_scheme="https",
        help_text="Where availability and listing pushes are POSTed (empty: no pushes).",
    )

    class Meta:
        model = Channel
        fields = ("platform", "name", "active", "endpoint_url")

    def clean_endpoint_url(self) -> str:
        return _safe_url(self.cleaned_data.get("endpoint_url") or "")


class IcalFeedForm(forms.ModelForm[IcalFeed]):
    url = forms.URLField(label="Feed URL", max_length=1000, assume_scheme="https")

    class Meta:
        model = IcalFeed
        fields = ("property", "platform", "url", "active")

    def clean_url(self) -> str:
        return _safe_url(self.cleaned_data.get("url") or "")


@admin.register(Channel, site=site)
class ChannelAdmin(TenantAdmin):
    form = ChannelForm
    inlines = [ListingLinkInline]
    list_display = (
        "__str__",
        "platform",
        "active",
        "public_id",
        "last_inbound",
        "last_push_ok",
        "last_error",
        "next_attempt",
        "dead_letters",
    )
    list_filter = ("platform", "active")
    readonly_fields = ("public_id", "events_url", "secrets_rotated_at", "health")
    actions = ["rotate_inbound_secret", "rotate_outbound_secret"]

    def get_actions(self, request: HttpRequest) -> Any:
        found = super().get_actions(request)
        if not self._may(request, MANAGE_CHANNEL_SECRETS):
            # Secrets are the owner's: a manager manages listings, never keys.
            found.pop("rotate_inbound_secret", None)
            found.pop("rotate_outbound_secret", None)
        return found

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        # A new channel's secrets are shown once, to whoever creates it.
        return super().has_add_permission(request) and self._may(request, MANAGE_CHANNEL_SECRETS)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                dead_count=Count("pushes", filter=Q(pushes__status=PushOutbox.Status.DEAD)),
                next_push_at=Min(
                    "pushes__next_attempt_at",
                    filter=Q(pushes__status=PushOutbox.Status.PENDING),
                ),
            )
        )

    @admin.display(description="events URL")
    def events_url(self, obj: Channel) -> str:

        return channels.channel_events_url(obj) if obj.pk else "—"

    @admin.display(description="last event in")
    def last_inbound(self, obj: Channel) -> str:
        return _when(obj.last_inbound_at)

    @admin.display(description="last push OK")
    def last_push_ok(self, obj: Channel) -> str:
        return _when(obj.last_push_ok_at)

    @admin.display(description="last error")
    def last_error(self, obj: Channel) -> str:
        if not obj.last_push_error:
            return "—"
        return f"{_when(obj.last_push_error_at)}: {obj.last_push_error[:80]}"

    @admin.display(description="next attempt")
    def next_attempt(self, obj: Any) -> str:
        return _when(getattr(obj, "next_push_at", None))

    @admin.display(description="dead letters")
    def dead_letters(self, obj: Any) -> int:
        return int(getattr(obj, "dead_count", 0) or 0)

    @admin.display(description="sync health")
    def health(self, obj: Channel) -> str:
        if obj.pk is None:
            return "—"
        h = push.channel_health(obj)
        return format_html(
            "Last event in: {}<br>Last push OK: {}<br>Last error: {} {}<br>"
            "Next attempt: {}<br>Dead letters: {}",
            _when(h["last_inbound_at"]),
            _when(h["last_push_ok_at"]),
            _when(h["last_push_error_at"]),
            h["last_push_error"][:200] or "",
            _when(h["next_attempt_at"]),
            h["dead_letters"],
        )

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        business = acting_business(request)
        if request.user.is_superuser and obj.business_id is not None:
            business = obj.business
        if business is None:
            raise PermissionDenied("Channels are created from a business membership.")
        try:
            channel, inbound, outbound = channels.channel_create(
                business=business,
                platform=obj.platform,
                name=obj.name,
                endpoint_url=obj.endpoint_url,
            )
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            raise
        obj.pk = channel.pk
        obj.public_id = channel.public_id
        obj.inbound_secret_enc = channel.inbound_secret_enc
        obj.outbound_secret_enc = channel.outbound_secret_enc
        obj.business = channel.business
        # Shown exactly once; stored only encrypted.
        self.message_user(
            request,
            f"Channel {channel.public_id} created. Copy these secrets now, they are not "
            f"shown again. Inbound (the partner signs with it): {inbound} — "
            f"outbound (we sign with it): {outbound}",
            messages.WARNING,
        )

    @admin.action(description="Rotate the inbound secret (old one valid 24 h)")
    def rotate_inbound_secret(self, request: HttpRequest, queryset: QuerySet[Channel]) -> None:
        self._rotate(
            request,
            queryset,
            channels.channel_rotate_inbound_secret,
            "inbound secret",
            "shown once; the old one is accepted for 24 hours",
        )

    @admin.action(description="Rotate the outbound secret")
    def rotate_outbound_secret(self, request: HttpRequest, queryset: QuerySet[Channel]) -> None:
        self._rotate(
            request,
            queryset,
            channels.channel_rotate_outbound_secret,
            "outbound secret",
            "shown once",
        )

    def _rotate(
        self,
        request: HttpRequest,
        queryset: QuerySet[Channel],
        rotate: Callable[..., str],
        which: str,
        note: str,
    ) -> None:
        if not self._may(request, MANAGE_CHANNEL_SECRETS):
            raise PermissionDenied("Only an owner may rotate a channel's secrets.")
        for channel in queryset:
            raw = rotate(channel=channel)
            self.message_user(
                request, f"New {which} of {channel.public_id} ({note}): {raw}", messages.WARNING
            )


class ListingLinkForm(forms.ModelForm[ListingLink]):
    class Meta:
        model = ListingLink
        fields = ("channel", "listing_id", "property")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        link = self.instance if self.instance.pk else None
        channel = link.channel if link else data.get("channel")
        listing_id, prop = data.get("listing_id"), data.get("property")
        if channel is not None and listing_id and prop is not None:
            try:
                channels.listing_link_check(
                    channel=channel, listing_id=listing_id, property=prop, link=link
                )
            except DomainError as exc:
                field = next(iter(exc.fields), None)
                self.add_error(field if field in self.fields else None, exc.message)
        return data

    def validate_unique(self) -> None:
        # Uniqueness per channel is one of the link rules checked in clean().
        pass


@admin.register(ListingLink, site=site)
class ListingLinkAdmin(TenantAdmin):
    list_display = ("listing_id", "property", "channel", "created_at")
    list_filter = ("channel",)
    search_fields = ("listing_id", "property__name")

    form = ListingLinkForm

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # A link belongs to its channel; another channel is another link.
        return ("channel",) if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if change:
            channels.listing_link_change(
                link=obj, listing_id=data["listing_id"], property=data["property"]
            )
            return
        link = channels.listing_link_create(
            channel=data["channel"], listing_id=data["listing_id"], property=data["property"]
        )
        obj.pk, obj.business_id, obj.created_at = link.pk, link.business_id, link.created_at


@admin.register(InboundEvent, site=site)
class InboundEventAdmin(ReadOnlyTenantAdmin):
    list_display = ("event_id", "type", "channel", "outcome", "booking_reference", "received_at")
    list_filter = ("type", "outcome", "channel")
    search_fields = ("event_id", "booking_reference")
    date_hierarchy = "received_at"


@admin.register(PartnerReservation, site=site)
class PartnerReservationAdmin(ReadOnlyTenantAdmin):
    list_select_related = ("channel", "booking__property")
    list_display = ("reservation_id", "channel", "last_revision", "booking", "cancelled")
    list_filter = ("channel", "cancelled")
    search_fields = ("reservation_id",)


@admin.register(PartnerMessage, site=site)
class PartnerMessageAdmin(ReadOnlyTenantAdmin):
    list_select_related = ("booking__property",)
    """The conversation of a partner booking: filter by booking to read one thread."""

    list_display = ("sent_at", "booking", "reservation_id", "sender", "short_body")
    list_filter = ("sender", "channel")
    search_fields = ("booking__reference", "reservation_id", "body")

    @admin.display(description="message")
    def short_body(self, obj: PartnerMessage) -> str:
        return obj.body[:80]


@admin.register(BookingConflict, site=site)
class BookingConflictAdmin(ReadOnlyTenantAdmin):
    list_display = (
        "public_id",
        "status",
        "property",
        "check_in",
        "check_out",
        "source",
        "external_id",
        "existing_booking",
        "created_at",
    )
    list_filter = ("status", "property")
    list_select_related = ("property", "channel", "feed__property", "existing_booking__property")
    actions = ["keep_existing", "take_partner", "mark_done"]

    @admin.display(description="from")
    def source(self, obj: BookingConflict) -> str:
        return str(obj.channel or obj.feed or "—")

    def _resolve(self, request: HttpRequest, queryset: QuerySet[Any], action: str) -> None:
        done = 0
        for conflict in queryset:
            try:
                conflicts.conflict_resolve(conflict=conflict, action=action)
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{conflict.public_id}: {exc.message}", messages.ERROR)
        if done:
            self.message_user(request, f"{done} conflict(s) resolved.")

    @admin.action(description="Keep the existing stay (decline the partner's)")
    def keep_existing(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._resolve(request, queryset, "keep_existing")

    @admin.action(
        description="Take the partner's stay (cancels the existing one unless you moved it)"
    )
    def take_partner(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._resolve(request, queryset, "take_partner")

    @admin.action(description="Mark resolved (I moved one myself)")
    def mark_done(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._resolve(request, queryset, "done")


class PushAttemptInline(admin.TabularInline[PushAttempt, PushOutbox]):
    model = PushAttempt
    fields = ("number", "attempted_at", "status_code", "latency_ms", "ok", "error")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PushOutbox, site=site)
class PushOutboxAdmin(ReadOnlyTenantAdmin):
    list_display = (
        "push_id",
        "kind",
        "channel",
        "listing",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "short_error",
        "updated_at",
    )
    list_filter = ("status", "kind", "channel")
    inlines = [PushAttemptInline]
    actions = ["redrive"]

    @admin.display(description="last error")
    def short_error(self, obj: PushOutbox) -> str:
        return obj.last_error[:80]

    @admin.action(description="Re-drive the selected dead letters")
    def redrive(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        business = acting_business(request)
        ids = list(queryset.values_list("pk", flat=True))
        if request.user.is_superuser and business is None:
            count = 0
            for row in queryset.select_related("business"):
                count += push.push_redrive(business=row.business, push_ids=[row.pk])
        elif business is None:
            return
        else:
            count = push.push_redrive(business=business, push_ids=ids)
        self.message_user(request, f"{count} push(es) queued again with the current state.")


@admin.register(PushAttempt, site=site)
class PushAttemptAdmin(ReadOnlyTenantAdmin):
    list_display = ("push", "number", "attempted_at", "status_code", "latency_ms", "ok", "error")
    list_filter = ("ok",)


@admin.register(IcalFeed, site=site)
class IcalFeedAdmin(TenantAdmin):
    list_display = (
        "property",
        "platform",
        "active",
        "last_success",
        "last_error_short",
        "next_fetch",
        "consecutive_failures",
    )
    list_filter = ("platform", "active")
    form = IcalFeedForm
    actions = ["fetch_now"]

    @admin.display(description="last success")
    def last_success(self, obj: IcalFeed) -> str:
        return _when(obj.last_success_at)

    @admin.display(description="last error")
    def last_error_short(self, obj: IcalFeed) -> str:
        return f"{_when(obj.last_error_at)}: {obj.last_error[:80]}" if obj.last_error else "—"

    @admin.display(description="next fetch")
    def next_fetch(self, obj: IcalFeed) -> str:
        return _when(obj.next_fetch_at)

    @admin.action(description="Fetch now")
    def fetch_now(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        queryset.update(next_fetch_at=timezone.now(), claimed_until=None)
        self.message_user(request, "The selected feeds are fetched within a minute.")


@admin.register(IcalEvent, site=site)
class IcalEventAdmin(ReadOnlyTenantAdmin):
    list_select_related = ("feed__property", "booking__property")
    list_display = ("uid", "feed", "classification", "summary", "start", "end", "booking")
    list_filter = ("classification", "feed")


@admin.register(IcalExportToken, site=site)
class IcalExportTokenAdmin(TenantAdmin):
    """Export URLs: created and rotated here (never edited or deleted); each URL is
    shown once."""

    list_display = ("property", "token_hint", "created_at", "last_fetched_at")
    fields = ("property",)
    actions = ["rotate"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        raw = ical.ical_token_rotate(property=obj.property)
        obj.pk = IcalExportToken.objects.get(property=obj.property).pk
        self.message_user(
            request,
            f"iCal export URL of {obj.property} (shown once): {ical.ical_export_url(raw)}",
            messages.WARNING,
        )

    @admin.action(description="Rotate the export URL (the old one stops working)")
    def rotate(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for token in queryset.select_related("property"):
            raw = ical.ical_token_rotate(property=token.property)
            self.message_user(
                request,
                f"New iCal export URL of {token.property} (shown once): "
                f"{ical.ical_export_url(raw)} — per platform add ?platform=airbnb, "
                "?platform=booking or ?platform=vrbo.",
                messages.WARNING,
            )
