from __future__ import annotations

from datetime import date, timedelta

import pytest
from rest_framework.test import APIClient

from properties.models import Property
from properties.services import api_token_create
from tests.conftest import Tenant


def days_from_today(prop: Property, days: int) -> date:
    return prop.local_today() + timedelta(days=days)


def token_client(tenant: Tenant) -> APIClient:
    _, raw = api_token_create(business=tenant.business, user=tenant.owner)
    client = APIClient(HTTP_HOST="localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    return client


@pytest.fixture
def api(tenant: Tenant) -> APIClient:
    return token_client(tenant)


@pytest.fixture
def outsider_api(outsider: Tenant) -> APIClient:
    return token_client(outsider)
