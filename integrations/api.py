"""The partner webhook: POST /api/v1/channels/<channel_id>/events (see the API contract).

No session, no token: the channel id in the URL names the channel and the HMAC
signature proves the sender holds its secret. The raw body is read here (never parsed
by DRF: the signature covers the exact bytes). Every answer is JSON; every refusal
happens before anything is written.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView

from integrations.errors import PayloadTooLarge
from integrations.services import inbound
from integrations.services.events import MAX_BODY_BYTES


def _read_body(request: HttpRequest) -> bytes:
    limit = MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise PayloadTooLarge(f"The body is larger than {limit // 1024} KiB.")
    body = request.read(limit + 1)
    if len(body) > limit:
        raise PayloadTooLarge(f"The body is larger than {limit // 1024} KiB.")
    return body


class EventResultSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=["processed", "duplicate", "stale", "conflict"])
    booking = serializers.CharField(required=False, allow_null=True)
    conflict = serializers.CharField(required=False)


def _err(description: str) -> OpenApiResponse:
    from bookings.api import ErrorSerializer

    return OpenApiResponse(ErrorSerializer, description=description)


class ChannelEventsApi(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    def perform_content_negotiation(self, request: Any, force: bool = False) -> Any:
        # Partners get JSON whatever their Accept header says (no 406 in the contract).
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        operation_id="channel_events_create",
        summary="Receive a partner event (signed webhook)",
        description=(
            "Header `Holidesk-Signature: t=<unix seconds>,v1=<hex>` with hex = "
            'HMAC_SHA256(inbound secret, "<t>." + raw body); several v1 entries may be sent. '
            "Body: {id, type, occurred_at, data} (JSON, at most 256 KiB); types "
            "reservation.created | reservation.modified | reservation.cancelled | "
            "message.created. Idempotent per event id."
        ),
        parameters=[
            OpenApiParameter(
                "Holidesk-Signature", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True
            )
        ],
        request={"application/json": OpenApiTypes.OBJECT},
        responses={
            200: EventResultSerializer,
            400: _err("invalid_payload: malformed JSON or fields"),
            401: _err("invalid_signature: missing, wrong or expired signature"),
            404: _err("unknown_channel: no such channel (or inactive)"),
            413: _err("payload_too_large: body over 256 KiB"),
            415: _err("unsupported_media_type: not JSON"),
            422: _err("unknown_listing: listing_id not mapped to a property"),
        },
        tags=["partner channels"],
    )
    def post(self, request: Request, channel_id: str) -> JsonResponse:
        # Domain errors become the one JSON error shape in properties.api_errors.exception_handler.
        raw_request: HttpRequest = request._request
        channel = inbound.channel_for_events(channel_id)
        body = _read_body(raw_request)
        result = inbound.inbound_event_receive(
            channel=channel,
            body=body,
            content_type=raw_request.content_type or "",
            signature=raw_request.headers.get("Holidesk-Signature"),
        )
        return JsonResponse(result.as_dict())
