"""Writes for tenancy and properties, one module per process. Keyword-only functions;
each owns its transaction and asks `properties.permissions` who may."""

from __future__ import annotations

from properties.services.businesses import (
    BUSINESS_EDITABLE_FIELDS,
    business_create,
    business_save,
    slug_release,
    slug_taken_back,
)
from properties.services.domains import (
    DOMAIN_CHECK_TEXT,
    DomainCheck,
    custom_domain_verify,
    custom_domains_recheck,
    verification_record,
)
from properties.services.members import (
    AlreadyMember,
    LastOwner,
    membership_add,
    membership_change,
    membership_remove,
)
from properties.services.tokens import api_token_create, api_token_revoke

__all__ = [
    "BUSINESS_EDITABLE_FIELDS",
    "DOMAIN_CHECK_TEXT",
    "AlreadyMember",
    "DomainCheck",
    "LastOwner",
    "api_token_create",
    "api_token_revoke",
    "business_create",
    "business_save",
    "custom_domain_verify",
    "custom_domains_recheck",
    "membership_add",
    "membership_change",
    "membership_remove",
    "slug_release",
    "slug_taken_back",
    "verification_record",
]
