"""The iCal export feed, on the app host: GET /ical/<token>.ics."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from integrations.services import ical


@require_GET
def ical_feed(request: HttpRequest, token: str) -> HttpResponse:
    prop = ical.ical_property_for_token(token)
    if prop is None:
        raise Http404("No such calendar.")
    body = ical.ical_export(property=prop, platform=request.GET.get("platform", ""))
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{prop.slug}.ics"'
    response["Cache-Control"] = "private, max-age=300"
    return response
