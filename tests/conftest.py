from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.test import Client

from properties.models import Business, Membership, Property, User
from tests.factories import BusinessFactory, MembershipFactory, PropertyFactory

# Shared harness (tests/support/): fixtures every app's tests may ask for by name.
pytest_plugins = [
    "tests.support.markers",
    "tests.support.hashing",
    "tests.support.smtp",
    "tests.support.redis_servers",
    "tests.support.workers",
    "tests.support.stripe_fake",
    "tests.support.partner_server",
    "tests.support.browser",
]

APP_HOST = "localhost"


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    """One test database and one Redis key prefix per test run, so runs side by side
    (and subprocesses they start) never share state."""
    from django.conf import settings

    run = os.environ.get("HOLIDESK_TEST_RUN") or str(os.getpid())
    os.environ["HOLIDESK_TEST_RUN"] = run
    db = settings.DATABASES["default"]
    db.setdefault("TEST", {})
    db["TEST"]["NAME"] = f"{db['TEST'].get('NAME') or 'test_' + db['NAME']}_{run}"
    settings.CACHES["default"]["KEY_PREFIX"] = f"{settings.HOLIDESK_REDIS_PREFIX}-test-{run}"


def site_host(business: Business) -> str:
    return f"{business.slug}.localhost"


@dataclass
class Tenant:
    """A business with an owner and a published property: the usual test world."""

    business: Business
    owner: User
    prop: Property

    def admin_client(self) -> Client:
        client = Client(HTTP_HOST=APP_HOST)
        client.force_login(self.owner)
        return client

    def site_client(self) -> Client:
        return Client(HTTP_HOST=site_host(self.business))


def make_tenant(slug: str) -> Tenant:
    business = BusinessFactory(slug=slug, name=slug.title())
    membership = MembershipFactory(business=business, role=Membership.Role.OWNER)
    prop = PropertyFactory(business=business)
    return Tenant(business=business, owner=membership.user, prop=prop)


@pytest.fixture
def tenant(db: None) -> Tenant:
    return make_tenant("seaside")


@pytest.fixture
def outsider(db: None) -> Tenant:
    """Another business: everything of `tenant` must be invisible to it, and vice versa."""
    return make_tenant("alpine")


@pytest.fixture
def app_client() -> Client:
    return Client(HTTP_HOST=APP_HOST)


@pytest.fixture
def prop(tenant: Tenant) -> Property:
    return tenant.prop


@pytest.fixture
def make_property():
    return PropertyFactory


@pytest.fixture(autouse=True)
def _own_cache_keys() -> Iterator[None]:
    """Cached state (sign-in rate limits above all) never leaks from one test into the
    next one in the same process: each test writes under a key prefix of its own."""
    from django.core.cache import cache

    base = cache.key_prefix
    cache.key_prefix = f"{base}-{uuid.uuid4().hex[:10]}"
    try:
        yield
    finally:
        cache.key_prefix = base
