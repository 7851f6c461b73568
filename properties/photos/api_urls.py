"""Owner REST API paths of a property's photos (documented in docs/photos.md)."""

from __future__ import annotations

from django.urls import path

from properties.photos import api

urlpatterns = [
    path(
        "properties/<int:property_id>/photos/",
        api.PhotoListApi.as_view(),
        name="api-property-photos",
    ),
    path(
        "properties/<int:property_id>/photos/uploads",
        api.PhotoUploadRequestApi.as_view(),
        name="api-property-photo-uploads",
    ),
    path(
        "properties/<int:property_id>/photos/publish",
        api.PhotoPublishApi.as_view(),
        name="api-property-photos-publish",
    ),
]
