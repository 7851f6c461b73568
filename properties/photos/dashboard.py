"""The owner dashboard's photo pages: the property list, and one property's photos
(upload, describe, order, publish).

With JavaScript (static/js/dashboard-photos.js) files go straight to storage through
the owner API's request/confirm pair, each with its own progress bar, and photos are
reordered by dragging. Without it, the same page is plain forms: a multipart upload
(through `photo_add`, the same validation), move buttons, and one Publish button.
Every write goes through `properties.photos` services; pages only shape input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from properties.dashboard.access import Acting
from properties.dashboard.text import plural
from properties.dashboard.views import render_page
from properties.models import Property, PropertyImage
from properties.permissions import MANAGE_PROPERTIES
from properties.photos.errors import PhotoDetailsInvalid, PhotoNotFound, PhotoRejected
from properties.photos.publishing import (
    ALT_TEXT_MAX,
    CAPTION_MAX,
    PhotoDetails,
    photo_move,
    photos_publish,
)
from properties.photos.selectors import (
    photo_progress,
    photos_of_property,
    properties_with_photo_progress,
    thumbnail,
)
from properties.photos.services import photo_add, photo_delete, photo_reprocess
from properties.photos.validation import CONTENT_TYPES

State = PropertyImage.State
# Badge tone and words for each state: the words carry the meaning, colour only helps.
STATE_BADGES = {
    State.UPLOADED: ("Uploaded", "neutral"),
    State.PROCESSING: ("Processing", "info"),
    State.READY: ("Ready", "ok"),
    State.FAILED: ("Failed", "bad"),
}


def properties_page(request: HttpRequest, acting: Acting) -> HttpResponse:
    rows = properties_with_photo_progress(business=acting.business, scope=acting.scope)
    context = {"rows": rows, "can_edit": acting.may(MANAGE_PROPERTIES)}
    return render_page(request, acting, "dashboard/properties/list.html", context)


@dataclass(frozen=True)
class PhotoRow:
    photo: PropertyImage
    number: int
    alt_text: str
    caption: str
    badge: str
    tone: str
    thumbnail_url: str
    alt_error: str = ""
    caption_error: str = ""


def _rows(
    photos: list[PropertyImage],
    submitted: dict[str, Any] | None = None,
    errors: dict[str, list[str]] | None = None,
) -> list[PhotoRow]:
    """Rows of the photo list; `submitted` keeps what the owner typed but did not
    publish yet (after a move or a refused publish)."""
    submitted, errors = submitted or {}, errors or {}
    rows = []
    for number, photo in enumerate(photos, start=1):
        badge, tone = STATE_BADGES[State(photo.state)]
        source = thumbnail(photo)
        rows.append(
            PhotoRow(
                photo=photo,
                number=number,
                alt_text=submitted.get(f"alt-{photo.pk}", photo.alt_text),
                caption=submitted.get(f"caption-{photo.pk}", photo.caption),
                badge=badge,
                tone=tone,
                thumbnail_url=source.url if source else "",
                alt_error=" ".join(errors.get(f"photo-{photo.pk}", [])),
                caption_error=" ".join(errors.get(f"photo-{photo.pk}-caption", [])),
            )
        )
    return rows


def _property(acting: Acting, property_id: int) -> Property:
    prop = acting.properties().filter(pk=property_id).first()
    if prop is None:
        raise Http404("No such property.")
    return prop


def _photo(acting: Acting, prop: Property, value: str) -> PropertyImage:
    image = (
        PropertyImage.objects.filter(business=acting.business, property=prop)
        .filter(pk=_ids([value])[0])
        .first()
    )
    if image is None:
        raise Http404("No such photo.")
    return image


def _ids(values: list[str]) -> list[int]:
    try:
        return [int(value) for value in values]
    except ValueError:
        raise Http404("No such photo.") from None


def photos_page(request: HttpRequest, acting: Acting, property_id: int) -> HttpResponse:
    prop = _property(acting, property_id)
    status = 200
    submitted: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    upload_errors: list[str] = []
    publish_error = ""
    # The order on the page, kept when the page comes back without saving it (a refused
    # publish, a delete after reordering by dragging).
    page_order: list[int] = []
    if request.method == "POST":
        post = request.POST
        submitted = {k: v for k, v in post.items() if k.startswith(("alt-", "caption-"))}
        try:
            if "move" in post:
                photo_id, _, direction = post["move"].partition(":")
                photo_move(
                    by=acting.user,
                    business=acting.business,
                    property=prop,
                    photo_id=_ids([photo_id])[0],
                    step=-1 if direction == "up" else 1,
                )
            elif "delete" in post:
                photo_delete(image=_photo(acting, prop, post["delete"]), by=acting.user)
                messages.success(request, "Photo deleted.")
                page_order = _ids(post.getlist("order"))
            elif "retry" in post:
                photo_reprocess(image=_photo(acting, prop, post["retry"]), by=acting.user)
                messages.success(request, "The photo is being processed again.")
                page_order = _ids(post.getlist("order"))
            elif post.get("action") == "upload":
                uploaded, upload_errors = _upload(request, acting, prop)
                if uploaded:
                    messages.success(
                        request,
                        f"{plural(uploaded, 'photo')} uploaded; processing has started. "
                        "Describe them, then publish.",
                    )
                if not upload_errors:
                    return redirect("dashboard:property-photos", property_id=prop.pk)
                status = 400
            elif post.get("action") == "publish":
                ids = page_order = _ids(post.getlist("order"))
                published = photos_publish(
                    by=acting.user,
                    business=acting.business,
                    property=prop,
                    details=[
                        PhotoDetails(
                            id=i,
                            alt_text=post.get(f"alt-{i}", ""),
                            caption=post.get(f"caption-{i}", ""),
                        )
                        for i in ids
                    ],
                )
                shown = sum(1 for photo in published if photo.is_public())
                messages.success(
                    request,
                    f"Published. {plural(shown, 'photo')} on your site now; "
                    "the others join as soon as they are ready.",
                )
                return redirect("dashboard:property-photos", property_id=prop.pk)
            else:
                status = 400
        except PhotoNotFound:
            raise Http404("No such photo.") from None
        except PhotoDetailsInvalid as exc:
            status, errors, publish_error = 400, exc.fields, exc.message
    photos = photos_of_property(business=acting.business, property=prop)
    if page_order:
        rank = {photo_id: index for index, photo_id in enumerate(page_order)}
        photos.sort(key=lambda photo: rank.get(photo.pk, len(rank)))
    progress = photo_progress(business=acting.business, property=prop)
    api_base = reverse("api-property-photos", args=[prop.pk])
    context = {
        "property": prop,
        "rows": _rows(photos, submitted, errors),
        "progress": progress,
        "public_count": sum(1 for photo in photos if photo.is_public()),
        "upload_errors": upload_errors,
        "publish_error": publish_error,
        "accept": ",".join(sorted(CONTENT_TYPES)),
        "max_mb": settings.PHOTO_MAX_BYTES // (1024 * 1024),
        "max_bytes": settings.PHOTO_MAX_BYTES,
        "alt_max": ALT_TEXT_MAX,
        "caption_max": CAPTION_MAX,
        "api_list_url": api_base,
        "api_request_url": reverse("api-property-photo-uploads", args=[prop.pk]),
    }
    return render_page(request, acting, "dashboard/properties/photos.html", context, status=status)


def _upload(request: HttpRequest, acting: Acting, prop: Property) -> tuple[int, list[str]]:
    """The page's form without JavaScript: each file through `photo_add`. A refused
    file is named and stores nothing; the others are kept."""
    files = request.FILES.getlist("photos")
    if not files:
        return 0, ["Choose one or more photos to upload."]
    uploaded, refused = 0, []
    for file in files:
        name = file.name or "photo"
        try:
            photo_add(business=acting.business, property=prop, file=file, name=name, by=acting.user)
        except PhotoRejected as exc:
            refused.append(exc.message)
        else:
            uploaded += 1
    return uploaded, refused
