from __future__ import annotations

import re
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")

hex_colour_validator = RegexValidator(
    r"^#[0-9a-fA-F]{6}$", "Enter a colour as #RRGGBB, for example #0E7490."
)


def validate_business_slug(value: str) -> None:
    """A business slug becomes a DNS label: <slug>.<base domain>."""
    if not SLUG_RE.match(value):
        raise ValidationError(
            "Use 1 to 63 lowercase letters, digits and hyphens, "
            "not starting or ending with a hyphen.",
            code="invalid_slug",
        )
    if value in settings.HOLIDESK_RESERVED_SLUGS:
        raise ValidationError(
            f"“{value}” is reserved for Holidesk itself; please choose another address.",
            code="reserved_slug",
        )
    # `xn--` labels are punycode: browsers show them as other scripts, so
    # `xn--sasid-...` can display as a look-alike of another business's address. IDNA
    # reserves every label with hyphens in the third and fourth places for such uses.
    if value[2:4] == "--":
        raise ValidationError(
            "Addresses with “--” in the third and fourth places (such as xn--, "
            "internationalised look-alikes) are not allowed; please choose another.",
            code="reserved_slug",
        )


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            f"“{value}” is not an IANA time zone (for example Europe/London).",
            code="invalid_timezone",
        )


def validate_domain(value: str) -> None:
    labels = value.split(".")
    if len(labels) < 2 or not all(SLUG_RE.match(label) for label in labels):
        raise ValidationError(
            "Enter a domain name such as www.example.com (lowercase, no scheme, no port).",
            code="invalid_domain",
        )
    base = settings.HOLIDESK_BASE_DOMAIN
    if value == base or value.endswith("." + base):
        raise ValidationError(
            f"A custom domain cannot be under {base}; your site already lives there.",
            code="invalid_domain",
        )


def validate_languages(value: list[str]) -> None:
    """A business's site languages: at least one, each offered by Holidesk
    (settings.LANGUAGES), none twice. The first is the site's default."""
    known = {code for code, _name in settings.LANGUAGES}
    if not value:
        raise ValidationError("Choose at least one language.", code="no_language")
    unknown = [code for code in value if code not in known]
    if unknown:
        raise ValidationError(
            "Unknown language %(codes)s; choose from %(known)s.",
            code="unknown_language",
            params={"codes": ", ".join(unknown), "known": ", ".join(sorted(known))},
        )
    if len(set(value)) != len(value):
        raise ValidationError("List each language once.", code="duplicate_language")
