"""The OpenAPI fuzzed with Schemathesis against the served app (with the demo loaded and an admin
key): no 5xx, and every response matches the schema. A bounded run in `make test`; `make fuzz`
runs more examples (FUZZ_EXAMPLES)."""

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case
from schemathesis.specs.openapi import checks as openapi_checks
from typer.testing import CliRunner

from coverage_ledger.cli import app as cli

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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, server_url: str, template_name: str
) -> Iterator[tuple[str, str]]:
    """The app serving a database with the demo loaded; (base URL, admin key)."""
    from tests.conftest import create_database, drop_database

    name = f"fuzz_{os.getpid()}"
    url = create_database(server_url, name, template=template_name)
    runner = CliRunner()
    previous = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    try:
        loaded = runner.invoke(cli, ["demo", "--scale", "1000"], env={"COLUMNS": "200"})
        assert loaded.exit_code == 0, loaded.output
    finally:
        if previous is None:
            os.environ.pop("DATABASE_URL")
        else:
            os.environ["DATABASE_URL"] = previous
    admin = re.search(r"^key admin: (\S+)$", loaded.output, re.M)
    assert admin is not None
    port = _free_port()
    uploads = tmp_path_factory.mktemp("fuzz-uploads")
    env = os.environ | {
        "DATABASE_URL": url,
        "LEDGER_PORT": str(port),
        "LEDGER_UPLOAD_DIR": str(Path(uploads)),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "coverage_ledger", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if httpx.get(f"{base}/healthz", timeout=0.5).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield base, admin.group(1)
    finally:
        server.terminate()
        server.wait(timeout=30)
        drop_database(server_url, name)


def test_the_api_never_fails_and_keeps_to_its_schema(served: tuple[str, str]) -> None:
    base, admin = served
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    headers = {"Authorization": f"Bearer {admin}"}
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @settings(
            max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        @given(case=operation.as_strategy())
        def call(case: Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        call()
    assert operations >= 20
