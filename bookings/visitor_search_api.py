"""The visitor REST API's search: the free places of this business for some dates and
guests, with the stay's total, grouped by hotel and room type where the business has
hotels (bookings.search; docs/visitor-api.md)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from bookings.api import money_field, validated
from bookings.search import SORTS, search_groups, search_page, search_query_check
from bookings.visitor_api import (
    STAY_PARAMETERS,
    Pagination,
    PublicApi,
    StayInput,
    VisitorPropertyOutput,
    request_business,
    visitor_errors,
)


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
            *STAY_PARAMETERS,
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
            **visitor_errors(400, 404, 429),
        },
        description="The places free for the whole stay that the guests can book now, each "
        "with the stay's total (as checkout charges it), sorted and paginated. With "
        "`group_by=room_type`, `groups` counts the free units per hotel and room type "
        "and `results` is empty.",
    )
    def get(self, request: Request) -> Response:
        business = request_business(request)
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
