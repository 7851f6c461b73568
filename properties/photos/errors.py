"""Errors of the photo pipeline."""

from __future__ import annotations

from properties.errors import DomainError


class PhotoRejected(DomainError):
    """The file is not a photo we accept (format, size, pixels, unreadable)."""

    code = "photo_rejected"
    http_status = 400


class PhotoTooLarge(PhotoRejected):
    code = "photo_too_large"
    http_status = 413


class PhotoNotFound(DomainError):
    """A property or photo of another business: answered exactly like a missing one."""

    code = "not_found"
    http_status = 404


class PhotoUploadInvalid(DomainError):
    """A signed upload ticket that is forged, expired, or for another property."""

    code = "photo_upload_invalid"
    http_status = 400


class PhotoProcessingInterrupted(Exception):
    """Processing stopped for a reason unrelated to the file (storage or database
    unavailable): the photo is waiting again, and the task retries."""


class PhotoDetailsInvalid(DomainError):
    """Alt text or a caption the photo cannot take (too long): nothing is saved."""

    code = "invalid_payload"
    http_status = 400


class PhotoAltTextMissing(PhotoDetailsInvalid):
    """Publishing a photo that does not say what it shows: nothing is saved."""

    code = "alt_text_required"
