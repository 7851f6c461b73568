"""The photos of a property: the private originals and their public renditions
(properties.photos processes them). Models of the properties app, in their own module
(`properties.models` imports them)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Q

from properties.models import Business, BusinessQuerySet, Property

if TYPE_CHECKING:
    from django_stubs_ext.db.models.manager import RelatedManager


class PropertyImage(models.Model):
    """A photo of a property: a private original and the public renditions made from it.

    The original is never served: visitors and partners only get renditions, which are
    resized, upright and stripped of metadata (a phone photo's EXIF carries GPS). A photo
    is shown publicly once it is ready and has alt text (`is_public`).
    """

    class State(models.TextChoices):
        UPLOADED = "uploaded", "Uploaded, waiting to be processed"
        PROCESSING = "processing", "Processing"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    property = models.ForeignKey(Property, on_delete=models.CASCADE, related_name="images")
    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    # Random, so that rendition paths (public) reveal nothing and never collide.
    key = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)
    # A name in the private originals storage (STORAGES["photo_originals"]).
    original = models.CharField(max_length=255, blank=True, editable=False)
    original_bytes = models.PositiveBigIntegerField(default=0, editable=False)
    original_format = models.CharField(max_length=10, blank=True, editable=False)
    # Upright dimensions of the original (EXIF orientation applied).
    width = models.PositiveIntegerField(editable=False, default=0)
    height = models.PositiveIntegerField(editable=False, default=0)
    caption = models.CharField(max_length=200, blank=True)
    alt_text = models.CharField(
        max_length=250,
        blank=True,
        help_text="What the photo shows, for visitors who cannot see it. "
        "Required before the photo is shown on the site.",
    )
    position = models.PositiveSmallIntegerField(default=0)
    state = models.CharField(
        max_length=10, choices=State.choices, default=State.UPLOADED, editable=False
    )
    failure_reason = models.CharField(max_length=300, blank=True, editable=False)
    attempts = models.PositiveSmallIntegerField(default=0, editable=False)
    processing_started_at = models.DateTimeField(null=True, blank=True, editable=False)
    processed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Lease of the periodic sweep that re-enqueues photos whose task was lost.
    claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = BusinessQuerySet.as_manager()

    if TYPE_CHECKING:
        renditions: RelatedManager[PropertyImageRendition]

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["state", "updated_at"], name="image_state_updated")]
        constraints = [
            models.UniqueConstraint(
                fields=["original"], condition=~Q(original=""), name="image_unique_original"
            ),
            models.CheckConstraint(
                condition=~Q(state="failed") | ~Q(failure_reason=""),
                name="image_failed_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return self.caption or self.alt_text or f"Photo {self.key}"

    # A method, not a property: the `property` field shadows the builtin in this body.
    def is_public(self) -> bool:
        return self.state == self.State.READY and bool(self.alt_text.strip())


class PropertyImageRendition(models.Model):
    """One resized copy of a photo in one format, in the public media storage."""

    class Format(models.TextChoices):
        WEBP = "webp", "WebP"
        JPEG = "jpeg", "JPEG"

    image = models.ForeignKey(PropertyImage, on_delete=models.CASCADE, related_name="renditions")
    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    format = models.CharField(max_length=4, choices=Format.choices)
    path = models.CharField(max_length=255)
    bytes = models.PositiveIntegerField()

    objects = BusinessQuerySet.as_manager()

    class Meta:
        ordering = ["image", "format", "width"]
        constraints = [
            models.UniqueConstraint(
                fields=["image", "width", "format"], name="rendition_unique_size_format"
            ),
        ]

    def __str__(self) -> str:
        return self.path
