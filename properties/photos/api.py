"""Owner REST API for a property's photos (/api/v1/properties/<id>/photos/…).

Uploading is two calls around a direct upload to storage: request an upload (a
presigned S3 POST, or the local stand-in), POST the file there, then confirm it. Thin
views over `properties.photos` services; the business is the token's (or the session
user's), another business's property answers 404, and errors use the one JSON shape
(properties.api_errors). Writing needs `properties.manage` (properties.permissions).
"""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from properties.auth import api_scope
from properties.models import Business, Property, PropertyImage
from properties.permissions import MANAGE_PROPERTIES
from properties.photos.publishing import PhotoDetails, photos_publish
from properties.photos.selectors import (
    photo_progress,
    photos_of_property,
    photos_of_property_query,
    thumbnail,
)
from properties.photos.uploads import photo_upload_confirm, photo_upload_request
from properties.photos.validation import CONTENT_TYPES

PhotoError = inline_serializer(
    name="PhotoError",
    fields={
        "error": inline_serializer(
            name="PhotoErrorBody",
            fields={
                "code": serializers.CharField(),
                "message": serializers.CharField(),
                "fields": serializers.DictField(required=False),
            },
        )
    },
)

_DESCRIPTIONS = {
    400: "invalid_payload, photo_rejected (not a JPEG, PNG or WebP; too many pixels), "
    "photo_upload_invalid (a forged, expired or foreign token; the file has not arrived), "
    "alt_text_required",
    401: "Missing or invalid token",
    403: "Not an owner or manager, or the role does not allow editing properties",
    404: "No such property (or photo) in your business",
    413: "photo_too_large: over the size limit",
    415: "Not JSON",
}


def _errors(*codes: int) -> dict[int, OpenApiResponse]:
    return {code: OpenApiResponse(PhotoError, description=_DESCRIPTIONS[code]) for code in codes}


def _business(request: Request) -> Business:
    business: Business = request.business  # type: ignore[attr-defined]  # set by IsBusinessMember
    return business


def _property(request: Request, property_id: Any) -> Property:
    business = _business(request)
    visible = api_scope(request).properties(Property.objects.for_business(business))
    prop = visible.filter(pk=property_id).first()
    if prop is None:
        raise Http404("No such property.")
    return prop


def _validated(serializer: type[serializers.Serializer[Any]], data: Any) -> dict[str, Any]:
    payload = serializer(data=data)
    payload.is_valid(raise_exception=True)
    validated: dict[str, Any] = payload.validated_data
    return validated


class PhotoOutput(serializers.ModelSerializer[PropertyImage]):
    state_label = serializers.CharField(source="get_state_display")
    public = serializers.BooleanField(source="is_public", help_text="Ready and described")
    thumbnail_url = serializers.SerializerMethodField(
        help_text="The narrowest JPEG rendition, once ready"
    )

    class Meta:
        model = PropertyImage
        fields = (
            "id",
            "position",
            "state",
            "state_label",
            "failure_reason",
            "alt_text",
            "caption",
            "width",
            "height",
            "public",
            "thumbnail_url",
            "created_at",
        )

    def get_thumbnail_url(self, image: PropertyImage) -> str | None:
        source = thumbnail(image)
        return source.url if source else None


class ProgressOutput(serializers.Serializer[Any]):
    ready = serializers.IntegerField()
    total = serializers.IntegerField()
    failed = serializers.IntegerField()
    pending = serializers.IntegerField()
    label = serializers.CharField(help_text='"37 of 50 ready"')  # type: ignore[assignment]


def _progress(business: Business, prop: Property) -> dict[str, Any]:
    progress = photo_progress(business=business, property=prop)
    return {
        "ready": progress.ready,
        "total": progress.total,
        "failed": progress.failed,
        "pending": progress.pending,
        "label": str(progress),
    }


PhotoList = inline_serializer(
    name="PhotoList",
    fields={"progress": ProgressOutput(), "photos": PhotoOutput(many=True)},
)
PhotoPage = inline_serializer(
    name="PhotoPage",
    fields={
        "progress": ProgressOutput(),
        "count": serializers.IntegerField(),
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "photos": PhotoOutput(many=True),
    },
)


class PhotoPagination(PageNumberPagination):
    """Pages of photos, as every owner API list (`page`, `page_size` up to 500)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


def _photo_list(business: Business, prop: Property) -> dict[str, Any]:
    photos = photos_of_property(business=business, property=prop)
    return {"progress": _progress(business, prop), "photos": PhotoOutput(photos, many=True).data}


def _photo_page(request: Request, view: APIView, business: Business, prop: Property) -> Response:
    paginator = PhotoPagination()
    page = paginator.paginate_queryset(
        photos_of_property_query(business=business, property=prop), request, view=view
    )
    assert paginator.page is not None  # paginate_queryset always pages (page_size is set)
    return Response(
        {
            "progress": _progress(business, prop),
            "count": paginator.page.paginator.count,
            "next": paginator.get_next_link(),
            "previous": paginator.get_previous_link(),
            "photos": PhotoOutput(page, many=True).data,
        }
    )


class PhotoListApi(APIView):
    actions = {"GET": MANAGE_PROPERTIES, "POST": MANAGE_PROPERTIES}

    class PhotoConfirmInput(serializers.Serializer[Any]):
        token = serializers.CharField(help_text="The `token` of the upload request")
        alt_text = serializers.CharField(
            max_length=250, required=False, allow_blank=True, default=""
        )
        caption = serializers.CharField(
            max_length=200, required=False, allow_blank=True, default=""
        )

    @extend_schema(
        operation_id="v1_property_photos_list",
        summary="A property's photos and their processing state, a page at a time",
        description="`page` (from 1) and `page_size` (50 unless asked, at most 500); "
        "`progress` counts every photo of the property.",
        parameters=[
            OpenApiParameter("page", int, required=False),
            OpenApiParameter("page_size", int, required=False),
        ],
        responses={200: PhotoPage, **_errors(401, 403, 404)},
    )
    def get(self, request: Request, property_id: int) -> Response:
        prop = _property(request, property_id)
        return _photo_page(request, self, _business(request), prop)

    @extend_schema(
        operation_id="v1_property_photos_confirm",
        summary="Confirm an upload: the stored file becomes a photo, queued for processing",
        description="Call after POSTing the file to the upload request's `url`. The file "
        "is checked (size, format, pixels) and deleted if refused. Confirming the same "
        "token again returns the same photo. A photo with alt text is public once ready.",
        request=PhotoConfirmInput,
        responses={201: PhotoOutput, **_errors(400, 401, 403, 404, 413, 415)},
    )
    def post(self, request: Request, property_id: int) -> Response:
        prop = _property(request, property_id)
        data = _validated(self.PhotoConfirmInput, request.data)
        image = photo_upload_confirm(
            business=_business(request),
            property=prop,
            token=data["token"],
            alt_text=data["alt_text"],
            caption=data["caption"],
            by=request.user,
        )
        image = PropertyImage.objects.prefetch_related("renditions").get(pk=image.pk)
        return Response(PhotoOutput(image).data, status=status.HTTP_201_CREATED)


class PhotoUploadRequestApi(APIView):
    actions = {"GET": MANAGE_PROPERTIES, "POST": MANAGE_PROPERTIES}

    class PhotoUploadRequestInput(serializers.Serializer[Any]):
        filename = serializers.CharField(max_length=200)
        content_type = serializers.ChoiceField(choices=sorted(CONTENT_TYPES))
        size = serializers.IntegerField(min_value=1, help_text="Bytes")

    class PhotoUploadTicket(serializers.Serializer[Any]):
        url = serializers.URLField(help_text="POST the `fields`, then the file as `file`, here")
        fields = serializers.DictField(child=serializers.CharField())  # type: ignore[assignment]
        token = serializers.CharField(help_text="Send it back to confirm the upload")
        max_bytes = serializers.IntegerField()
        expires_at = serializers.DateTimeField()

    @extend_schema(
        operation_id="v1_property_photos_upload_request",
        summary="Request an upload: where to POST one photo's bytes",
        description="With S3 storage `url` and `fields` are a presigned POST whose policy "
        "binds the key, the content type and the size range; locally they name the app's "
        "own upload endpoint, which applies the same limits. Expires after "
        "PHOTO_UPLOAD_EXPIRY_SECONDS.",
        request=PhotoUploadRequestInput,
        responses={201: PhotoUploadTicket, **_errors(400, 401, 403, 404, 413, 415)},
    )
    def post(self, request: Request, property_id: int) -> Response:
        prop = _property(request, property_id)
        data = _validated(self.PhotoUploadRequestInput, request.data)
        ticket = photo_upload_request(
            business=_business(request),
            property=prop,
            filename=data["filename"],
            content_type=data["content_type"],
            size=data["size"],
            by=request.user,
        )
        body = {
            "url": ticket.url,
            "fields": ticket.fields,
            "token": ticket.token,
            "max_bytes": ticket.max_bytes,
            "expires_at": ticket.expires_at,
        }
        return Response(self.PhotoUploadTicket(body).data, status=status.HTTP_201_CREATED)


class PublishPhotoInput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    alt_text = serializers.CharField(max_length=250, allow_blank=True)
    caption = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class PhotoPublishApi(APIView):
    actions = {"GET": MANAGE_PROPERTIES, "POST": MANAGE_PROPERTIES}

    class PhotoPublishInput(serializers.Serializer[Any]):
        photos = PublishPhotoInput(many=True, allow_empty=False, max_length=500)  # type: ignore[call-arg]

    @extend_schema(
        operation_id="v1_property_photos_publish",
        summary="Publish photos: their alt text, captions and order",
        description="The listed photos come first, in the listed order (others keep "
        "theirs after them). Every listed photo needs alt text, or nothing is saved "
        "(alt_text_required, naming each photo in `fields`). Each is public once ready.",
        request=PhotoPublishInput,
        responses={200: PhotoList, **_errors(400, 401, 403, 404, 415)},
    )
    def post(self, request: Request, property_id: int) -> Response:
        business = _business(request)
        prop = _property(request, property_id)
        data = _validated(self.PhotoPublishInput, request.data)
        photos_publish(
            by=request.user,
            business=business,
            property=prop,
            details=[
                PhotoDetails(id=row["id"], alt_text=row["alt_text"], caption=row["caption"])
                for row in data["photos"]
            ],
        )
        return Response(_photo_list(business, prop))
