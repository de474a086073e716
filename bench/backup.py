"""`db backup` and `db restore` of a ledger holding a roster of N officers (each a registration and
an enrolment): the time of each, the backup file's size against the database's, and the time to
verify the restored chain (what `db restore` does after restoring)."""

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from bench.common import bench_database, libpq, serve
from bench.roster_upload import new_key, roster_rows, upload_roster, write_roster_csv
from coverage_ledger.database.backup import back_up
from coverage_ledger.database.embedded import create_database
from coverage_ledger.database.engine import SCHEMA_REVISION, create_engine_for, session_factory
from coverage_ledger.database.restore import read_archive, restore
from coverage_ledger.ledger.verification import verify_ledger

SIZES = {"small": 100_000, "full": 1_000_000}
PORT = 8769


def _database_megabytes(url: str) -> float:
    with psycopg.connect(libpq(url)) as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return round(row[0] / 1e6, 1) if row else -1.0


async def _verify(url: str) -> tuple[bool, int]:
    engine = create_engine_for(url, pool_size=1)
    try:
        async with session_factory(engine)() as session, session.begin():
            report = await verify_ledger(session)
    finally:
        await engine.dispose()
    return report.ok, report.head_tx_seq


def _drop(admin: str, name: str) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def run(*, size: str) -> dict[str, Any]:
    """Load the roster through an upload, back the database up, restore it into a new one."""
    count = SIZES[size]
    results: dict[str, Any] = {"officers": count}
    with tempfile.TemporaryDirectory(prefix="backup-bench-") as tmp, bench_database("bench_backup") as url:
        csv_path = Path(tmp) / "roster.csv"
        write_roster_csv(csv_path, roster_rows(count))
        committee = new_key(url)
        os.environ["LEDGER_UPLOAD_DIR"] = str(Path(tmp) / "uploads")
        log = Path(__file__).parent / "results" / "backup-server.log"
        log.parent.mkdir(exist_ok=True)
        server = serve([sys.executable, "-m", "coverage_ledger", "serve"], url, PORT, log=log)
        try:
            results["load"] = upload_roster(f"http://127.0.0.1:{PORT}", committee, csv_path, "roster.csv")
        finally:
            server.terminate()
            server.wait(timeout=60)
        csv_path.unlink()
        results["database_mb"] = _database_megabytes(url)

        target = Path(tmp) / "ledger.backup"
        started = time.perf_counter()
        written = back_up(url, target=target)
        results["backup_seconds"] = round(time.perf_counter() - started, 2)
        results["backup_file_mb"] = round(written.size / 1e6, 1)
        results["head_tx_seq"] = written.head.tx_seq

        restored_name = "bench_backup_restored"
        admin = make_url(libpq(url)).set(database="postgres").render_as_string(hide_password=False)
        _drop(admin, restored_name)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(create_database(restored_name))
        restored = make_url(url).set(database=restored_name).render_as_string(hide_password=False)
        try:
            started = time.perf_counter()
            archived = read_archive(target, known_revisions={SCHEMA_REVISION})
            results["read_through_seconds"] = round(time.perf_counter() - started, 2)
            started = time.perf_counter()
            restore(restored, source=target, archived=archived)
            results["restore_seconds"] = round(time.perf_counter() - started, 2)
            started = time.perf_counter()
            ok, head = asyncio.run(_verify(restored))
            results["verify_seconds"] = round(time.perf_counter() - started, 2)
            results["restored_chain_ok"] = ok and head == written.head.tx_seq
        finally:
            _drop(admin, restored_name)
    return results
