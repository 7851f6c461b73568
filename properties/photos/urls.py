"""Photo URLs of the app host."""

from __future__ import annotations

from django.urls import path

from properties.photos import views

urlpatterns = [
    path("photos/upload/<str:token>/", views.upload_receive, name="photo-upload"),
]
