"""The owner API and the channel endpoint, fuzzed from their published OpenAPI schema.

Schemathesis generates requests (valid and invalid) for every operation in
`/api/schema/` and sends them through the WSGI app in-process. Whatever a client sends,
the answer is never a 5xx, and every answer matches the schema (status codes, content
type, body). A fixed seed and a bounded number of examples keep the run short and
repeatable; raise HOLIDESK_FUZZ_EXAMPLES to dig deeper locally.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from config.wsgi import application
from properties.services.tokens import api_token_create
from tests.conftest import Tenant

EXAMPLES = int(os.environ.get("HOLIDESK_FUZZ_EXAMPLES", "12"))

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


@pytest.fixture
def token(tenant: Tenant) -> Iterator[str]:
    _, raw = api_token_create(business=tenant.business, user=tenant.owner)
    # The raw WSGI app closes the database connection when a request ends; the test's
    # transaction lives on it. Django's test client detaches the same receivers.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield raw
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_request_gets_a_server_error_and_every_answer_matches_the_schema(
    case: Any, token: str
) -> None:
    response = case.call(headers={"Authorization": f"Token {token}", "Host": "localhost"})
    case.validate_response(
        response,
        checks=[not_a_server_error, content_type_conformance, response_schema_conformance],
    )
