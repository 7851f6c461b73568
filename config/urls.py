"""URLs of the app host: owners, the admin, the API, webhooks and iCal feeds.

Business sites (`<slug>.<base domain>`) use config.site_urls instead; the switch is
made per request by properties.middleware.BusinessHostMiddleware.
"""

from __future__ import annotations

from django.conf import settings
from django.conf.urls.static import static
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from config.views import healthz, readyz
from properties import views as property_views
from properties.admin_base import site as admin_site

urlpatterns = [
    path("", property_views.landing, name="landing"),
    path("onboarding/", property_views.onboarding, name="onboarding"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin_site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("api/v1/", include("config.api_urls")),
    path("", include("properties.photos.urls")),
    path("", include("bookings.urls")),
    path("", include("messaging.urls")),
    path("", include("integrations.urls")),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
]

handler404 = "config.views.not_found"

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
