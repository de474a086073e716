"""`coverage-ledger serve` without DATABASE_URL: starts the embedded cluster, writes genesis,
serves, and stops the cluster on SIGTERM; a second start reuses the data."""

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from coverage_ledger.database.embedded import (
    EmbeddedCluster,
    EmbeddedClusterError,
    server_module_of_the_wheel,
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _serve(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {
        "LEDGER_DATA_DIR": str(data_dir),
        "LEDGER_PORT": str(port),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "coverage_ledger", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _wait_healthy(process: subprocess.Popen[bytes], port: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.3)
    pytest.fail("the server did not become healthy")


def _stop(process: subprocess.Popen[bytes]) -> str:
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)
    return output.decode()


@pytest.mark.slow
def test_serve_starts_and_stops_the_embedded_cluster(tmp_path: Path) -> None:
    data_dir = tmp_path / "ledger-data"
    port = _free_port()
    process = _serve(data_dir, port)
    try:
        _wait_healthy(process, port)
        assert (data_dir / "postmaster.pid").exists()
        unauthenticated = httpx.get(f"http://127.0.0.1:{port}/v1/ledger/head")
        assert unauthenticated.status_code == 401
    finally:
        output = _stop(process)
    assert process.returncode == 0, output
    assert not (data_dir / "postmaster.pid").exists(), "the cluster was stopped"
    assert "genesis written" in output

    # a serve killed with SIGKILL stays listed among the cluster's users: it must not keep the
    # next one from stopping the cluster
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (data_dir / ".handle_pids.json").write_text(f"[{dead.pid}]")
    process = _serve(data_dir, port)
    try:
        _wait_healthy(process, port)
    finally:
        output = _stop(process)
    assert "genesis written" not in output, "the second start reused the ledger"
    assert not (data_dir / "postmaster.pid").exists(), output
    assert "embedded PostgreSQL stopped" in output


def test_a_sigterm_while_the_schema_migrates_stops_the_cluster_too(tmp_path: Path) -> None:
    """Found by an operator probe: SIGTERM (docker, systemd) during the migrations or genesis,
    before uvicorn takes the signals over, ended the process and left the postmaster running."""
    data_dir = tmp_path / "ledger-data"
    process = _serve(data_dir, _free_port())
    assert process.stdout is not None
    seen = b""
    deadline = time.monotonic() + 120
    while b"Running upgrade" not in seen and time.monotonic() < deadline:
        line = process.stdout.readline()
        assert line, seen.decode()
        seen += line
    output = _stop(process)
    assert process.returncode == 128 + signal.SIGTERM, seen.decode() + output
    assert "embedded PostgreSQL stopped" in output, output
    assert not (data_dir / "postmaster.pid").exists(), "the cluster was stopped"


def test_a_postmaster_that_dies_is_started_again_while_watched(tmp_path: Path) -> None:
    """Found by a fault probe: after the embedded postmaster was killed, every request was a 503
    until someone restarted `serve` by hand."""
    cluster = EmbeddedCluster(tmp_path / "data", throwaway=True)
    stopping = threading.Event()
    try:
        watcher = cluster.keep_running(stopping, every=0.2)
        postmaster = int((cluster.data_dir / "postmaster.pid").read_text().splitlines()[0])
        os.kill(postmaster, signal.SIGKILL)
        deadline = time.monotonic() + 60
        answered = None
        while answered is None and time.monotonic() < deadline:
            time.sleep(0.5)
            try:
                with psycopg.connect(cluster.admin_url(), connect_timeout=2) as conn:
                    answered = conn.execute("SELECT 1").fetchone()
            except psycopg.OperationalError:
                continue
        assert answered == (1,), "the cluster was not started again"
        assert int((cluster.data_dir / "postmaster.pid").read_text().splitlines()[0]) != postmaster
    finally:
        stopping.set()
        watcher.join(timeout=5)
        cluster.stop()


def test_a_cluster_slower_to_start_than_the_wheel_waits_is_waited_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by a probe: after a crash, replaying the WAL took longer than the 10 s the wheel
    gives `pg_ctl start`, and `serve` died with a traceback, leaving the postmaster running."""
    server_module = server_module_of_the_wheel().postgres_server  # imported with its warning silenced
    real = server_module.pg_ctl
    slow: list[str] = []

    def pg_ctl(args: list[str], **kwargs: Any) -> Any:
        done = real(args, **kwargs)
        if args[-1] == "start" and not slow:
            slow.append("start")
            raise subprocess.TimeoutExpired(cmd="pg_ctl start", timeout=10)
        return done

    monkeypatch.setattr(server_module, "pg_ctl", pg_ctl)
    cluster = EmbeddedCluster(tmp_path / "data", throwaway=True)
    try:
        assert slow == ["start"]
        with psycopg.connect(cluster.admin_url()) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        cluster.stop()


def test_a_cluster_whose_creation_was_cut_off_says_to_delete_it(tmp_path: Path) -> None:
    # found by a CLI probe: Ctrl-C while a new LEDGER_DATA_DIR was made left a cluster without
    # its `postgres` database, and every later command failed with a bare connection error
    cluster = EmbeddedCluster(tmp_path / "data", throwaway=True)
    try:
        with psycopg.connect(cluster.admin_url("template1"), autocommit=True) as conn:
            conn.execute("DROP DATABASE postgres")
        with pytest.raises(EmbeddedClusterError, match=r"left half-made .* delete that folder"):
            cluster.ensure_database("ledger")
        # a cluster holding a ledger is never called half-made: the connection error stands
        with psycopg.connect(cluster.admin_url("template1"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE ledger")
        with pytest.raises(psycopg.OperationalError, match='database "postgres" does not exist'):
            cluster.has_database("ledger")
    finally:
        cluster.stop()


def test_a_cluster_starts_where_the_locale_it_was_made_under_is_missing(tmp_path: Path) -> None:
    """Found by a probe: initdb wrote the creating shell's locale (de_DE.UTF-8) into
    postgresql.conf, and the cluster would not start where that locale was not installed; the
    review: also a cluster an earlier release made, with nothing of ours in postgresql.auto.conf."""
    data_dir = tmp_path / "data"
    cluster = EmbeddedCluster(data_dir)
    cluster.stop()
    conf = data_dir / "postgresql.conf"
    owner = conf.stat()
    conf.write_text(
        re.sub(r"^lc_(messages|time) = .*$", r"lc_\1 = 'xx_XX.UTF-8'", conf.read_text(), flags=re.MULTILINE)
    )
    assert "lc_" not in (data_dir / "postgresql.auto.conf").read_text()
    again = EmbeddedCluster(data_dir, throwaway=True)
    settled = conf.stat()
    assert (settled.st_uid, settled.st_mode) == (owner.st_uid, owner.st_mode)
    try:
        with psycopg.connect(again.admin_url()) as conn:
            assert conn.execute("SHOW lc_messages").fetchone() == ("C",)
            assert conn.execute("SHOW lc_time").fetchone() == ("C",)
    finally:
        again.stop()
