"""URLs of a business's visitor site (`<slug>.<base domain>` or its custom domain)."""

from __future__ import annotations

from django.conf import settings
from django.conf.urls.static import static
from django.urls import include, path

from config.views import healthz, readyz
from properties import views as property_views

urlpatterns = [
    path("", property_views.site_home, name="site-home"),
    path("accounts/", include("allauth.urls")),
    path("", include("bookings.site_urls")),
    path("", include("messaging.site_urls")),
    path("", include("integrations.site_urls")),
    path("healthz", healthz),
    path("readyz", readyz),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
