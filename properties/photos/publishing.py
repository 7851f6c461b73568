"""Publishing a property's photos: their alt text, captions and order, all at once.

A photo is shown publicly once it is ready and has alt text (`PropertyImage.is_public`).
Publishing is the owner saying "these photos, described like this, in this order":
`photos_publish` refuses the whole set, changing nothing, while any listed photo has no
alt text. `photos_reorder` changes only the order (the move buttons of the upload page).
The dashboard's form and the owner API both call these; the admin edits one photo at a
time through its own inline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser
from django.db import transaction

from properties.db import lock_one
from properties.models import Business, Property, PropertyImage, User
from properties.permissions import MANAGE_PROPERTIES, require
from properties.photos.errors import PhotoAltTextMissing, PhotoDetailsInvalid, PhotoNotFound
from properties.photos.services import check_property

ALT_TEXT_MAX = PropertyImage._meta.get_field("alt_text").max_length or 250
CAPTION_MAX = PropertyImage._meta.get_field("caption").max_length or 200


@dataclass(frozen=True)
class PhotoDetails:
    """What the owner wrote for one photo."""

    id: int
    alt_text: str
    caption: str = ""


def _locked_photos(
    *, business: Business, property: Property, ids: Sequence[int]
) -> list[PropertyImage]:
    """The property's photos in their current order, with the property row locked so
    that two publishers (two tabs, the page and the API) queue instead of interleaving
    positions. Raises PhotoNotFound if an id is not one of this property's photos."""
    check_property(business=business, property=property)
    lock_one(Property.objects.filter(business=business), pk=property.pk)
    photos = list(
        PropertyImage.objects.filter(business=business, property=property).order_by(
            "position", "id"
        )
    )
    known = {photo.pk for photo in photos}
    if len(set(ids)) != len(ids) or not set(ids) <= known:
        raise PhotoNotFound("No such photo of this property.")
    return photos


def _ordered(photos: list[PropertyImage], ids: Sequence[int]) -> list[PropertyImage]:
    """Listed photos first, in the listed order; the others (uploaded meanwhile, in
    another tab) after them, in their current order."""
    by_id = {photo.pk: photo for photo in photos}
    listed = [by_id[i] for i in ids]
    rest = [photo for photo in photos if photo.pk not in set(ids)]
    return listed + rest


def _save(photo: PropertyImage, fields: list[str]) -> None:
    if fields:
        # save(), not a bulk update: listing pushes follow photo saves.
        photo.save(update_fields=[*fields, "updated_at"])


def photos_publish(
    *,
    by: User | AnonymousUser,
    business: Business,
    property: Property,
    details: Sequence[PhotoDetails],
) -> list[PropertyImage]:
    """Save alt text and captions of the listed photos and put them first, in the
    listed order. Each listed photo is public once ready. Raises PhotoAltTextMissing
    (naming the photos, nothing saved) if any has no alt text."""
    check_property(business=business, property=property)
    require(by, MANAGE_PROPERTIES, business=business, obj=property)
    missing = [d.id for d in details if not d.alt_text.strip()]
    if missing:
        raise PhotoAltTextMissing(
            "Describe every photo before publishing: "
            f"{len(missing)} photo{'s have' if len(missing) > 1 else ' has'} no alt text.",
            fields={
                f"photo-{i}": ["Say what the photo shows, for visitors who cannot see it."]
                for i in missing
            },
        )
    too_long = {
        f"photo-{d.id}": [f"At most {ALT_TEXT_MAX} characters of alt text."]
        for d in details
        if len(d.alt_text.strip()) > ALT_TEXT_MAX
    } | {
        f"photo-{d.id}-caption": [f"At most {CAPTION_MAX} characters of caption."]
        for d in details
        if len(d.caption.strip()) > CAPTION_MAX
    }
    if too_long:
        raise PhotoDetailsInvalid("Some descriptions are too long.", fields=too_long)
    ids = [d.id for d in details]
    written = {d.id: d for d in details}
    with transaction.atomic():
        photos = _ordered(_locked_photos(business=business, property=property, ids=ids), ids)
        for position, photo in enumerate(photos):
            fields = []
            if photo.position != position:
                photo.position = position
                fields.append("position")
            edit = written.get(photo.pk)
            if edit is not None:
                alt_text, caption = edit.alt_text.strip(), edit.caption.strip()
                if photo.alt_text != alt_text:
                    photo.alt_text = alt_text
                    fields.append("alt_text")
                if photo.caption != caption:
                    photo.caption = caption
                    fields.append("caption")
            _save(photo, fields)
    return photos


def photos_reorder(
    *,
    by: User | AnonymousUser,
    business: Business,
    property: Property,
    order: Sequence[int],
) -> list[PropertyImage]:
    """Put the listed photos first, in that order (the rest keep theirs after them)."""
    check_property(business=business, property=property)
    require(by, MANAGE_PROPERTIES, business=business, obj=property)
    with transaction.atomic():
        photos = _ordered(_locked_photos(business=business, property=property, ids=order), order)
        for position, photo in enumerate(photos):
            if photo.position != position:
                photo.position = position
                _save(photo, ["position"])
    return photos


def photo_move(
    *,
    by: User | AnonymousUser,
    business: Business,
    property: Property,
    photo_id: int,
    step: int,
) -> list[PropertyImage]:
    """Move one photo `step` places (-1: earlier, 1: later), clamped to the ends."""
    check_property(business=business, property=property)
    require(by, MANAGE_PROPERTIES, business=business, obj=property)
    with transaction.atomic():
        photos = _locked_photos(business=business, property=property, ids=[photo_id])
        ids = [photo.pk for photo in photos]
        index = ids.index(photo_id)
        target = min(max(index + step, 0), len(ids) - 1)
        ids.insert(target, ids.pop(index))
        return photos_reorder(by=by, business=business, property=property, order=ids)
