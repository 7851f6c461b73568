"""The visitor REST API, signed in: create a booking (a hold and its payment page), list
and read one's own bookings at this business, quote and pay an extension, quote and
cancel (docs/visitor-api.md). The browsing half, the authentication and the shared
answers are in `bookings.visitor_api`."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.utils import translation
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from bookings.api import money_field, paginated, validated
from bookings.errors import InvalidTransition
from bookings.models import Booking
from bookings.payments.services.checkout import checkout_open, checkout_start
from bookings.payments.services.extensions import extension_quote, extension_start
from bookings.payments.services.refunds import booking_cancel_and_refund
from bookings.services.cancellation import refund_quote
from bookings.site import quote_available, site_origin
from bookings.visitor_api import (
    Pagination,
    PaymentOutput,
    StayInput,
    VisitorApi,
    VisitorBookingOutput,
    own_booking,
    own_bookings,
    payment_answer,
    published_place,
    request_business,
    request_visitor,
    visitor_errors,
)


class BookingCreatedOutput(serializers.Serializer[Any]):
    booking = VisitorBookingOutput()
    payment = PaymentOutput(allow_null=True)


class BookingListApi(VisitorApi):
    class BookingCreateInput(StayInput):
        property = serializers.SlugField(help_text="The place's `slug`.")
        guest_name = serializers.CharField(max_length=150)
        guest_phone = serializers.CharField(max_length=40)
        note = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)

    @extend_schema(
        operation_id="visitor_bookings_list",
        tags=["visitor: my bookings"],
        parameters=[OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
        responses={
            200: paginated(VisitorBookingOutput, "VisitorBookingPage"),
            **visitor_errors(401, 429),
        },
        description="The signed-in visitor's stays at this site, latest arrival first.",
    )
    def get(self, request: Request) -> Response:
        rows = own_bookings(request).order_by("-stay", "-pk")
        paginator = Pagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(VisitorBookingOutput(page, many=True).data)

    @extend_schema(
        operation_id="visitor_bookings_create",
        tags=["visitor: my bookings"],
        request=BookingCreateInput,
        responses={
            201: BookingCreatedOutput,
            **visitor_errors(400, 401, 403, 404, 409, 429, 503),
        },
        description="Hold the nights for the visitor and open a payment for the total: "
        "pay at `payment.url` before `payment.expires_at`, or the nights are released. "
        "Sending the same stay again resumes the same hold and payment. A stay that "
        "costs nothing is confirmed at once (`payment` is null).",
    )
    def post(self, request: Request) -> Response:
        data = validated(self.BookingCreateInput, request.data)
        prop = published_place(request_business(request), data["property"])
        stay = {k: data[k] for k in ("check_in", "check_out", "guests")}
        # The visitor's own open checkout for this stay is resumed; its held nights must
        # not count as taken in the quote below (as on the checkout page).
        started = checkout_open(property=prop, user=request_visitor(request), **stay)
        if started is None:
            quote_available(prop, data["check_in"], data["check_out"], data["guests"])
            started = checkout_start(
                property=prop,
                user=request_visitor(request),
                guest_name=data["guest_name"],
                guest_phone=data["guest_phone"],
                note=data["note"],
                site_origin=site_origin(request._request),
                language=translation.get_language(),
                **stay,
            )
        booking = own_booking(request, started.booking.reference)
        return Response(
            {
                "booking": VisitorBookingOutput(booking).data,
                "payment": payment_answer(started.payment, booking),
            },
            status=status.HTTP_201_CREATED,
        )


class BookingDetailApi(VisitorApi):
    @extend_schema(
        operation_id="visitor_booking",
        tags=["visitor: my bookings"],
        responses={200: VisitorBookingOutput, **visitor_errors(401, 404, 429)},
    )
    def get(self, request: Request, reference: str) -> Response:
        return Response(VisitorBookingOutput(own_booking(request, reference)).data)


class ExtensionQuoteOutput(serializers.Serializer[Any]):
    check_in = serializers.DateField()
    check_out = serializers.DateField()
    nights = serializers.IntegerField()
    total = money_field(help_text="The new total of the stay.")
    difference = money_field(help_text="What the change costs now (0 or less: nothing to pay).")
    currency = serializers.CharField()


def _extension_dates(booking: Booking, data: dict[str, Any]) -> tuple[date, date]:
    return data.get("check_in") or booking.check_in, data.get("check_out") or booking.check_out


class ExtensionQuoteApi(VisitorApi):
    class ExtensionQuoteInput(serializers.Serializer[Any]):
        check_in = serializers.DateField(required=False)
        check_out = serializers.DateField(required=False)

    @extend_schema(
        operation_id="visitor_booking_extension_quote",
        tags=["visitor: my bookings"],
        parameters=[
            OpenApiParameter("check_in", date, description="New check-in (default: unchanged)"),
            OpenApiParameter("check_out", date, description="New check-out (default: unchanged)"),
        ],
        responses={200: ExtensionQuoteOutput, **visitor_errors(400, 401, 404, 409, 429)},
        description="What adding nights before or after a confirmed stay costs.",
    )
    def get(self, request: Request, reference: str) -> Response:
        booking = own_booking(request, reference)
        check_in, check_out = _extension_dates(
            booking, validated(self.ExtensionQuoteInput, request.query_params)
        )
        ext = extension_quote(booking=booking, check_in=check_in, check_out=check_out)
        return Response(
            ExtensionQuoteOutput(
                {
                    "check_in": ext.check_in,
                    "check_out": ext.check_out,
                    "nights": (ext.check_out - ext.check_in).days,
                    "total": ext.quote.total,
                    "difference": ext.difference,
                    "currency": booking.currency,
                }
            ).data
        )


class ExtendApi(VisitorApi):
    class ExtendInput(serializers.Serializer[Any]):
        check_in = serializers.DateField(required=False)
        check_out = serializers.DateField(required=False)

    @extend_schema(
        operation_id="visitor_booking_extend",
        tags=["visitor: my bookings"],
        request=ExtendInput,
        responses={200: BookingCreatedOutput, **visitor_errors(400, 401, 403, 404, 409, 429, 503)},
        description="Add nights: the extra nights are held and `payment.url` charges the "
        "difference; the dates change once it is paid. A change that costs nothing "
        "more is made at once (`payment` is null).",
    )
    def post(self, request: Request, reference: str) -> Response:
        booking = own_booking(request, reference)
        check_in, check_out = _extension_dates(booking, validated(self.ExtendInput, request.data))
        started = extension_start(
            booking=booking,
            check_in=check_in,
            check_out=check_out,
            site_origin=site_origin(request._request),
        )
        fresh = own_booking(request, reference)
        return Response(
            {
                "booking": VisitorBookingOutput(fresh).data,
                "payment": payment_answer(started.payment, fresh),
            }
        )


class CancellationQuoteOutput(serializers.Serializer[Any]):
    refund = money_field(help_text="What cancelling now pays back.")
    paid = money_field()
    currency = serializers.CharField()
    policy = serializers.CharField()


def _cancellable(booking: Booking) -> None:
    if booking.status not in (Booking.Status.HELD, Booking.Status.CONFIRMED):
        raise InvalidTransition("This booking is not active.")


class CancellationQuoteApi(VisitorApi):
    @extend_schema(
        operation_id="visitor_booking_cancellation_quote",
        tags=["visitor: my bookings"],
        responses={200: CancellationQuoteOutput, **visitor_errors(401, 404, 409, 429)},
        description="What cancelling now would pay back under the place's policy.",
    )
    def get(self, request: Request, reference: str) -> Response:
        booking = own_booking(request, reference)
        _cancellable(booking)
        return Response(
            CancellationQuoteOutput(
                {
                    "refund": refund_quote(booking=booking),
                    "paid": booking.amount_paid - booking.amount_refunded,
                    "currency": booking.currency,
                    "policy": booking.property.get_cancellation_policy_display(),
                }
            ).data
        )


class CancelApi(VisitorApi):
    @extend_schema(
        operation_id="visitor_booking_cancel",
        tags=["visitor: my bookings"],
        request=None,
        responses={
            200: inline_serializer(
                name="VisitorCancelled",
                fields={"booking": VisitorBookingOutput(), "refund": money_field()},
            ),
            **visitor_errors(401, 403, 404, 409, 429, 503),
        },
        description="Cancel under the place's policy; `refund` is on its way back.",
    )
    def post(self, request: Request, reference: str) -> Response:
        booking = own_booking(request, reference)
        _cancellable(booking)
        cancelled, refund = booking_cancel_and_refund(booking=booking)
        fresh = own_booking(request, cancelled.reference)
        return Response(
            {"booking": VisitorBookingOutput(fresh).data, "refund": str(refund or Decimal(0))}
        )
