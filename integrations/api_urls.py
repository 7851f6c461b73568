"""Partner endpoints under /api/v1/ (see the API contract)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from integrations import api

urlpatterns: list[URLPattern | URLResolver] = [
    path(
        "channels/<str:channel_id>/events",
        api.ChannelEventsApi.as_view(),
        name="api-channel-events",
    ),
]
