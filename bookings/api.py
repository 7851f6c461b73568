"""The owner REST API (/api/v1/): thin views over bookings' services and selectors.

One view per action, nested Input/Output serializers. The business is the token's (or
the session user's) — never an id the client sends; another business's property or
booking answers 404 like a missing one. Errors use the one JSON shape (properties.api_errors).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.http import Http404
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bookings.models import Booking
from bookings.payments.services.refunds import booking_cancel_and_refund
from bookings.pricing import quote
from bookings.selectors import booking_get, booking_list, property_calendar
from bookings.services.blocks import block_create, block_remove
from bookings.services.stays import booking_change_dates, booking_create
from properties.auth import api_scope
from properties.models import Business, Property
from properties.permissions import MANAGE_BOOKINGS, VIEW_BOOKINGS, Scope

READ = {"GET": VIEW_BOOKINGS}
READ_WRITE = {"GET": VIEW_BOOKINGS, "POST": MANAGE_BOOKINGS, "DELETE": MANAGE_BOOKINGS}


class ErrorSerializer(serializers.Serializer[Any]):
    """{"error": {"code", "message", "fields"}} — the shape of every API error."""

    error = inline_serializer(
        name="ErrorBody",
        fields={
            "code": serializers.CharField(),
            "message": serializers.CharField(),
            "fields": serializers.DictField(required=False),
            "conflict": inline_serializer(
                name="ConflictRange",
                fields={"start": serializers.DateField(), "end": serializers.DateField()},
                required=False,
            ),
        },
    )


def error_responses(descriptions: dict[int, str], codes: tuple[int, ...]) -> dict[int, Any]:
    """The schema's error answers of a view: the one error shape, described per status."""
    return {
        code: OpenApiResponse(ErrorSerializer, description=descriptions[code]) for code in codes
    }


_ERRORS = {
    400: "Invalid input (invalid_payload, invalid_json, invalid_dates, a broken stay rule)",
    401: "Missing or invalid token",
    403: "Not an owner or manager of a business",
    404: "No such object in your business",
    409: "stay_unavailable (with the conflicting range) or invalid_state",
    415: "Not JSON",
    503: "busy: the calendar was busy; nothing was written, try again in a moment",
}


def _errors(*codes: int) -> dict[int, Any]:
    return error_responses(_ERRORS, codes)


def money_field(**kwargs: Any) -> serializers.DecimalField:
    """An amount of money in an answer or input (12 digits, 2 decimals)."""
    return serializers.DecimalField(max_digits=12, decimal_places=2, **kwargs)


def _booking_with(name: str, amount: str) -> Any:
    """The schema of an answer that gives a booking with a money amount beside it."""
    return inline_serializer(name=name, fields={"booking": BookingOutput(), amount: money_field()})


def validated(serializer: type[serializers.Serializer[Any]], data: Any) -> dict[str, Any]:
    """The input as the serializer cleans it; a ValidationError (400) names what is wrong."""
    payload = serializer(data=data)
    payload.is_valid(raise_exception=True)
    cleaned: dict[str, Any] = payload.validated_data
    return cleaned


def _business(request: Request) -> Business:
    business: Business = request.business  # type: ignore[attr-defined]  # set by IsBusinessMember
    return business


def _property(request: Request, property_id: Any) -> Property:
    """A property of the business that the member sees (another group's is a 404)."""
    try:
        pk = int(property_id)
    except (TypeError, ValueError):
        raise Http404("No such property.") from None
    props = api_scope(request).properties(Property.objects.for_business(_business(request)))
    prop = props.select_related("business").filter(pk=pk).first()
    if prop is None:
        raise Http404("No such property.")
    return prop


def _booking(request: Request, reference: str) -> Booking:
    booking = booking_get(business=_business(request), reference=reference)
    scope: Scope = api_scope(request)
    if booking is None or not scope.covers_property(booking.property_id, booking.property.group_id):
        raise Http404("No such booking.")
    return booking


# --- Output serializers -----------------------------------------------------------------


@extend_schema_field({"type": "string", "pattern": r"^\d{2}:\d{2}:\d{2}$", "example": "16:00:00"})
class LocalTimeField(serializers.TimeField):
    """A wall-clock time in the property's zone ("16:00:00"), without an offset, which
    OpenAPI's `format: time` (RFC 3339, offset required) would demand."""


class PropertyOutput(serializers.ModelSerializer[Property]):
    currency = serializers.CharField(source="business.currency")
    check_in_time = LocalTimeField()
    check_out_time = LocalTimeField()
    timezone = serializers.SerializerMethodField()

    class Meta:
        model = Property
        fields = [
            "id",
            "name",
            "slug",
            "group",
            "description",
            "address",
            "max_guests",
            "bedrooms",
            "bathrooms",
            "amenities",
            "check_in_time",
            "check_out_time",
            "timezone",
            "currency",
            "base_price",
            "cleaning_fee",
            "tax_percent",
            "min_nights",
            "max_nights",
            "advance_notice_days",
            "booking_horizon_days",
            "cancellation_policy",
            "published",
        ]

    def get_timezone(self, obj: Property) -> str:
        return obj.timezone or obj.business.timezone


class GuestSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=150, allow_blank=True, required=False, default="")
    email = serializers.EmailField(allow_blank=True, required=False, default="")
    phone = serializers.CharField(max_length=40, allow_blank=True, required=False, default="")


class StayOutput(serializers.ModelSerializer[Booking]):
    """What every answer about one stay carries, whether it goes to the owner or the guest."""

    property_name = serializers.CharField(source="property.name")
    check_in = serializers.DateField()
    check_out = serializers.DateField()
    nights = serializers.IntegerField()

    class Meta:
        model = Booking
        fields = [
            "reference",
            "property",
            "property_name",
            "status",
            "check_in",
            "check_out",
            "nights",
            "guests",
            "note",
            "total",
            "amount_paid",
            "amount_refunded",
            "currency",
            "price_breakdown",
            "hold_expires_at",
            "confirmed_at",
            "cancelled_at",
            "created_at",
        ]


class BookingOutput(StayOutput):
    guest = serializers.SerializerMethodField()

    class Meta(StayOutput.Meta):
        fields = [*StayOutput.Meta.fields, "kind", "source", "guest", "updated_at"]

    @extend_schema_field(GuestSerializer)
    def get_guest(self, obj: Booking) -> dict[str, str]:
        return {"name": obj.guest_name, "email": obj.guest_email, "phone": obj.guest_phone}


class NightOutput(serializers.Serializer[Any]):
    date = serializers.DateField()
    available = serializers.BooleanField()
    price = money_field()
    min_nights = serializers.IntegerField()


class QuoteOutput(serializers.Serializer[Any]):
    check_in = serializers.DateField()
    check_out = serializers.DateField()
    guests = serializers.IntegerField()
    currency = serializers.CharField()
    nights = serializers.ListField(child=serializers.DictField())
    lines = serializers.ListField(child=serializers.DictField())
    subtotal = money_field()
    discount = money_field()
    cleaning_fee = money_field()
    tax = money_field()
    total = money_field()


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


def paginated(item: type[serializers.Serializer[Any]], name: str) -> serializers.Serializer[Any]:
    """The schema of one page of `item`s, as DRF's page-number pagination answers it."""
    return inline_serializer(
        name=name,
        fields={
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": item(many=True),
        },
    )


# --- Properties -------------------------------------------------------------------------


class PropertyListApi(APIView):
    actions = READ

    @extend_schema(
        operation_id="v1_properties_list",
        responses={200: paginated(PropertyOutput, "PropertyPage"), **_errors(401, 403)},
    )
    def get(self, request: Request) -> Response:
        props = (
            api_scope(request)
            .properties(Property.objects.for_business(_business(request)))
            .select_related("business")
            .order_by("id")
        )
        paginator = Pagination()
        page = paginator.paginate_queryset(props, request, view=self)
        return paginator.get_paginated_response(PropertyOutput(page, many=True).data)


class PropertyDetailApi(APIView):
    actions = READ

    @extend_schema(responses={200: PropertyOutput, **_errors(401, 403, 404)})
    def get(self, request: Request, property_id: int) -> Response:
        return Response(PropertyOutput(_property(request, property_id)).data)


class PropertyAvailabilityApi(APIView):
    actions = READ

    class InputSerializer(serializers.Serializer[Any]):
        start = serializers.DateField()
        end = serializers.DateField()

    @extend_schema(
        parameters=[
            OpenApiParameter("start", date, required=True, description="First night (YYYY-MM-DD)"),
            OpenApiParameter("end", date, required=True, description="Day after the last night"),
        ],
        responses={
            200: inline_serializer(
                name="Availability",
                fields={
                    "property": serializers.IntegerField(),
                    "start": serializers.DateField(),
                    "end": serializers.DateField(),
                    "currency": serializers.CharField(),
                    "nights": NightOutput(many=True),
                },
            ),
            **_errors(400, 401, 403, 404),
        },
    )
    def get(self, request: Request, property_id: int) -> Response:
        prop = _property(request, property_id)
        data = validated(self.InputSerializer, request.query_params)
        start, end = data["start"], data["end"]
        nights = property_calendar(property=prop, start=start, end=end)
        return Response(
            {
                "property": prop.pk,
                "start": start,
                "end": end,
                "currency": prop.business.currency,
                "nights": NightOutput(nights, many=True).data,
            }
        )


class PropertyQuoteApi(APIView):
    actions = READ

    class InputSerializer(serializers.Serializer[Any]):
        check_in = serializers.DateField()
        check_out = serializers.DateField()
        guests = serializers.IntegerField(min_value=1, max_value=500)

    @extend_schema(
        parameters=[
            OpenApiParameter("check_in", date, required=True),
            OpenApiParameter("check_out", date, required=True),
            OpenApiParameter("guests", int, required=True),
        ],
        responses={200: QuoteOutput, **_errors(400, 401, 403, 404)},
        description="The price of a stay under the property's rules, or the rule it breaks.",
    )
    def get(self, request: Request, property_id: int) -> Response:
        prop = _property(request, property_id)
        data = validated(self.InputSerializer, request.query_params)
        priced = quote(prop, data["check_in"], data["check_out"], data["guests"])
        return Response(QuoteOutput(priced.as_dict()).data)


# --- Bookings ---------------------------------------------------------------------------


class BookingListApi(APIView):
    actions = READ_WRITE

    class FilterSerializer(serializers.Serializer[Any]):
        property = serializers.IntegerField(required=False, min_value=1)
        status = serializers.ChoiceField(choices=Booking.Status.choices, required=False)
        # Shadows Field.source in the stubs; it is the query parameter's name.
        source = serializers.ChoiceField(  # type: ignore[assignment]
            choices=Booking.Source.choices, required=False
        )
        kind = serializers.ChoiceField(choices=Booking.Kind.choices, required=False)
        start = serializers.DateField(required=False)
        end = serializers.DateField(required=False)

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if attrs.get("start") and attrs.get("end") and attrs["end"] <= attrs["start"]:
                raise serializers.ValidationError({"end": ["must be after start"]})
            return attrs

    class CreateSerializer(serializers.Serializer[Any]):
        property = serializers.IntegerField(min_value=1)
        check_in = serializers.DateField()
        check_out = serializers.DateField()
        guests = serializers.IntegerField(min_value=1, max_value=500)
        guest = GuestSerializer(required=False)
        total = money_field(min_value=0, required=False)
        note = serializers.CharField(max_length=2000, allow_blank=True, required=False, default="")

        class Meta:
            ref_name = "BookingCreateInput"

    @extend_schema(
        parameters=[FilterSerializer],
        operation_id="v1_bookings_list",
        responses={200: paginated(BookingOutput, "BookingPage"), **_errors(400, 401, 403)},
        description=(
            "Stays and blocks of the business; start/end select stays overlapping [start, end)."
        ),
    )
    def get(self, request: Request) -> Response:
        filters = validated(self.FilterSerializer, request.query_params)
        qs = api_scope(request).apply(booking_list(business=_business(request), filters=filters))
        paginator = Pagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(BookingOutput(page, many=True).data)

    @extend_schema(
        request=CreateSerializer,
        responses={201: BookingOutput, **_errors(400, 401, 403, 404, 409, 415, 503)},
        description=(
            "Record a confirmed stay taken outside Holidesk (phone, email). The property's "
            "stay rules apply (minimum nights, guests, notice, horizon)."
        ),
    )
    def post(self, request: Request) -> Response:
        data = validated(self.CreateSerializer, request.data)
        prop = _property(request, data["property"])
        guest = data.get("guest") or {}
        booking = booking_create(
            property=prop,
            check_in=data["check_in"],
            check_out=data["check_out"],
            guests=data["guests"],
            source=Booking.Source.API,
            guest_name=guest.get("name", ""),
            guest_email=guest.get("email", ""),
            guest_phone=guest.get("phone", ""),
            total=data.get("total"),
            note=data["note"],
            enforce_rules=True,
        )
        return Response(BookingOutput(booking).data, status=status.HTTP_201_CREATED)


class BookingDetailApi(APIView):
    actions = READ

    @extend_schema(responses={200: BookingOutput, **_errors(401, 403, 404)})
    def get(self, request: Request, reference: str) -> Response:
        return Response(BookingOutput(_booking(request, reference)).data)


class BookingCancelApi(APIView):
    actions = READ_WRITE

    @extend_schema(
        request=None,
        responses={
            200: _booking_with("Cancellation", "refund"),
            **_errors(401, 403, 404, 409),
        },
        description=(
            "Cancel a stay under the property's cancellation policy; answers the refund it implies."
        ),
    )
    def post(self, request: Request, reference: str) -> Response:
        booking = _booking(request, reference)
        cancelled, refund = booking_cancel_and_refund(
            booking=booking, reason="cancelled through the API"
        )
        return Response({"booking": BookingOutput(cancelled).data, "refund": str(refund)})


class BookingChangeDatesApi(APIView):
    actions = READ_WRITE

    class InputSerializer(serializers.Serializer[Any]):
        check_in = serializers.DateField()
        check_out = serializers.DateField()

        class Meta:
            ref_name = "DateChangeInput"

    @extend_schema(
        request=InputSerializer,
        responses={
            200: _booking_with("DateChange", "price_difference"),
            **_errors(400, 401, 403, 404, 409, 415, 503),
        },
        description=(
            "Move or extend a confirmed stay. 409 stay_unavailable names the conflicting range."
        ),
    )
    def post(self, request: Request, reference: str) -> Response:
        booking = _booking(request, reference)
        data = validated(self.InputSerializer, request.data)
        changed, difference = booking_change_dates(
            booking=booking, check_in=data["check_in"], check_out=data["check_out"]
        )
        return Response(
            {"booking": BookingOutput(changed).data, "price_difference": str(difference)}
        )


# --- Blocks -----------------------------------------------------------------------------


class BlockCreateApi(APIView):
    actions = READ_WRITE

    class InputSerializer(serializers.Serializer[Any]):
        property = serializers.IntegerField(min_value=1)
        start = serializers.DateField()
        end = serializers.DateField()
        note = serializers.CharField(max_length=2000, allow_blank=True, required=False, default="")

        class Meta:
            ref_name = "BlockCreateInput"

    @extend_schema(
        request=InputSerializer,
        responses={201: BookingOutput, **_errors(400, 401, 403, 404, 409, 415, 503)},
        description=(
            "Close nights [start, end) on a property's calendar (an owner block), from "
            "today and within the property's booking horizon."
        ),
    )
    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer, request.data)
        prop = _property(request, data["property"])
        block = block_create(
            property=prop,
            start=data["start"],
            end=data["end"],
            note=data["note"],
            enforce_rules=True,
        )
        return Response(BookingOutput(block).data, status=status.HTTP_201_CREATED)


class BlockDeleteApi(APIView):
    actions = READ_WRITE

    @extend_schema(responses={204: None, **_errors(401, 403, 404, 409)})
    def delete(self, request: Request, reference: str) -> Response:
        block = _booking(request, reference)
        block_remove(block=block)
        return Response(status=status.HTTP_204_NO_CONTENT)
