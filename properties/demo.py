"""Demo businesses, owners and properties for `manage.py seed_demo`. Idempotent:
everything is looked up by natural key and only created when missing."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import time
from decimal import Decimal
from typing import Any

from django.conf import settings

from properties.models import ApiToken, Business, Membership, Property, User
from properties.photos.demo import demo_photos_seed
from properties.services import api_token_create, business_create


@dataclass
class DemoBusiness:
    business: Business
    owner: User
    password: str
    api_token: str
    properties: list[Property] = field(default_factory=list)


DEMO_BUSINESSES: list[dict[str, Any]] = [
    {
        "slug": "seaside",
        "name": "Seaside Cottages",
        "timezone": "Europe/London",
        "currency": "GBP",
        "accent_colour": "#0E7490",
        "about": "Three stone cottages a short walk from the beach in Cornwall.",
        "properties": [
            {
                "slug": "harbour-view",
                "name": "Harbour View",
                "max_guests": 4,
                "bedrooms": 2,
                "base_price": "145.00",
                "cleaning_fee": "60.00",
                "min_nights": 2,
                "amenities": ["Sea view", "Wi-Fi", "Wood burner", "Parking"],
            },
            {
                "slug": "the-old-boathouse",
                "name": "The Old Boathouse",
                "max_guests": 6,
                "bedrooms": 3,
                "base_price": "210.00",
                "cleaning_fee": "80.00",
                "min_nights": 3,
                "amenities": ["Garden", "Wi-Fi", "Dog friendly", "Dishwasher"],
            },
            {
                "slug": "gull-cottage",
                "name": "Gull Cottage",
                "max_guests": 2,
                "bedrooms": 1,
                "base_price": "95.00",
                "cleaning_fee": "40.00",
                "min_nights": 2,
                "amenities": ["Wi-Fi", "Roll-top bath"],
            },
        ],
    },
    {
        "slug": "alpine",
        "name": "Alpine Chalets",
        "timezone": "Europe/Zurich",
        "currency": "CHF",
        "accent_colour": "#7C2D12",
        "about": "Ski-in, ski-out chalets above Verbier.",
        "languages": ["en", "de"],
        "properties": [
            {
                "slug": "chalet-edelweiss",
                "name": "Chalet Edelweiss",
                "max_guests": 8,
                "bedrooms": 4,
                "base_price": "420.00",
                "cleaning_fee": "150.00",
                "min_nights": 4,
                "amenities": ["Sauna", "Ski room", "Fireplace", "Wi-Fi"],
            },
            {
                "slug": "studio-arolla",
                "name": "Studio Arolla",
                "max_guests": 2,
                "bedrooms": 1,
                "base_price": "160.00",
                "cleaning_fee": "50.00",
                "min_nights": 2,
                "amenities": ["Balcony", "Wi-Fi"],
            },
        ],
    },
]


def demo_secret(purpose: str) -> str:
    """Stable per installation, so re-running seed_demo prints the same credentials,
    yet not guessable from the source code."""
    return hmac.new(settings.SECRET_KEY.encode(), purpose.encode(), hashlib.sha256).hexdigest()


def demo_password(slug: str) -> str:
    return f"demo-{slug}-{demo_secret('password:' + slug)[:8]}"


def seed_businesses() -> list[DemoBusiness]:
    seeded = []
    for spec in DEMO_BUSINESSES:
        slug = spec["slug"]
        email = f"owner@{slug}.example.com"
        password = demo_password(slug)
        owner = User.objects.filter(email=email).first()
        if owner is None:
            owner = User.objects.create_user(
                email=email, password=password, name=f"{spec['name']} owner"
            )
        elif not owner.check_password(password):
            owner.set_password(password)
            owner.save(update_fields=["password"])
        business = Business.objects.filter(slug=slug).first()
        if business is None:
            business = business_create(
                owner=owner,
                name=spec["name"],
                slug=slug,
                contact_email=f"hello@{slug}.example.com",
                timezone_name=spec["timezone"],
                currency=spec["currency"],
            )
            business.accent_colour = spec["accent_colour"]
            business.about = spec["about"]
            business.save(update_fields=["accent_colour", "about"])
        languages = spec.get("languages", ["en"])
        if business.languages != languages:
            business.languages = languages
            business.save(update_fields=["languages"])
        Membership.objects.get_or_create(
            user=owner, business=business, defaults={"role": Membership.Role.OWNER}
        )
        raw_token = ApiToken.PREFIX + demo_secret("api-token:" + slug)[:40]
        if not ApiToken.objects.filter(key_hash=ApiToken.hash_key(raw_token)).exists():
            api_token_create(business=business, user=owner, name="Demo token", raw_key=raw_token)
        demo = DemoBusiness(business=business, owner=owner, password=password, api_token=raw_token)
        for prop_spec in spec["properties"]:
            prop, _ = Property.objects.get_or_create(
                business=business,
                slug=prop_spec["slug"],
                defaults={
                    "name": prop_spec["name"],
                    "description": f"{prop_spec['name']} is one of {spec['name']}'s places.",
                    "address": f"{prop_spec['name']}\n{spec['name']}",
                    "max_guests": prop_spec["max_guests"],
                    "bedrooms": prop_spec["bedrooms"],
                    "bathrooms": 1,
                    "amenities": prop_spec["amenities"],
                    "check_in_time": time(16, 0),
                    "check_out_time": time(10, 0),
                    "base_price": Decimal(prop_spec["base_price"]),
                    "cleaning_fee": Decimal(prop_spec["cleaning_fee"]),
                    "min_nights": prop_spec["min_nights"],
                    "tax_percent": Decimal("10.00"),
                    "published": True,
                },
            )
            demo_photos_seed(property=prop)
            demo.properties.append(prop)
        seeded.append(demo)
    return seeded
