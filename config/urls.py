"""URLs of the app host: owners, the admin, the API, webhooks and iCal feeds.

Business sites (`<slug>.<base domain>`) use config.site_urls instead; the switch is
made per request by properties.middleware.BusinessHostMiddleware.
"""

from __future__ import annotations

from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_replace
from django.conf import settings
from django.conf.urls.static import static
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from config.views import favicon, healthz, readyz
from properties import views as property_views
from properties.admin_base import site as admin_site

urlpatterns = [
    path("", property_views.landing, name="landing"),
    path("onboarding/", property_views.onboarding, name="onboarding"),
    path("invite/<str:token>/", property_views.invitation_accept_page, name="invitation-accept"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin_site.urls),
    path("dashboard/", include("properties.dashboard.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI's script is served from its own URL, so no inline script is needed.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    # Redoc writes <style> elements from its script (no nonce possible) and searches in a
    # blob: worker; only this developer page allows either.
    path(
        "api/redoc/",
        csp_replace({"style-src": [SELF, UNSAFE_INLINE], "worker-src": [SELF, "blob:"]})(
            SpectacularRedocView.as_view(url_name="api-schema")
        ),
        name="api-redoc",
    ),
    path("api/v1/", include("config.api_urls")),
    path("", include("properties.photos.urls")),
    path("", include("bookings.urls")),
    path("", include("messaging.urls")),
    path("", include("integrations.urls")),
    path("favicon.ico", favicon),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
]

handler404 = "config.views.not_found"

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
