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
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
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
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import SAFE_METHODS, AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from bookings.api import LocalTimeField, error_responses, money_field, validated
from bookings.errors import InvalidDates, InvalidTransition
from bookings.models import Booking
from bookings.payments.models import Payment
from bookings.payments.services.checkout import checkout_open, checkout_start
from bookings.payments.services.extensions import extension_quote, extension_start
from bookings.payments.services.refunds import booking_cancel_and_refund
from bookings.pricing import Quote
from bookings.rules import RANGE_DATES, stay_span_check
from bookings.search import SORTS, search_groups, search_page, search_query_check
from bookings.selectors import property_calendar
from bookings.services.cancellation import refund_quote
from bookings.site import quote_available, site_origin
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


def _errors(*codes: int) -> dict[int, Any]:
    return error_responses(_ERRORS, codes)


def _business(request: Request) -> Business:
    return site_business(request._request)


def _visitor(request: Request) -> User:
    user = request.user
    assert isinstance(user, User)  # IsAuthenticated
    return user


def _property(business: Business, slug: str) -> Property:
    prop = property_list_published(business=business).select_related("business").filter(slug=slug)
    found = prop.first()
    if found is None:
        raise Http404("No such place.")
    return found


def _own_bookings(request: Request) -> QuerySet[Booking]:
    return (
        Booking.objects.filter(
            business=_business(request), guest_user=_visitor(request), kind=Booking.Kind.STAY
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


def _own_booking(request: Request, reference: str) -> Booking:
    booking = _own_bookings(request).filter(reference=reference.upper()).first()
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


def _payment(payment: Payment | None, booking: Booking) -> dict[str, Any] | None:
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


class VisitorBookingOutput(serializers.ModelSerializer[Booking]):
    property = serializers.CharField(source="property.slug")
    property_name = serializers.CharField(source="property.name")
    check_in = serializers.DateField()
    check_out = serializers.DateField()
    nights = serializers.IntegerField()
    pending_payment = serializers.SerializerMethodField()

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
            "guest_name",
            "guest_phone",
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
            "pending_payment",
        ]

    @extend_schema_field(PaymentOutput(allow_null=True))
    def get_pending_payment(self, obj: Booking) -> dict[str, Any] | None:
        pending = getattr(obj, "pending_payments", None)
        if pending is None:
            pending = list(obj.payments.filter(status=Payment.Status.PENDING).order_by("-pk"))
        return _payment(pending[0] if pending else None, obj)


class Pagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


def _page_of(item: Any, name: str) -> Any:
    return inline_serializer(
        name=name,
        fields={
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": item,
        },
    )


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
            200: _page_of(VisitorPropertyOutput(many=True), "VisitorPropertyPage"),
            **_errors(400, 404, 429),
        },
        description="The site's published places, by name, with their photos.",
    )
    def get(self, request: Request) -> Response:
        props = property_list_published(business=_business(request)).select_related(
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
        responses={200: VisitorPropertyOutput, **_errors(404, 429)},
    )
    def get(self, request: Request, slug: str) -> Response:
        return Response(VisitorPropertyOutput(_property(_business(request), slug)).data)


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
            **_errors(400, 404, 429),
        },
        description="Night by night: free or not, its price and the minimum stay.",
    )
    def get(self, request: Request, slug: str) -> Response:
        prop = _property(_business(request), slug)
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


class QuoteApi(PublicApi):
    @extend_schema(
        operation_id="visitor_property_quote",
        tags=["visitor: places"],
        auth=[],
        parameters=[
            OpenApiParameter("check_in", date, required=True),
            OpenApiParameter("check_out", date, required=True),
            OpenApiParameter("guests", int),
        ],
        responses={200: VisitorQuoteOutput, **_errors(400, 404, 409, 429)},
        description="The price of a stay that can be booked now, or the rule it breaks "
        "(400), or the nights already taken (409).",
    )
    def get(self, request: Request, slug: str) -> Response:
        prop = _property(_business(request), slug)
        data = validated(StayInput, request.query_params)
        priced = quote_available(prop, data["check_in"], data["check_out"], data["guests"])
        return Response(_quote(priced))


class SearchResultOutput(serializers.Serializer[Any]):
    property = VisitorPropertyOutput()
    total = money_field()
    currency = serializers.CharField()
    nights = serializers.IntegerField()
    url = serializers.CharField(help_text="The place's page with the dates kept.")


class SearchGroupOutput(serializers.Serializer[Any]):
    hotel = serializers.CharField(allow_null=True)
    hotel_id = serializers.IntegerField(allow_null=True)
    bedrooms = serializers.IntegerField()
    max_guests = serializers.IntegerField()
    free_units = serializers.IntegerField()
    lowest_total = money_field()


class SearchApi(PublicApi):
    class SearchInput(StayInput):
        bedrooms = serializers.IntegerField(min_value=0, max_value=100, default=0)
        hotel = serializers.IntegerField(min_value=1, required=False)
        sort = serializers.ChoiceField(choices=list(SORTS), default="price")
        group_by = serializers.ChoiceField(choices=["", "room_type"], default="")

    @extend_schema(
        operation_id="visitor_search",
        tags=["visitor: places"],
        auth=[],
        parameters=[
            OpenApiParameter("check_in", date, required=True),
            OpenApiParameter("check_out", date, required=True),
            OpenApiParameter("guests", int),
            OpenApiParameter("bedrooms", int, description="At least this many."),
            OpenApiParameter("hotel", int, description="Only this hotel (its `hotel_id`)."),
            OpenApiParameter("sort", str, enum=list(SORTS)),
            OpenApiParameter(
                "group_by",
                str,
                enum=["room_type"],
                description="One row per hotel and room type instead of one per place.",
            ),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int, description="At most 100."),
        ],
        responses={
            200: inline_serializer(
                name="VisitorSearchPage",
                fields={
                    "count": serializers.IntegerField(),
                    "next": serializers.CharField(allow_null=True),
                    "previous": serializers.CharField(allow_null=True),
                    "results": SearchResultOutput(many=True),
                    "groups": SearchGroupOutput(many=True, required=False),
                },
            ),
            **_errors(400, 404, 429),
        },
        description="The places free for the whole stay that the guests can book now, each "
        "with the stay's total (as checkout charges it), sorted and paginated. With "
        "`group_by=room_type`, `groups` counts the free units per hotel and room type "
        "and `results` is empty.",
    )
    def get(self, request: Request) -> Response:
        business = _business(request)
        data = validated(self.SearchInput, request.query_params)
        query = search_query_check(
            business=business,
            check_in=data["check_in"],
            check_out=data["check_out"],
            guests=data["guests"],
            bedrooms=data["bedrooms"],
            group=data.get("hotel"),
            sort=data["sort"],
        )
        if data["group_by"] == "room_type":
            groups = search_groups(business=business, search=query)
            return Response(
                {
                    "count": len(groups),
                    "next": None,
                    "previous": None,
                    "results": [],
                    "groups": SearchGroupOutput(
                        [
                            {
                                "hotel": row.group_name or None,
                                "hotel_id": row.group_id,
                                "bedrooms": row.bedrooms,
                                "max_guests": row.max_guests,
                                "free_units": row.free_units,
                                "lowest_total": row.lowest_total,
                            }
                            for row in groups
                        ],
                        many=True,
                    ).data,
                }
            )
        size = Pagination().get_page_size(request) or Pagination.page_size
        page, results = search_page(
            business=business,
            search=query,
            page=request.query_params.get("page") or 1,
            per_page=size,
        )
        stay = f"?check_in={query.check_in}&check_out={query.check_out}&guests={query.guests}"
        # One list serializer: a ModelSerializer builds its fields once per instance.
        places = VisitorPropertyOutput([r.property for r in results], many=True).data

        def link(number: int | None) -> str | None:
            if number is None:
                return None
            params = request.query_params.copy()
            params["page"] = str(number)
            return request.build_absolute_uri(f"{request.path}?{params.urlencode()}")

        return Response(
            {
                "count": page.paginator.count,
                "next": link(page.next_page_number() if page.has_next() else None),
                "previous": link(page.previous_page_number() if page.has_previous() else None),
                "results": [
                    {
                        "property": place,
                        "total": str(r.quote.total),
                        "currency": r.quote.currency,
                        "nights": r.quote.night_count,
                        "url": reverse("site-property", args=[r.property.slug]) + stay,
                    }
                    for r, place in zip(results, places, strict=True)
                ],
            }
        )


# --- The visitor's bookings --------------------------------------------------------------


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
            200: _page_of(VisitorBookingOutput(many=True), "VisitorBookingPage"),
            **_errors(401, 429),
        },
        description="The signed-in visitor's stays at this site, latest arrival first.",
    )
    def get(self, request: Request) -> Response:
        rows = _own_bookings(request).order_by("-stay", "-pk")
        paginator = Pagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(VisitorBookingOutput(page, many=True).data)

    @extend_schema(
        operation_id="visitor_bookings_create",
        tags=["visitor: my bookings"],
        request=BookingCreateInput,
        responses={
            201: BookingCreatedOutput,
            **_errors(400, 401, 403, 404, 409, 429, 503),
        },
        description="Hold the nights for the visitor and open a payment for the total: "
        "pay at `payment.url` before `payment.expires_at`, or the nights are released. "
        "Sending the same stay again resumes the same hold and payment. A stay that "
        "costs nothing is confirmed at once (`payment` is null).",
    )
    def post(self, request: Request) -> Response:
        data = validated(self.BookingCreateInput, request.data)
        prop = _property(_business(request), data["property"])
        stay = {k: data[k] for k in ("check_in", "check_out", "guests")}
        # The visitor's own open checkout for this stay is resumed; its held nights must
        # not count as taken in the quote below (as on the checkout page).
        started = checkout_open(property=prop, user=_visitor(request), **stay)
        if started is None:
            quote_available(prop, data["check_in"], data["check_out"], data["guests"])
            started = checkout_start(
                property=prop,
                user=_visitor(request),
                guest_name=data["guest_name"],
                guest_phone=data["guest_phone"],
                note=data["note"],
                site_origin=site_origin(request._request),
                **stay,
            )
        booking = _own_booking(request, started.booking.reference)
        return Response(
            {
                "booking": VisitorBookingOutput(booking).data,
                "payment": _payment(started.payment, booking),
            },
            status=status.HTTP_201_CREATED,
        )


class BookingDetailApi(VisitorApi):
    @extend_schema(
        operation_id="visitor_booking",
        tags=["visitor: my bookings"],
        responses={200: VisitorBookingOutput, **_errors(401, 404, 429)},
    )
    def get(self, request: Request, reference: str) -> Response:
        return Response(VisitorBookingOutput(_own_booking(request, reference)).data)


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
        responses={200: ExtensionQuoteOutput, **_errors(400, 401, 404, 409, 429)},
        description="What adding nights before or after a confirmed stay costs.",
    )
    def get(self, request: Request, reference: str) -> Response:
        booking = _own_booking(request, reference)
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
        responses={200: BookingCreatedOutput, **_errors(400, 401, 403, 404, 409, 429, 503)},
        description="Add nights: the extra nights are held and `payment.url` charges the "
        "difference; the dates change once it is paid. A change that costs nothing "
        "more is made at once (`payment` is null).",
    )
    def post(self, request: Request, reference: str) -> Response:
        booking = _own_booking(request, reference)
        check_in, check_out = _extension_dates(booking, validated(self.ExtendInput, request.data))
        started = extension_start(
            booking=booking,
            check_in=check_in,
            check_out=check_out,
            site_origin=site_origin(request._request),
        )
        fresh = _own_booking(request, reference)
        return Response(
            {
                "booking": VisitorBookingOutput(fresh).data,
                "payment": _payment(started.payment, fresh),
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
        responses={200: CancellationQuoteOutput, **_errors(401, 404, 409, 429)},
        description="What cancelling now would pay back under the place's policy.",
    )
    def get(self, request: Request, reference: str) -> Response:
        booking = _own_booking(request, reference)
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
            **_errors(401, 403, 404, 409, 429, 503),
        },
        description="Cancel under the place's policy; `refund` is on its way back.",
    )
    def post(self, request: Request, reference: str) -> Response:
        booking = _own_booking(request, reference)
        _cancellable(booking)
        cancelled, refund = booking_cancel_and_refund(booking=booking)
        fresh = _own_booking(request, cancelled.reference)
        return Response(
            {"booking": VisitorBookingOutput(fresh).data, "refund": str(refund or Decimal(0))}
        )
