"""`{% photo image sizes="..." %}`: a responsive <picture> of a processed photo."""

from __future__ import annotations

from typing import Any

from django import template

from properties.models import PropertyImage, PropertyImageRendition
from properties.photos.selectors import rendition_sources

register = template.Library()
Format = PropertyImageRendition.Format

# The fallback <img src>: the rendition nearest this width (old browsers, crawlers).
FALLBACK_WIDTH = 640


def _srcset(sources: list[Any]) -> str:
    return ", ".join(f"{s.url} {s.width}w" for s in sources)


@register.inclusion_tag("site/photos/_picture.html")
def photo(
    image: PropertyImage,
    sizes: str = "100vw",
    css_class: str = "",
    loading: str = "lazy",
) -> dict[str, Any]:
    webp = rendition_sources(image, Format.WEBP)
    jpeg = rendition_sources(image, Format.JPEG)
    fallback = min(jpeg, key=lambda s: abs(s.width - FALLBACK_WIDTH)) if jpeg else None
    return {
        "image": image,
        "sizes": sizes,
        "css_class": css_class,
        "loading": loading,
        "webp_srcset": _srcset(webp),
        "jpeg_srcset": _srcset(jpeg),
        "fallback": fallback,
    }
