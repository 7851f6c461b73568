"""Custom domains: proving ownership by DNS, and noticing when the proof goes away.

A business may name any domain, but it serves the business's site only once a TXT
record `_holidesk.<domain>` holds the business's token (`Business.domain_token`).
Without that proof anyone could point Holidesk at a domain they do not control, or
claim someone else's, and have visitors (and their sessions) served there.

`custom_domains_recheck` runs from Celery beat: it verifies domains whose record has
appeared and un-verifies those whose record is gone. A lookup that fails (timeout,
SERVFAIL) changes nothing: "could not ask" is not "not there".
"""

from __future__ import annotations

import logging
from collections import Counter
from enum import StrEnum

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from properties.db import lock_one
from properties.dnstxt import TxtLookupFailed, TxtResolver, get_txt_resolver
from properties.models import Business

log = logging.getLogger(__name__)

RECORD_PREFIX = "_holidesk."
RECHECK_BATCH = 20


class DomainCheck(StrEnum):
    VERIFIED = "verified"  # the record holds the token: the domain routes here
    MISSING = "missing"  # no record with the token: the domain routes nowhere
    UNKNOWN = "unknown"  # the DNS could not be asked, or the domain changed meanwhile
    TAKEN = "taken"  # another business proved this domain first


# What each outcome of a check tells the owner (the admin's action, the settings page).
DOMAIN_CHECK_TEXT: dict[DomainCheck, str] = {
    DomainCheck.VERIFIED: "{domain} is verified and serves your site.",
    DomainCheck.MISSING: (
        "No TXT record with your token was found for {domain}; DNS changes can take a "
        "while to appear."
    ),
    DomainCheck.UNKNOWN: "The DNS could not be asked about {domain}; try again later.",
    DomainCheck.TAKEN: "{domain} is already verified for another business.",
}


def verification_record(business: Business) -> tuple[str, str]:
    """The TXT record's name and value that prove `business` owns its custom domain."""
    return RECORD_PREFIX + (business.custom_domain or ""), business.domain_token


def custom_domain_verify(*, business: Business, resolver: TxtResolver | None = None) -> DomainCheck:
    """Look the business's TXT record up and record the outcome on the business
    (`domain_verified_at`, `domain_checked_at`); returns what was found."""
    domain = business.custom_domain
    if not domain:
        return DomainCheck.MISSING
    name, token = verification_record(business)
    now = timezone.now()
    try:
        records = (resolver or get_txt_resolver()).txt(name)
    except TxtLookupFailed as exc:
        log.info("TXT lookup of %s failed, verification unchanged: %s", name, exc)
        Business.objects.filter(pk=business.pk).update(domain_checked_at=now)
        return DomainCheck.UNKNOWN
    found = token in {record.strip() for record in records}
    try:
        with transaction.atomic():
            stored = lock_one(Business.objects.filter(pk=business.pk))
            if stored.custom_domain != domain or stored.domain_token != token:
                return DomainCheck.UNKNOWN  # changed while we asked; the next check decides
            outcome = DomainCheck.VERIFIED if found else DomainCheck.MISSING
            if found and stored.domain_verified_at is None:
                stored.domain_verified_at = now
                log.info("custom domain %s verified for business %s", domain, stored.pk)
            elif not found and stored.domain_verified_at is not None:
                stored.domain_verified_at = None
                log.warning(
                    "custom domain %s of business %s lost its TXT record: no longer served",
                    domain,
                    stored.pk,
                )
            stored.domain_checked_at = now
            # save(), not update(): the post_save receiver drops the host cache.
            stored.save(update_fields=["domain_verified_at", "domain_checked_at"])
    except IntegrityError:
        # business_verified_domain_unique: another business holds it, verified.
        Business.objects.filter(pk=business.pk).update(domain_checked_at=now)
        return DomainCheck.TAKEN
    business.domain_verified_at = stored.domain_verified_at
    business.domain_checked_at = stored.domain_checked_at
    return outcome


def custom_domains_recheck(
    *, resolver: TxtResolver | None = None, batch: int = RECHECK_BATCH
) -> Counter[str]:
    """Check the custom domains checked longest ago (never-checked first). Bounded so
    that a run of slow lookups stays inside the task time limit; every domain comes
    round again after (number of domains / batch) runs."""
    resolver = resolver or get_txt_resolver()
    due = (
        Business.objects.filter(custom_domain__isnull=False)
        .order_by(F("domain_checked_at").asc(nulls_first=True), "pk")
        .only("pk", "custom_domain", "domain_token", "domain_verified_at")[:batch]
    )
    outcomes: Counter[str] = Counter()
    for business in due:
        outcomes[custom_domain_verify(business=business, resolver=resolver)] += 1
    return outcomes
