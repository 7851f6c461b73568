"""Reads for property photos: what a visitor may see, and how far processing is."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q, QuerySet

from properties.models import Business, Property, PropertyImage, PropertyImageRendition
from properties.permissions import Scope
from properties.photos.storage import renditions_storage

State = PropertyImage.State
Format = PropertyImageRendition.Format


@dataclass(frozen=True)
class PhotoProgress:
    ready: int
    total: int
    failed: int

    @property
    def pending(self) -> int:
        return self.total - self.ready - self.failed

    def __str__(self) -> str:
        return f"{self.ready} of {self.total} ready"


def photo_progress(*, business: Business, property: Property) -> PhotoProgress:
    """ "N of M ready" for one property (failed photos count in M: they need action)."""
    counts = PropertyImage.objects.filter(business=business, property=property).aggregate(
        total=Count("id"),
        ready=Count("id", filter=Q(state=State.READY)),
        failed=Count("id", filter=Q(state=State.FAILED)),
    )
    return PhotoProgress(ready=counts["ready"], total=counts["total"], failed=counts["failed"])


def public_photos_queryset() -> QuerySet[PropertyImage]:
    """Photos a visitor or a partner may see: processed, and described (alt text)."""
    return (
        PropertyImage.objects.filter(state=State.READY)
        .exclude(alt_text="")
        .prefetch_related("renditions")
        .order_by("position", "id")
    )


def prefetch_public_photos() -> Prefetch:
    """For property querysets: `property.public_photos`, a list, renditions included."""
    return Prefetch("images", queryset=public_photos_queryset(), to_attr="public_photos")


def photos_public(*, business: Business, property: Property) -> list[PropertyImage]:
    return list(public_photos_queryset().filter(business=business, property=property))


@dataclass(frozen=True)
class Source:
    url: str
    width: int
    height: int


def rendition_sources(image: PropertyImage, fmt: str) -> list[Source]:
    """The photo's renditions in one format, narrowest first (uses prefetched rows)."""
    storage = renditions_storage()
    rows = sorted((r for r in image.renditions.all() if r.format == fmt), key=lambda r: r.width)
    return [Source(url=storage.url(r.path), width=r.width, height=r.height) for r in rows]


def largest_jpeg(image: PropertyImage) -> Source | None:
    sources = rendition_sources(image, Format.JPEG)
    return sources[-1] if sources else None


def photos_of_property(*, business: Business, property: Property) -> list[PropertyImage]:
    """Every photo of the property, in page order, whatever its state (the owner's
    view), renditions included for thumbnails."""
    return list(photos_of_property_query(business=business, property=property))


def photos_of_property_query(*, business: Business, property: Property) -> QuerySet[PropertyImage]:
    """The same, lazy: for a page of them."""
    return (
        PropertyImage.objects.filter(business=business, property=property)
        .prefetch_related("renditions")
        .order_by("position", "id")
    )


def thumbnail(image: PropertyImage) -> Source | None:
    """The narrowest JPEG rendition (uses prefetched rows); None until processed."""
    sources = rendition_sources(image, Format.JPEG)
    return sources[0] if sources else None


@dataclass(frozen=True)
class PropertyPhotos:
    property: Property
    progress: PhotoProgress
    public: int  # ready and described: on the site now


def properties_with_photo_progress(
    *, business: Business, scope: Scope | None = None
) -> list[PropertyPhotos]:
    """Each property of the business (of the member's `scope`) with "N of M ready", in
    one query."""
    properties: QuerySet[Property] = Property.objects.for_business(business)
    if scope is not None:
        properties = scope.properties(properties)
    rows = properties.annotate(
        photos_total=Count("images", distinct=True),
        photos_ready=Count("images", filter=Q(images__state=State.READY), distinct=True),
        photos_failed=Count("images", filter=Q(images__state=State.FAILED), distinct=True),
        photos_public=Count(
            "images",
            filter=Q(images__state=State.READY) & ~Q(images__alt_text=""),
            distinct=True,
        ),
    ).order_by("name", "id")
    return [
        PropertyPhotos(
            property=row,
            progress=PhotoProgress(
                ready=row.photos_ready,
                total=row.photos_total,
                failed=row.photos_failed,
            ),
            public=row.photos_public,
        )
        for row in rows
    ]
