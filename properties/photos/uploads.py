"""Uploads that go straight to storage, not through the app: "request an upload"
then "confirm the upload".

1. `photo_upload_request` checks the declared name, size and type, picks the private
   name the original will have, and returns where to POST it: an S3 presigned POST
   whose policy binds the key, the content type and the byte range (S3 refuses
   anything else), or, with local storage, a signed URL of `photo_upload_receive`,
   which applies the same limits. The ticket's `token` is signed: it names the
   business, the property and the key, so a client can neither pick where its file
   goes nor confirm someone else's.
2. `photo_upload_confirm` checks the stored object's size and header (the same
   `photo_inspect` as every other door), creates the photo and queues processing.
   A refused file is deleted. Confirming twice returns the same photo.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core import signing
from django.core.files.base import File
from django.db import IntegrityError
from django.urls import reverse
from django.utils import timezone

from properties.models import Business, Property, PropertyImage, User
from properties.permissions import MANAGE_PROPERTIES, require
from properties.photos.errors import PhotoRejected, PhotoTooLarge, PhotoUploadInvalid
from properties.photos.services import check_property, photo_create
from properties.photos.storage import original_name, originals_storage
from properties.photos.validation import CONTENT_TYPES, FORMATS, check_declared, photo_inspect
from properties.urls_util import app_url

SALT = "holidesk.photos.upload"
# A confirmation may come a while after the upload (a slow connection, a retry).
CONFIRM_GRACE = timedelta(hours=1)


@dataclass(frozen=True)
class UploadTicket:
    url: str  # POST the form fields, then the file as `file`, here
    fields: dict[str, str]
    token: str  # give it back to photo_upload_confirm
    max_bytes: int
    expires_at: datetime


@dataclass(frozen=True)
class UploadClaim:
    business_id: int
    property_id: int
    key: uuid.UUID
    content_type: str
    filename: str

    @property
    def name(self) -> str:
        """The original's name in the originals storage."""
        extension = FORMATS[CONTENT_TYPES[self.content_type]][1]
        return original_name(business_id=self.business_id, key=self.key, extension=extension)


def read_claim(data: dict[str, Any]) -> UploadClaim:
    content_type = str(data["ct"])
    if content_type not in CONTENT_TYPES:
        raise ValueError(content_type)
    return UploadClaim(
        business_id=int(data["b"]),
        property_id=int(data["p"]),
        key=uuid.UUID(hex=str(data["k"])),
        content_type=content_type,
        filename=str(data["f"]),
    )


def _is_s3(storage: Any) -> bool:
    from storages.backends.s3 import S3Storage

    return isinstance(storage, S3Storage)


def photo_upload_request(
    *,
    business: Business,
    property: Property,
    filename: str,
    content_type: str,
    size: int,
    by: User | AnonymousUser | None = None,
) -> UploadTicket:
    """Where and how to upload one photo; raises PhotoRejected for a declared size or
    type we would refuse anyway. `by`: the member asking (the dashboard, the API)."""
    check_property(business=business, property=property)
    if by is not None:
        require(by, MANAGE_PROPERTIES, business=business, obj=property)
    filename = (filename or "photo")[:200]
    check_declared(name=filename, size=size, content_type=content_type)
    key = uuid.uuid4()
    claim = {"b": business.pk, "p": property.pk, "k": key.hex, "ct": content_type, "f": filename}
    name = read_claim(claim).name
    token = signing.dumps(claim, salt=SALT, compress=True)
    expiry = settings.PHOTO_UPLOAD_EXPIRY_SECONDS
    max_bytes = settings.PHOTO_MAX_BYTES
    storage: Any = originals_storage()
    if _is_s3(storage):
        # The policy is what S3 enforces: exactly this key, this content type, and at
        # most max_bytes, until it expires.
        location = storage.location.strip("/")
        post = storage.connection.meta.client.generate_presigned_post(
            Bucket=storage.bucket_name,
            Key=f"{location}/{name}" if location else name,
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
            ExpiresIn=expiry,
        )
        url, fields = post["url"], dict(post["fields"])
    else:
        url = app_url(reverse("photo-upload", args=[token]))
        fields = {"Content-Type": content_type}
    return UploadTicket(
        url=url,
        fields=fields,
        token=token,
        max_bytes=max_bytes,
        expires_at=timezone.now() + timedelta(seconds=expiry),
    )


def read_ticket(token: str, *, max_age: int) -> UploadClaim:
    try:
        return read_claim(signing.loads(token, salt=SALT, max_age=max_age))
    except signing.SignatureExpired:
        raise PhotoUploadInvalid("This upload link has expired; ask for a new one.") from None
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise PhotoUploadInvalid("This upload link is not valid.") from None


def photo_upload_receive(*, token: str, file: IO[bytes] | None, content_type: str) -> None:
    """The local stand-in for S3's POST: the same limits as the presigned policy."""
    if _is_s3(originals_storage()):
        raise PhotoUploadInvalid("Uploads go to the storage service, not here.")
    claim = read_ticket(token, max_age=settings.PHOTO_UPLOAD_EXPIRY_SECONDS)
    if content_type != claim.content_type:
        raise PhotoUploadInvalid(
            "The content type differs from the one this upload was signed for.",
            fields={"Content-Type": [f"Expected {claim.content_type}."]},
        )
    if file is None:
        raise PhotoRejected("No file was sent.", fields={"file": ["Send the photo as `file`."]})
    size = getattr(file, "size", None)
    check_declared(name=claim.filename, size=size if isinstance(size, int) else 0)
    storage = originals_storage()
    if storage.exists(claim.name):
        raise PhotoUploadInvalid("This upload was already received.")
    storage.save(claim.name, File(file, name=claim.name))


def photo_upload_confirm(
    *,
    business: Business,
    property: Property,
    token: str,
    alt_text: str = "",
    caption: str = "",
    by: User | AnonymousUser | None = None,
) -> PropertyImage:
    """The uploaded file becomes a photo, queued for processing; raises PhotoRejected
    (and deletes the file) if it is not one we accept."""
    check_property(business=business, property=property)
    if by is not None:
        require(by, MANAGE_PROPERTIES, business=business, obj=property)
    max_age = settings.PHOTO_UPLOAD_EXPIRY_SECONDS + int(CONFIRM_GRACE.total_seconds())
    claim = read_ticket(token, max_age=max_age)
    if claim.business_id != business.pk or claim.property_id != property.pk:
        raise PhotoUploadInvalid("This upload belongs to another property.")
    existing = PropertyImage.objects.filter(business=business, original=claim.name).first()
    if existing is not None:
        return existing
    storage = originals_storage()
    if not storage.exists(claim.name):
        raise PhotoUploadInvalid("The file has not arrived; upload it, then confirm.")
    try:
        check_declared(name=claim.filename, size=storage.size(claim.name))
        with storage.open(claim.name, "rb") as stored:
            header = photo_inspect(stored, name=claim.filename)
    except (PhotoRejected, PhotoTooLarge):
        storage.delete(claim.name)
        raise
    try:
        return photo_create(
            business=business,
            property=property,
            original=claim.name,
            header=header,
            alt_text=alt_text,
            caption=caption,
            key=claim.key,
        )
    except IntegrityError:
        # Confirmed twice at once: the other confirmation created it.
        return PropertyImage.objects.get(business=business, original=claim.name)
