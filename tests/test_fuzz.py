"""The OpenAPI fuzzed with Schemathesis against the served app (with the demo loaded and an admin
key): no 5xx, and every response matches the schema. A bounded run in `make test`; `make fuzz`
runs more examples (FUZZ_EXAMPLES)."""

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case
from schemathesis.core.result import Ok
from schemathesis.specs.openapi import checks as openapi_checks

from tests.databases import create_database, drop_database
from tests.served import demo_keys, load_demo, serving

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))
CHECKS = [
    schemathesis.checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
]
"""No 5xx, and every status, media type and body as documented. (Schemathesis's check that any
schema-valid request is accepted is left out: the ledger refuses valid-looking data, e.g. an
unknown region or a NIK whose district does not exist, with 422 by design.)"""
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, server_url: str, template_name: str
) -> Iterator[tuple[str, str]]:
    """The app serving a database with the demo loaded; (base URL, admin key)."""
    name = f"fuzz_{os.getpid()}"
    url = create_database(server_url, name, template=template_name)
    try:
        admin = demo_keys(load_demo(url))["admin"]
        with serving(url, tmp_path_factory.mktemp("fuzz-uploads")) as base:
            yield base, admin
    finally:
        drop_database(server_url, name)


def test_the_api_never_fails_and_keeps_to_its_schema(served: tuple[str, str]) -> None:
    base, admin = served
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    headers = {"Authorization": f"Bearer {admin}"}
    operations = 0
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        operations += 1

        @settings(
            max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        @given(case=operation.as_strategy())
        def call(case: Case[Any]) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        call()
    assert operations >= 20
