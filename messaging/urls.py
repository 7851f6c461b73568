"""App-host pages reached from emails: staff job links and unsubscribes."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path

from messaging import staff_jobs, views

app_patterns: list[URLPattern | URLResolver] = [
    path("staff/jobs/<str:token>/", views.staff_action, name="staff-action"),
    path("staff/my-jobs/", staff_jobs.staff_jobs_request, name="staff-jobs-request"),
    path("staff/my-jobs/<str:token>/", staff_jobs.staff_jobs, name="staff-jobs"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]

urlpatterns: list[URLPattern | URLResolver] = [
    path("m/", include((app_patterns, "messaging"), namespace="messaging")),
]
