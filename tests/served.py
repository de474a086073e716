"""The app served as a real process (`coverage-ledger serve`) on a database, for tests that need
a browser or an HTTP client outside the test's event loop."""

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from typer.testing import CliRunner

from coverage_ledger.cli import app as cli
from coverage_ledger.demo.guide import KEY_VARIABLES


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def run_cli(database_url: str, *arguments: str) -> str:
    """`coverage-ledger ARGUMENTS` on the database, in this process; its output (asserts success)."""
    previous = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = database_url
    try:
        result = CliRunner().invoke(cli, list(arguments), env={"COLUMNS": "200"})
    finally:
        if previous is None:
            os.environ.pop("DATABASE_URL")
        else:
            os.environ["DATABASE_URL"] = previous
    assert result.exit_code == 0, result.output
    return result.output


def load_demo(database_url: str) -> str:
    """`coverage-ledger demo --scale 1000` on the database; its output (keys, NIKs to try)."""
    return run_cli(database_url, "demo", "--scale", "1000")


def demo_keys(output: str) -> dict[str, str]:
    """The keys the demo printed, by role."""
    roles = {variable: role for role, variable in KEY_VARIABLES.items()}
    return {roles[name]: secret for name, secret in re.findall(r"^export (\w+)=(\S+)$", output, re.M)}


def start_server(database_url: str, upload_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`coverage-ledger serve` on the database, answering; (the process, its base URL)."""
    port = free_port()
    env = os.environ | {
        "DATABASE_URL": database_url,
        "LEDGER_PORT": str(port),
        "LEDGER_UPLOAD_DIR": str(upload_dir),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "coverage_ledger", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            if httpx.get(f"{base}/healthz", timeout=0.5).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.2)
    return server, base


@contextmanager
def serving(database_url: str, upload_dir: Path) -> Iterator[str]:
    """The app serving the database; yields its base URL, stops it after."""
    server, base = start_server(database_url, upload_dir)
    try:
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def cli_key(database_url: str, *options: str) -> str:
    """A new key made by `coverage-ledger keys create OPTIONS`; its secret."""
    return run_cli(database_url, "keys", "create", *options).strip().splitlines()[-1].strip()
