"""Bookings and blocks in the tenant-scoped admin, written through the same services as
everywhere else, so an overlap or a refused date is a form error here too, never a
crash, and nothing is written."""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils import timezone

from bookings.errors import BookingError
from bookings.models import Booking
from bookings.payments.services.refunds import booking_cancel_and_refund
from bookings.rules import REACH_DAYS, month_from_param
from bookings.selectors import business_timeline
from bookings.services.blocks import block_change_dates, block_create, block_remove
from bookings.services.stays import booking_change_dates, booking_create, booking_guest_update
from properties.access import acting_business
from properties.admin_base import TenantAdmin, site
from properties.db import retry_on_conflict
from properties.errors import DomainError
from properties.models import Business, Property

# Where a service names a field the form calls otherwise (blocks say start and end).
_FORM_FIELD = {"start": "check_in", "end": "check_out"}


class BookingForm(forms.ModelForm[Booking]):
    """Edits dates as two plain fields. The form only validates its input; its `save()`
    writes through the booking services, and what they refuse comes back as errors of
    this form (see `BookingAdmin.changeform_view`), with nothing written."""

    check_in = forms.DateField(
        label="Check-in / start", widget=forms.DateInput(attrs={"type": "date"})
    )
    check_out = forms.DateField(
        label="Check-out / end",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Exclusive.",
    )

    # What the services refused on a first submission of this same form.
    refused: DomainError | None = None

    class Meta:
        model = Booking
        fields = [
            "property",
            "kind",
            "check_in",
            "check_out",
            "guests",
            "guest_name",
            "guest_email",
            "guest_phone",
            "note",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["check_in"].initial = self.instance.check_in
            self.fields["check_out"].initial = self.instance.check_out
            self.fields["property"].disabled = True
            self.fields["kind"].disabled = True

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.refused is not None and not self.errors:
            field = next(
                (
                    _FORM_FIELD.get(name, name)
                    for name in self.refused.fields
                    if _FORM_FIELD.get(name, name) in self.fields
                ),
                None,
            )
            self.add_error(field, self.refused.message)
        return data

    def save(self, commit: bool = True) -> Booking:
        """The calendar write and the guest's details, through the services."""
        data = self.cleaned_data
        check_in, check_out = data["check_in"], data["check_out"]
        guest = {
            "name": data.get("guest_name", ""),
            "email": data.get("guest_email", ""),
            "phone": data.get("guest_phone", ""),
        }
        if self.instance.pk:
            current = booking_guest_update(
                booking=self.instance,
                **guest,
                guests=data.get("guests") or 1,
                note=data.get("note", ""),
            )
            if current.is_block:
                return block_change_dates(block=current, start=check_in, end=check_out)
            changed, _ = booking_change_dates(
                booking=current, check_in=check_in, check_out=check_out, enforce_rules=False
            )
            return changed
        prop: Property = data["property"]
        if data["kind"] in Booking.BLOCK_KINDS:
            return block_create(
                property=prop,
                start=check_in,
                end=check_out,
                note=data.get("note", ""),
                kind=data["kind"],
            )
        return booking_create(
            property=prop,
            check_in=check_in,
            check_out=check_out,
            guests=data.get("guests") or 1,
            source=Booking.Source.OWNER,
            guest_name=guest["name"],
            guest_email=guest["email"],
            guest_phone=guest["phone"],
            note=data.get("note", ""),
        )


class _Refused(Exception):
    def __init__(self, error: BookingError) -> None:
        super().__init__(error.message)
        self.error = error


class StayDatesFilter(admin.SimpleListFilter):
    title = "stay dates"
    parameter_name = "when"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("current", "In the house now"),
            ("next7", "Arriving in the next 7 days"),
            ("next30", "Arriving in the next 30 days"),
            ("future", "All upcoming"),
            ("past", "Past"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Booking]) -> QuerySet[Booking]:
        today = timezone.localdate()
        value = self.value()
        if value == "current":
            return queryset.filter(stay__contains=today)
        if value in {"next7", "next30"}:
            days = 7 if value == "next7" else 30
            return queryset.filter(
                stay__startswith__gte=today, stay__startswith__lt=today + timedelta(days=days)
            )
        if value == "future":
            return queryset.filter(stay__startswith__gte=today)
        if value == "past":
            return queryset.filter(stay__endswith__lt=today)
        return queryset


@admin.register(Booking, site=site)
class BookingAdmin(TenantAdmin):
    form = BookingForm
    list_display = (
        "reference",
        "property",
        "kind",
        "status",
        "source",
        "check_in",
        "check_out",
        "guest_name",
        "total",
    )
    list_filter = (StayDatesFilter, "status", "kind", "source", "property")
    search_fields = ("reference", "guest_name", "guest_email")
    ordering = ("-stay",)
    actions = ["cancel_selected", "remove_selected_blocks"]
    readonly_fields = (
        "reference",
        "status",
        "source",
        "total",
        "amount_paid",
        "amount_refunded",
        "currency",
        "hold_expires_at",
        "confirmed_at",
        "cancelled_at",
        "price_breakdown",
    )
    change_list_template = "admin/bookings/booking/change_list.html"

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        main = ("property", "kind", "check_in", "check_out")
        guest = ("guests", "guest_name", "guest_email", "guest_phone", "note")
        if obj is None:
            return ((None, {"fields": main}), ("Guest", {"fields": guest}))
        return (
            (None, {"fields": ("reference", "status", "source", *main)}),
            ("Guest", {"fields": guest}),
            (
                "Money",
                {
                    "fields": (
                        "total",
                        "amount_paid",
                        "amount_refunded",
                        "currency",
                        "price_breakdown",
                    )
                },
            ),
            ("History", {"fields": ("hold_expires_at", "confirmed_at", "cancelled_at")}),
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Booking]:
        return super().get_queryset(request).select_related("property")

    @admin.display(description="check-in", ordering="stay")
    def check_in(self, obj: Booking) -> date:
        return obj.check_in

    @admin.display(description="check-out")
    def check_out(self, obj: Booking) -> date:
        return obj.check_out

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        refused = getattr(request, "booking_refused", None)
        if refused is not None:
            form = type(form.__name__, (form,), {"refused": refused})
        return form

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """Django's add/change page runs in one transaction; a service refusing the write
        rolls it back whole, and the page is shown again with the refusal as a form
        error. A lost lock race runs the page again (then answers busy)."""
        view = retry_on_conflict()(super().changeform_view)
        try:
            return view(request, object_id, form_url, extra_context)
        except _Refused as refused:
            request.booking_refused = refused.error  # type: ignore[attr-defined]
            return view(request, object_id, form_url, extra_context)

    def save_form(self, request: HttpRequest, form: Any, change: bool) -> Booking:
        try:
            saved: Booking = form.save()
        except BookingError as exc:
            raise _Refused(exc) from exc
        return saved

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        pass  # the form's save wrote through the services

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        pass  # a booking has no many-to-many fields or inlines

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # bookings are cancelled, never deleted: they are the business's history

    @admin.action(description="Cancel selected stays (owner cancellation: full refund)")
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[Booking]) -> None:
        done = 0
        for booking in queryset.filter(kind=Booking.Kind.STAY):
            try:
                booking_cancel_and_refund(
                    booking=booking, by_owner=True, reason="cancelled by the owner"
                )
                done += 1
            except BookingError as exc:
                self.message_user(request, f"{booking.reference}: {exc.message}", messages.WARNING)
        self.message_user(request, f"Cancelled {done} stay(s).")

    @admin.action(description="Remove selected blocks")
    def remove_selected_blocks(self, request: HttpRequest, queryset: QuerySet[Booking]) -> None:
        blocks = queryset.exclude(kind=Booking.Kind.STAY)
        for block in blocks:
            block_remove(block=block)
        self.message_user(request, f"Removed {len(blocks)} block(s).")

    # --- The month timeline -------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        custom = [
            path(
                "calendar/",
                self.admin_site.admin_view(self.calendar_view),
                name="bookings_calendar",
            )
        ]
        return custom + super().get_urls()

    def calendar_view(self, request: HttpRequest) -> HttpResponse:
        business = acting_business(request)
        if business is None and request.user.is_superuser:
            business = Business.objects.order_by("id").first()
        month = _month_param(request.GET.get("month"), business)
        last_day = calendar.monthrange(month.year, month.month)[1]
        end = month + timedelta(days=last_day)
        rows = business_timeline(business=business, start=month, end=end) if business else []
        days = [month + timedelta(days=i) for i in range(last_day)]
        grid = []
        for row in rows:
            cells = []
            for day in days:
                occupant = next((b for b in row.bookings if b.check_in <= day < b.check_out), None)
                cells.append(
                    {
                        "day": day,
                        "booking": occupant,
                        "starts": occupant is not None
                        and (occupant.check_in == day or day == month),
                    }
                )
            grid.append({"property": row.property, "cells": cells})
        context = {
            **self.admin_site.each_context(request),
            "title": f"Calendar — {month:%B %Y}",
            "days": days,
            "grid": grid,
            "month": month,
            "prev_month": (month - timedelta(days=1)).replace(day=1),
            "next_month": end,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/bookings/booking/calendar.html", context)


def _month_param(raw: str | None, business: Business | None) -> date:
    """The month asked for, or this month when it names none or one beyond the reach
    of the calendar (no stay can be there, and the grid must not leave the years)."""
    today = timezone.now().astimezone(business.tz).date() if business else timezone.localdate()
    this_month = today.replace(day=1)
    wanted = month_from_param(raw)
    reach = timedelta(days=REACH_DAYS)
    if wanted is None or not today - reach <= wanted <= today + reach:
        return this_month
    return wanted
