"""The visitor REST API (`/api/v1/` on a business's host; docs/visitor-api.md).

What a visitor's app or the site's own pages need: browse, search and price places
without an account; book, list, extend and cancel their own stays once signed in
(allauth's headless API: the site's session cookie, or `X-Session-Token` for apps).

The business is the host's — never an id the client sends. A visitor sees only their
own bookings at this business: another visitor's, or another business's, answers 404
like a missing one. Views are thin: the same selectors and services as the visitor
pages (bookings.site, bookings.search, bookings.payments.services), and the one JSON
error shape (properties.api_errors). Rate-limited per client (`visitor_read` and
`visitor_write` throttle scopes).

This module holds the authentication, throttling and shared answers, and browsing
(places, availability, quotes); search is `bookings.visitor_search_api`, the visitor's
own bookings `bookings.visitor_bookings_api`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from allauth.headless.contrib.rest_framework.authentication import (
    XSessionTokenAuthentication,
)
from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.urls import reverse
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import exceptions, serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import SAFE_METHODS, AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from bookings.api import (
    LocalTimeField,
    StayOutput,
    error_responses,
    money_field,
    paginated,
    validated,
)
from bookings.errors import InvalidDates
from bookings.models import Booking
from bookings.payments.models import Payment
from bookings.pricing import Quote
from bookings.rules import RANGE_DATES, stay_span_check
from bookings.selectors import property_calendar
from bookings.site import quote_available
from properties.access import site_business
from properties.middleware import SESSION_HOST_KEY
from properties.models import Business, Property, PropertyImage, User
from properties.photos.selectors import largest_jpeg
from properties.selectors import property_list_published

# The longest range one availability answer covers (a year and a day).
MAX_AVAILABILITY_NIGHTS = 366


# --- Authentication and throttling ------------------------------------------------------


class HostSessionTokenAuthentication(XSessionTokenAuthentication):
    """allauth's app session token (`X-Session-Token`), valid only on the business host
    that issued it, like a session cookie (properties.middleware.SessionHostMiddleware)."""

    def authenticate(self, request: Any) -> tuple[Any, Any] | None:
        result = super().authenticate(request)
        if result is None:
            return None
        user, session = result
        bound = session.get(SESSION_HOST_KEY)
        if bound is not None and bound != getattr(request, "host_key", None):
            raise exceptions.AuthenticationFailed("This session belongs to another site.")
        return user, session

    def authenticate_header(self, request: Any) -> str:
        return "X-Session-Token"


class HostSessionTokenScheme(OpenApiAuthenticationExtension):
    target_class = "bookings.visitor_api.HostSessionTokenAuthentication"
    name = "sessionToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "header", "name": "X-Session-Token"}


AUTHENTICATION = [HostSessionTokenAuthentication, SessionAuthentication]


class VisitorThrottle(SimpleRateThrottle):
    """`visitor_read` for reads, `visitor_write` for anything that holds, charges or
    cancels; keyed by the signed-in user, else by the client IP."""

    scope = "visitor_read"

    def allow_request(self, request: Request, view: Any) -> bool:
        self.scope = "visitor_read" if request.method in SAFE_METHODS else "visitor_write"
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: Any) -> str:
        user = request.user
        ident = user.pk if user and user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class PublicApi(APIView):
    authentication_classes = AUTHENTICATION
    permission_classes = [AllowAny]
    throttle_classes = [VisitorThrottle]


class VisitorApi(PublicApi):
    permission_classes = [IsAuthenticated]


_ERRORS = {
    400: "Invalid input: invalid_payload, invalid_json, invalid_dates, or the stay rule "
    "broken (minimum_stay, maximum_stay, invalid_guests, advance_notice, beyond_horizon)",
    401: "not_authenticated: sign in (session) or send X-Session-Token",
    403: "permission_denied (a session request without its CSRF token)",
    404: "not_found: no such place or booking on this site",
    409: "stay_unavailable (with the taken range in `conflict`) or invalid_state",
    429: "throttled (Retry-After says when to try again), or hold_limit",
    503: "busy, or payments_unavailable: nothing was written, try again in a moment",
}


def visitor_errors(*codes: int) -> dict[int, Any]:
    return error_responses(_ERRORS, codes)


def request_business(request: Request) -> Business:
    return site_business(request._request)


def request_visitor(request: Request) -> User:
    user = request.user
    assert isinstance(user, User)  # IsAuthenticated
    return user


def published_place(business: Business, slug: str) -> Property:
    prop = property_list_published(business=business).select_related("business").filter(slug=slug)
    found = prop.first()
    if found is None:
        raise Http404("No such place.")
    return found


def own_bookings(request: Request) -> QuerySet[Booking]:
    return (
        Booking.objects.filter(
            business=request_business(request),
            guest_user=request_visitor(request),
            kind=Booking.Kind.STAY,
        )
        .select_related("property", "property__business")
        .prefetch_related(
            Prefetch(
                "payments",
                queryset=Payment.objects.filter(status=Payment.Status.PENDING).order_by("-pk"),
                to_attr="pending_payments",
            )
        )
    )


def own_booking(request: Request, reference: str) -> Booking:
    booking = own_bookings(request).filter(reference=reference.upper()).first()
    if booking is None:
        raise Http404("No such booking.")
    return booking


# --- Output -----------------------------------------------------------------------------


class PhotoOutput(serializers.Serializer[Any]):
    url = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    caption = serializers.CharField()
    alt = serializers.CharField()


def _photos(prop: Property) -> list[dict[str, Any]]:
    photos: list[PropertyImage] = getattr(prop, "public_photos", [])
    out = []
    for image in photos:
        source = largest_jpeg(image)
        if source is not None:
            out.append(
                {
                    "url": source.url,
                    "width": source.width,
                    "height": source.height,
                    "caption": image.caption,
                    "alt": image.alt_text,
                }
            )
    return out


class VisitorPropertyOutput(serializers.ModelSerializer[Property]):
    currency = serializers.CharField(source="business.currency")
    check_in_time = LocalTimeField()
    check_out_time = LocalTimeField()
    hotel = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()
    photos = serializers.SerializerMethodField()

    class Meta:
        model = Property
        fields = [
            "slug",
            "name",
            "hotel",
            "description",
            "address",
            "max_guests",
            "bedrooms",
            "bathrooms",
            "amenities",
            "check_in_time",
            "check_out_time",
            "currency",
            "base_price",
            "cleaning_fee",
            "tax_percent",
            "min_nights",
            "max_nights",
            "advance_notice_days",
            "booking_horizon_days",
            "cancellation_policy",
            "url",
            "photos",
        ]

    def get_hotel(self, obj: Property) -> str | None:
        return obj.group.name if obj.group_id and obj.group else None

    def get_url(self, obj: Property) -> str:
        return reverse("site-property", args=[obj.slug])

    @extend_schema_field(PhotoOutput(many=True))
    def get_photos(self, obj: Property) -> list[dict[str, Any]]:
        return _photos(obj)


class LineOutput(serializers.Serializer[Any]):
    label = serializers.CharField()  # type: ignore[assignment]  # a field named "label"
    amount = serializers.CharField()


class QuoteNightOutput(serializers.Serializer[Any]):
    date = serializers.DateField()
    price = serializers.CharField()
    rate = serializers.CharField()


class VisitorQuoteOutput(serializers.Serializer[Any]):
    check_in = serializers.DateField()
    check_out = serializers.DateField()
    guests = serializers.IntegerField()
    currency = serializers.CharField()
    nights = QuoteNightOutput(many=True)
    lines = LineOutput(many=True)
    subtotal = money_field()
    discount = money_field()
    cleaning_fee = money_field()
    tax = money_field()
    total = money_field()


def _quote(priced: Quote) -> dict[str, Any]:
    return dict(VisitorQuoteOutput(priced.as_dict()).data)


class PaymentOutput(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=Payment.Kind.choices)
    amount = money_field()
    currency = serializers.CharField()
    url = serializers.CharField(help_text="The gateway's payment page: open it to pay.")
    expires_at = serializers.DateTimeField(allow_null=True)


def payment_answer(payment: Payment | None, booking: Booking) -> dict[str, Any] | None:
    if payment is None or not payment.checkout_url:
        return None
    return dict(
        PaymentOutput(
            {
                "kind": payment.kind,
                "amount": payment.amount,
                "currency": booking.currency,
                "url": payment.checkout_url,
                "expires_at": booking.hold_expires_at
                if payment.kind == Payment.Kind.STAY
                else None,
            }
        ).data
    )


class VisitorBookingOutput(StayOutput):
    property = serializers.CharField(source="property.slug")
    pending_payment = serializers.SerializerMethodField()

    class Meta(StayOutput.Meta):
        fields = [*StayOutput.Meta.fields, "guest_name", "guest_phone", "pending_payment"]

    @extend_schema_field(PaymentOutput(allow_null=True))
    def get_pending_payment(self, obj: Booking) -> dict[str, Any] | None:
        pending = getattr(obj, "pending_payments", None)
        if pending is None:
            pending = list(obj.payments.filter(status=Payment.Status.PENDING).order_by("-pk"))
        return payment_answer(pending[0] if pending else None, obj)


class Pagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


# --- Places, availability, quotes, search -------------------------------------------------


class PropertyListApi(PublicApi):
    @extend_schema(
        operation_id="visitor_properties_list",
        tags=["visitor: places"],
        auth=[],
        parameters=[
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int, description="At most 100."),
        ],
        responses={
            200: paginated(VisitorPropertyOutput, "VisitorPropertyPage"),
            **visitor_errors(400, 404, 429),
        },
        description="The site's published places, by name, with their photos.",
    )
    def get(self, request: Request) -> Response:
        props = property_list_published(business=request_business(request)).select_related(
            "business", "group"
        )
        paginator = Pagination()
        page = paginator.paginate_queryset(props, request, view=self)
        return paginator.get_paginated_response(VisitorPropertyOutput(page, many=True).data)


class PropertyDetailApi(PublicApi):
    @extend_schema(
        operation_id="visitor_property",
        tags=["visitor: places"],
        auth=[],
        responses={200: VisitorPropertyOutput, **visitor_errors(404, 429)},
    )
    def get(self, request: Request, slug: str) -> Response:
        return Response(
            VisitorPropertyOutput(published_place(request_business(request), slug)).data
        )


class AvailabilityNightOutput(serializers.Serializer[Any]):
    date = serializers.DateField()
    available = serializers.BooleanField()
    price = money_field()
    min_nights = serializers.IntegerField(help_text="Minimum stay for an arrival on this day.")


class AvailabilityApi(PublicApi):
    class AvailabilityInput(serializers.Serializer[Any]):
        start = serializers.DateField()
        end = serializers.DateField()

    @extend_schema(
        operation_id="visitor_property_availability",
        tags=["visitor: places"],
        auth=[],
        parameters=[
            OpenApiParameter("start", date, required=True, description="First night"),
            OpenApiParameter(
                "end", date, required=True, description="Day after the last night (at most 366)"
            ),
        ],
        responses={
            200: inline_serializer(
                name="VisitorAvailability",
                fields={
                    "property": serializers.CharField(),
                    "start": serializers.DateField(),
                    "end": serializers.DateField(),
                    "currency": serializers.CharField(),
                    "nights": AvailabilityNightOutput(many=True),
                },
            ),
            **visitor_errors(400, 404, 429),
        },
        description="Night by night: free or not, its price and the minimum stay.",
    )
    def get(self, request: Request, slug: str) -> Response:
        prop = published_place(request_business(request), slug)
        data = validated(self.AvailabilityInput, request.query_params)
        start, end = data["start"], data["end"]
        stay_span_check(check_in=start, check_out=end, today=prop.local_today(), names=RANGE_DATES)
        if (end - start).days > MAX_AVAILABILITY_NIGHTS:
            raise InvalidDates(
                f"Ask for at most {MAX_AVAILABILITY_NIGHTS} nights at once.",
                fields={"end": [f"at most {MAX_AVAILABILITY_NIGHTS} nights after start"]},
            )
        nights = property_calendar(property=prop, start=start, end=end)
        return Response(
            {
                "property": prop.slug,
                "start": start,
                "end": end,
                "currency": prop.business.currency,
                "nights": AvailabilityNightOutput(nights, many=True).data,
            }
        )


class StayInput(serializers.Serializer[Any]):
    check_in = serializers.DateField()
    check_out = serializers.DateField()
    guests = serializers.IntegerField(min_value=1, max_value=500, default=1)


#: The query parameters of `StayInput`, for the schema.
STAY_PARAMETERS = [
    OpenApiParameter("check_in", date, required=True),
    OpenApiParameter("check_out", date, required=True),
    OpenApiParameter("guests", int),
]


class QuoteApi(PublicApi):
    @extend_schema(
        operation_id="visitor_property_quote",
        tags=["visitor: places"],
        auth=[],
        parameters=STAY_PARAMETERS,
        responses={200: VisitorQuoteOutput, **visitor_errors(400, 404, 409, 429)},
        description="The price of a stay that can be booked now, or the rule it breaks "
        "(400), or the nights already taken (409).",
    )
    def get(self, request: Request, slug: str) -> Response:
        prop = published_place(request_business(request), slug)
        data = validated(StayInput, request.query_params)
        priced = quote_available(prop, data["check_in"], data["check_out"], data["guests"])
        return Response(_quote(priced))
