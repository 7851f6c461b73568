"""Photos for the demo properties (`manage.py seed_demo`).

Provenance: every picture is generated here with Pillow (gradients and shapes in the
business's colour, with the property's name); no external image is used. They go
through the real pipeline: `photo_add` (validation, private original) and
`photo_process` (renditions), run synchronously so the demo sites show them at once.
Idempotent: a property that already has a scene's photo is left alone.
"""

from __future__ import annotations

import hashlib
import io
import random
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image, ImageColor, ImageDraw, ImageFont, ImageOps

from properties.models import Property, PropertyImage
from properties.photos.processing import photo_process
from properties.photos.services import photo_add

WIDTH, HEIGHT = 1600, 1067  # the drawing's coordinates
# What is saved: wide enough for every rendition but the largest, and a quicker seed.
OUTPUT_SIZE = (1280, 854)
RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Scene:
    caption: str
    alt: str  # {name} is the property's name
    paint: Callable[[ImageDraw.ImageDraw, RGB, random.Random], None]


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


def _gradient(top: RGB, bottom: RGB) -> Image.Image:
    ramp = Image.linear_gradient("L").resize((WIDTH, HEIGHT))
    return ImageOps.colorize(ramp, black=top, white=bottom).convert("RGB")


def _outside(draw: ImageDraw.ImageDraw, accent: RGB, rng: random.Random) -> None:
    sun_x = rng.randint(200, WIDTH - 300)
    draw.ellipse((sun_x, 120, sun_x + 150, 270), fill=(255, 214, 120))
    for _ in range(4):
        x, y = rng.randint(0, WIDTH - 300), rng.randint(60, 320)
        draw.ellipse((x, y, x + rng.randint(180, 320), y + 60), fill=(255, 255, 255))
    draw.polygon(
        [(0, 700), (400, 560), (900, 660), (1300, 540), (WIDTH, 640), (WIDTH, HEIGHT), (0, HEIGHT)],
        fill=_mix(accent, (60, 120, 60), 0.6),
    )
    wall, roof = (245, 240, 228), _mix(accent, (0, 0, 0), 0.25)
    draw.rectangle((560, 560, 1040, 860), fill=wall)
    draw.polygon([(520, 570), (800, 380), (1080, 570)], fill=roof)
    draw.rectangle((760, 700, 840, 860), fill=accent)
    for x in (610, 900):
        draw.rectangle((x, 620, x + 90, 690), fill=(170, 210, 235), outline=roof, width=6)


def _living_room(draw: ImageDraw.ImageDraw, accent: RGB, rng: random.Random) -> None:
    draw.rectangle((0, 760, WIDTH, HEIGHT), fill=(196, 160, 120))
    draw.rectangle((980, 180, 1420, 560), fill=(175, 215, 240), outline=(255, 255, 255), width=18)
    draw.line((1200, 180, 1200, 560), fill=(255, 255, 255), width=10)
    draw.rounded_rectangle((180, 560, 860, 800), radius=40, fill=accent)
    draw.rounded_rectangle((220, 480, 820, 620), radius=40, fill=_mix(accent, (255, 255, 255), 0.2))
    for x in (260, 470):
        draw.rounded_rectangle((x, 520, x + 150, 600), radius=24, fill=(250, 236, 200))
    lamp_x = rng.randint(900, 960)
    draw.line((lamp_x, 420, lamp_x, 780), fill=(60, 60, 60), width=8)
    draw.polygon(
        [(lamp_x - 70, 420), (lamp_x + 70, 420), (lamp_x + 40, 340), (lamp_x - 40, 340)],
        fill=(250, 220, 150),
    )


def _bedroom(draw: ImageDraw.ImageDraw, accent: RGB, rng: random.Random) -> None:
    draw.rectangle((0, 800, WIDTH, HEIGHT), fill=(180, 150, 115))
    draw.rectangle((420, 420, 1180, 560), fill=_mix(accent, (0, 0, 0), 0.3))
    draw.rounded_rectangle((380, 600, 1220, 860), radius=30, fill=(250, 250, 248))
    draw.rectangle((380, 700, 1220, 860), fill=accent)
    for x in (470, 820):
        draw.rounded_rectangle((x, 540, x + 300, 640), radius=36, fill=(255, 255, 255))
    frame_x = rng.randint(120, 180)
    draw.rectangle(
        (frame_x, 220, frame_x + 200, 380), fill=(255, 255, 255), outline=(90, 70, 50), width=12
    )
    draw.polygon([(frame_x + 20, 360), (frame_x + 100, 260), (frame_x + 180, 360)], fill=accent)


SCENES = [
    Scene("Outside", "Illustration of {name} from outside, under a sunny sky", _outside),
    Scene("Living room", "Illustration of the living room at {name}, with a sofa", _living_room),
    Scene("Bedroom", "Illustration of a bedroom at {name}, with a made bed", _bedroom),
]


def demo_picture(*, name: str, accent_hex: str, scene: Scene, seed: str) -> bytes:
    """A JPEG of one scene, the same every time for the same arguments."""
    rng = random.Random(hashlib.sha256(seed.encode()).digest())  # noqa: S311 - not security
    accent = ImageColor.getrgb(accent_hex)[:3]
    top = _mix(accent, (255, 255, 255), 0.75)
    image = _gradient(top, (255, 252, 245))
    draw = ImageDraw.Draw(image)
    scene.paint(draw, accent, rng)
    font = ImageFont.load_default(size=64)
    draw.rectangle((0, HEIGHT - 130, WIDTH, HEIGHT), fill=_mix(accent, (0, 0, 0), 0.35))
    draw.text((60, HEIGHT - 104), f"{name} · {scene.caption}", fill=(255, 255, 255), font=font)
    buffer = io.BytesIO()
    image.resize(OUTPUT_SIZE, Image.Resampling.LANCZOS).save(buffer, "JPEG", quality=88)
    return buffer.getvalue()


def demo_photos_seed(*, property: Property) -> int:
    """Give a demo property its generated photos; returns how many were added."""
    added = 0
    for position, scene in enumerate(SCENES):
        alt = scene.alt.format(name=property.name)
        if PropertyImage.objects.filter(property=property, alt_text=alt).exists():
            continue
        data = demo_picture(
            name=property.name,
            accent_hex=property.business.accent_colour,
            scene=scene,
            seed=f"{property.business.slug}/{property.slug}/{position}",
        )
        image = photo_add(
            business=property.business,
            property=property,
            file=io.BytesIO(data),
            name=f"{property.slug}-{position + 1}.jpg",
            alt_text=alt,
            caption=scene.caption,
            position=position,
            enqueue=False,
        )
        photo_process(image_id=image.pk)
        added += 1
    return added
