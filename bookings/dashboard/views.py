"""The bookings list, its CSV export, one booking, and the owner's actions on it."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property

from bookings.dashboard.calendar import group_choice
from bookings.dashboard.forms import BookingFilterForm, CancelForm
from bookings.dashboard.grid import describe, source_label
from bookings.dashboard.listing import rows_html
from bookings.dashboard.selectors import (
    booking_detail,
    booking_pages,
    booking_search,
    calendar_properties,
    price_lines,
    stay_actions,
)
from bookings.dashboard.slots import booking_lock_reason, booking_sections
from bookings.models import Booking
from bookings.payments.models import Refund
from bookings.payments.services.refunds import booking_cancel_and_refund
from bookings.services.blocks import block_remove
from bookings.services.cancellation import refund_quote
from properties.dashboard.access import Acting
from properties.dashboard.export import csv_cell
from properties.dashboard.views import render_page
from properties.errors import DomainError
from properties.money import format_money
from properties.permissions import MANAGE_BOOKINGS, REFUND_BEYOND_POLICY

PAGE_SIZE = 50
SEARCH_CAP = 1_000  # a text search's count goes no further (20 pages)


def detail_url(booking: Booking) -> str:
    return reverse("dashboard:booking-detail", args=[booking.reference])


def _filter_form(request: HttpRequest, acting: Acting) -> BookingFilterForm:
    """The filters, their property list that of the group chosen when the member sees
    more properties than a list can offer (a chain's 32,000 rooms)."""
    choice = group_choice(request.GET.get("group") or "", acting, default_first=False)
    chosen = choice.chosen
    if chosen is not None:
        properties = calendar_properties(
            business=acting.business,
            scope=acting.scope,
            group_id=chosen.group_id,
            ungrouped=chosen.group_id is None,
            names_only=True,
        )
    elif choice.one_at_a_time:
        properties = []  # pick a group first
    else:
        properties = calendar_properties(
            business=acting.business, scope=acting.scope, names_only=True
        )
    form = BookingFilterForm(
        request.GET or None,
        properties=properties,
        groups=[(g.value, g.name) for g in choice.groups],
    )
    form.is_valid()  # errors are shown; the valid filters still apply
    return form


class CappedPaginator(Paginator):
    """Counts no further than `cap` rows: a chain's upcoming bookings are a million, and
    counting them took longer than the page. Past the cap the page says "more than"."""

    cap = 10_000

    def __init__(self, object_list: Any, per_page: int, cap: int | None = None) -> None:
        super().__init__(object_list, per_page)
        if cap is not None:
            self.cap = cap

    @cached_property
    def count(self) -> int:
        rows = self.object_list
        if isinstance(rows, QuerySet):
            return int(rows.order_by()[: self.cap + 1].count())
        return int(rows.count())  # type: ignore[attr-defined]  # booking_pages: capped

    @property
    def capped(self) -> bool:
        return self.count > self.cap


def _search(acting: Acting, form: BookingFilterForm) -> QuerySet[Booking]:
    query, filters = form.filters()
    return booking_search(
        business=acting.business,
        today=acting.today,
        query=query,
        filters=filters,
        scope=acting.scope,
    )


def booking_list_page(request: HttpRequest, acting: Acting) -> HttpResponse:
    form = _filter_form(request, acting)
    query, filters = form.filters()
    # Matching a text, every row read is compared three times: a chain's 10,000
    # matches took 50 ms to count.
    cap = SEARCH_CAP if query.strip() else CappedPaginator.cap
    # Sliced and counted like a queryset (what Paginator asks of it).
    listed: Any = booking_pages(
        business=acting.business,
        today=acting.today,
        cap=cap,
        query=query,
        filters=filters,
        scope=acting.scope,
    )
    paginator = CappedPaginator(listed, PAGE_SIZE, cap=cap)
    page = paginator.get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "rows": rows_html(page.object_list),
        "query_string": params.urlencode(),
        "csv_url": f"{reverse('dashboard:bookings-csv')}?{params.urlencode()}",
        "filtered": any(v for k, v in request.GET.items() if k != "page"),
    }
    return render_page(request, acting, "dashboard/bookings/list.html", context)


CSV_COLUMNS = [
    "reference",
    "property",
    "type",
    "status",
    "source",
    "check_in",
    "check_out",
    "nights",
    "guest_name",
    "guest_email",
    "guest_phone",
    "guests",
    "total",
    "paid",
    "refunded",
    "currency",
    "created_at",
]


class _Echo:
    def write(self, value: str) -> str:
        return value


def booking_csv(request: HttpRequest, acting: Acting) -> StreamingHttpResponse:
    """The filtered list as CSV, streamed (a business's whole history fits)."""
    form = _filter_form(request, acting)
    rows = _search(acting, form)
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield writer.writerow(CSV_COLUMNS)
        for b in rows.iterator(chunk_size=2000):
            yield writer.writerow(
                [
                    csv_cell(v)
                    for v in (
                        b.reference,
                        b.property.name,
                        b.get_kind_display(),
                        b.get_status_display(),
                        b.get_source_display(),
                        b.check_in.isoformat(),
                        b.check_out.isoformat(),
                        b.nights,
                        b.guest_name,
                        b.guest_email,
                        b.guest_phone,
                        b.guests,
                        b.total,
                        b.amount_paid,
                        b.amount_refunded,
                        b.currency,
                        b.created_at.astimezone(acting.business.tz).strftime("%Y-%m-%d %H:%M"),
                    )
                ]
            )

    stamp = timezone.now().astimezone(acting.business.tz).strftime("%Y%m%d")
    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{acting.business.slug}-bookings-{stamp}.csv"'
    )
    return response


def booking_or_404(acting: Acting, reference: str) -> Booking:
    booking = booking_detail(business=acting.business, reference=reference, scope=acting.scope)
    if booking is None:
        raise Http404("No such booking.")
    return booking


def _can_cancel(acting: Acting, booking: Booking, locked: str) -> bool:
    return (
        acting.may(MANAGE_BOOKINGS)
        and not locked
        and not booking.is_block
        and booking.status in (Booking.Status.HELD, Booking.Status.CONFIRMED)
    )


def _can_remove_block(acting: Acting, booking: Booking, locked: str) -> bool:
    return (
        acting.may(MANAGE_BOOKINGS)
        and not locked
        and booking.is_block
        and booking.status == Booking.Status.CONFIRMED
    )


def booking_detail_page(request: HttpRequest, acting: Acting, reference: str) -> HttpResponse:
    booking = booking_or_404(acting, reference)
    sections = booking_sections(acting, booking)
    locked = booking_lock_reason(booking)
    label, _, css = describe(booking)
    manage = acting.may(MANAGE_BOOKINGS)
    actions = stay_actions(booking, locked)
    context = {
        "booking": booking,
        "label": label,
        "source": source_label(booking),
        "css": css,
        "lines": price_lines(booking),
        "payments": list(booking.payments.all()),
        "refunds": list(booking.refunds.all()),
        "balance": booking.amount_paid - booking.amount_refunded,
        "lock_reason": locked,
        "can_cancel": _can_cancel(acting, booking, locked),
        "can_remove_block": _can_remove_block(acting, booking, locked),
        "can_change_dates": manage and actions["can_change_dates"],
        "can_refund": acting.may(REFUND_BEYOND_POLICY) and actions["can_refund"],
        "can_record_payment": manage and actions["can_record_payment"],
        "refundable": actions["refundable"],
        "due": actions["due"],
        "main_sections": [s for s in sections if not s.side],
        "side_sections": [s for s in sections if s.side],
        "calendar_url": (f"{reverse('dashboard:calendar')}?month={booking.check_in:%Y-%m}"),
    }
    return render_page(request, acting, "dashboard/bookings/detail.html", context)


def _quotes(booking: Booking) -> dict[str, Decimal]:
    return {
        "full": refund_quote(booking=booking, by_owner=True),
        "policy": refund_quote(booking=booking, by_owner=False),
    }


def booking_cancel_page(request: HttpRequest, acting: Acting, reference: str) -> HttpResponse:
    """GET: what cancelling would refund, and a confirmation form. POST: cancel and
    refund through the gateway, if the amounts are still the ones shown."""
    booking = booking_or_404(acting, reference)
    locked = booking_lock_reason(booking)
    if not _can_cancel(acting, booking, locked):
        reason = locked or (
            f"{booking.reference} is {booking.get_status_display().lower()}: "
            "there is nothing to cancel."
        )
        messages.error(request, reason)
        return redirect(detail_url(booking))
    quotes = _quotes(booking)
    form = CancelForm(
        request.POST or None,
        initial={"expected_full": quotes["full"], "expected_policy": quotes["policy"]},
    )
    if not acting.may(REFUND_BEYOND_POLICY):
        form.policy_only()
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            choice = form.cleaned_data["refund"]
            seen = form.cleaned_data.get(f"expected_{choice}")
            if seen is None or Decimal(seen) != quotes[choice]:
                form = CancelForm(
                    initial={
                        "refund": choice,
                        "reason": form.cleaned_data["reason"],
                        "expected_full": quotes["full"],
                        "expected_policy": quotes["policy"],
                    }
                )
                messages.warning(
                    request,
                    "The refund changed since the page was opened. Check the amounts "
                    "and confirm again.",
                )
                status = 409
            else:
                return _cancel(request, acting, booking, by_owner=choice == "full", form=form)
    context = {
        "booking": booking,
        "form": form,
        "quotes": quotes,
        "paid": booking.amount_paid - booking.amount_refunded,
        "policy": booking.property.get_cancellation_policy_display(),
    }
    return render_page(request, acting, "dashboard/bookings/cancel.html", context, status=status)


def _cancel(
    request: HttpRequest, acting: Acting, booking: Booking, *, by_owner: bool, form: CancelForm
) -> Any:
    reason = form.cleaned_data["reason"] or (
        "Cancelled by the owner" if by_owner else "Cancelled at the guest's request"
    )
    try:
        cancelled, amount = booking_cancel_and_refund(
            booking=booking, by_owner=by_owner, by=acting.user, reason=reason
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(detail_url(booking))
    refused = cancelled.refunds.filter(status=Refund.Status.FAILED).exists()
    money = format_money(amount, cancelled.currency)
    if amount <= 0:
        messages.success(request, f"Cancelled {cancelled.reference}. Nothing was paid to refund.")
    elif refused:
        messages.error(
            request,
            f"Cancelled {cancelled.reference}, but the payment provider refused the refund of "
            f"{money}. Refund the guest from your payment provider's dashboard.",
        )
    else:
        messages.success(
            request, f"Cancelled {cancelled.reference}. {money} is on its way back to the guest."
        )
    return redirect(detail_url(cancelled))


def block_remove_page(request: HttpRequest, acting: Acting, reference: str) -> HttpResponse:
    """POST: reopen the nights of an owner block."""
    booking = booking_or_404(acting, reference)
    if request.method != "POST":
        return redirect(detail_url(booking))
    locked = booking_lock_reason(booking)
    if not _can_remove_block(acting, booking, locked):
        messages.error(request, locked or "This is not an active block.")
        return redirect(detail_url(booking))
    block_remove(block=booking)
    messages.success(
        request,
        f"Reopened {booking.property.name} from {booking.check_in:%-d %b} "
        f"to {booking.check_out:%-d %b %Y}.",
    )
    return redirect(f"{reverse('dashboard:calendar')}?month={booking.check_in:%Y-%m}")
