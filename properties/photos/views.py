"""The local stand-in for S3's upload endpoint (development and tests; with S3 the
browser posts straight to the bucket). The signed token in the URL is the only
credential, as with a presigned POST, so there is no session and no CSRF token."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from properties.errors import DomainError
from properties.photos.errors import PhotoTooLarge
from properties.photos.uploads import photo_upload_receive

# Room for the multipart boundaries and the form fields around the file.
MULTIPART_OVERHEAD = 64 * 1024


def _error(exc: DomainError) -> JsonResponse:
    return JsonResponse({"error": exc.as_dict()}, status=exc.http_status)


@csrf_exempt
@require_POST
def upload_receive(request: HttpRequest, token: str) -> HttpResponse:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > settings.PHOTO_MAX_BYTES + MULTIPART_OVERHEAD:
        # Refused before the body is read.
        limit = settings.PHOTO_MAX_BYTES / (1024 * 1024)
        return _error(PhotoTooLarge(f"The upload is larger than the limit of {limit:.1f} MB."))
    try:
        photo_upload_receive(
            token=token,
            file=request.FILES.get("file"),
            content_type=request.POST.get("Content-Type", ""),
        )
    except DomainError as exc:
        return _error(exc)
    return HttpResponse(status=204)
