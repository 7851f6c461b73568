"""URLs of a business's visitor site (`<slug>.<base domain>` or its custom domain)."""

from __future__ import annotations

from django.conf import settings
from django.conf.urls.static import static
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config.views import favicon, healthz, readyz
from properties import views as property_views

VISITOR_API_DESCRIPTION = (
    "Browse, search and price a business's places without an account; book, list, "
    "extend and cancel your own stays once signed in. Served on each business's host "
    "(`https://<business>.holidesk.app/api/v1/` or its custom domain). Sign up and in "
    "with allauth's headless API on the same host (`/_allauth/app/v1/` for apps: send "
    "the returned session token as `X-Session-Token`; `/_allauth/browser/v1/` for the "
    "site's own pages: session cookie and CSRF token). Errors: "
    '`{"error": {"code", "message", "fields"}}`.'
)

urlpatterns = [
    path("", property_views.site_home, name="site-home"),
    path("accounts/", include("allauth.urls")),
    # Sign-up and sign-in for the visitor API (allauth's headless API).
    path("_allauth/", include("allauth.headless.urls")),
    # The visitor API and its OpenAPI schema (docs/visitor-api.md).
    path("api/v1/", include("bookings.visitor_api_urls")),
    path(
        "api/schema/",
        SpectacularAPIView.as_view(
            urlconf="config.visitor_api_urls",
            custom_settings={
                "TITLE": "Holidesk visitor API",
                "DESCRIPTION": VISITOR_API_DESCRIPTION,
                "VERSION": "1.0.0",
                "SCHEMA_PATH_PREFIX": "/api/v1",
            },
        ),
        name="visitor-api-schema",
    ),
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="visitor-api-schema"),
        name="visitor-api-docs",
    ),
    path("", include("bookings.site_urls")),
    path("", include("messaging.site_urls")),
    path("", include("integrations.site_urls")),
    path("favicon.ico", favicon),
    path("healthz", healthz),
    path("readyz", readyz),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
