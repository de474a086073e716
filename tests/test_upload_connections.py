"""An upload and the database it shares with every other request: it holds no pooled connection
while its body arrives (a client's speed is not the service's to choose), a request that finds
them all busy answers 503 after a bounded wait, and a large upload leaves the statistics the next
one is planned by up to date."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from coverage_ledger.app import UploadSettings
from coverage_ledger.database import engine as engine_module
from coverage_ledger.database.engine import create_engine_for
from coverage_ledger.database.writer_role import ANALYZED_TABLES
from coverage_ledger.uploads import running, upload_queue
from tests.live_app import live_app
from tests.rosters import Uploader, many_officers, officer_row, roster_csv
from tests.support import Keys, nik

BOUNDARY = "roster-boundary-7f3a"


def _parts(roster: bytes) -> tuple[bytes, bytes, bytes]:
    """A multipart body in three pieces: the form fields and the file's head, its rest, the end."""
    head = (
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="committee"\r\n\r\n'
        "KPU-16.71\r\n"
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="file"; filename="roster.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    return head + roster[:20], roster[20:], f"\r\n--{BOUNDARY}--\r\n".encode()


async def test_an_upload_whose_body_arrives_slowly_holds_no_pooled_connection_meanwhile(
    fresh_database: str, tmp_path: Path
) -> None:
    # found by a soak probe: ten uploads whose bodies came slowly held every pooled connection
    # idle in transaction (the key's lookup), and the health check and the API answered 503
    roster = roster_csv([officer_row(nik())])
    head, rest, end = _parts(roster)
    settings = UploadSettings(tmp_path / "uploads", max_bytes=1 << 20)
    async with live_app(fresh_database, uploads=settings) as (app, client, keys):
        held_mid_body: list[int] = []
        health_mid_body: list[int] = []

        async def slow_body() -> AsyncIterator[bytes]:
            yield head
            await asyncio.sleep(0.05)
            held_mid_body.append(app.state.engine.pool.checkedout())
            health_mid_body.append((await client.get("/healthz")).status_code)
            yield rest
            yield end

        response = await client.post(
            "/v1/uploads",
            content=slow_body(),
            headers={
                **Keys.header(keys.committee),
                "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            },
        )
        assert response.status_code == 202, response.text
        assert held_mid_body == [0]
        assert health_mid_body == [200]
        await app.state.upload_runner.wait_idle()
        status = await client.get(response.headers["Location"], headers=Keys.header(keys.committee))
    assert status.json()["status"] == "succeeded", status.json()
    assert status.json()["rows_accepted"] == 1


async def test_a_request_finding_every_pooled_connection_busy_answers_503_after_the_wait(
    fresh_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the wait was SQLAlchemy's 30 s while the lean reads waited 10 s, as the docs say of both
    monkeypatch.setattr(engine_module, "CONNECTION_WAIT_SECONDS", 0.5)
    settings = UploadSettings(tmp_path / "uploads", max_bytes=1 << 20)
    async with live_app(fresh_database, uploads=settings, lean_reads=False) as (app, client, keys):
        assert app.state.engine.pool.timeout() == 0.5
        held = [await app.state.engine.connect() for _ in range(app.state.engine.pool.size())]
        try:
            started = time.monotonic()
            busy = await client.get("/v1/uploads", headers=Keys.header(keys.committee))
            waited = time.monotonic() - started
        finally:
            for connection in held:
                await connection.close()
        after = await client.get("/v1/uploads", headers=Keys.header(keys.committee))
    assert busy.status_code == 503 and busy.headers["retry-after"] == "5", busy.text
    assert 0.5 <= waited < 5
    assert after.status_code == 200


PERSON_TABLES = ("person_vault", "enrolment_term", "coverage_span")
assert set(PERSON_TABLES) <= set(ANALYZED_TABLES)


async def _estimates_exact(database_url: str) -> dict[str, bool]:
    """Whether the planner's estimate of each table of persons (`reltuples`, which ANALYZE sets,
    exactly for tables this small; the log's tables hold genesis, too large to be counted exactly)
    equals its row count."""
    engine = create_engine_for(database_url, pool_size=1)
    found = {}
    async with engine.connect() as connection:
        for table in PERSON_TABLES:
            estimate = await connection.scalar(
                text("SELECT reltuples FROM pg_class WHERE oid = CAST(:table AS regclass)"), {"table": table}
            )
            count = await connection.scalar(text(f"SELECT count(*) FROM {table}"))
            found[table] = estimate == count
    await engine.dispose()
    return found


async def test_a_large_upload_refreshes_the_statistics_of_the_tables_it_grew(
    uploader: Uploader, fresh_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # found by a CLI probe: a roster committed right after a far larger one was planned for the
    # ledger before it, and its write ran for over ten minutes until autovacuum analyzed the tables
    monkeypatch.setattr(running, "STATISTICS_AFTER_ROWS", 3)
    small = await uploader.run(roster_csv(many_officers(2)))
    assert small["status"] == "succeeded", small
    before = await _estimates_exact(fresh_database)
    assert set(before.values()) == {False}, before
    large = await uploader.run(roster_csv(many_officers(3, district="167102", region="16.71.02")))
    assert large["status"] == "succeeded" and large["rows_accepted"] == 3, large
    after = await _estimates_exact(fresh_database)
    assert set(after.values()) == {True}, after


async def test_a_job_that_finds_no_connection_free_waits_its_turn_instead_of_staying_queued(
    fresh_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # found by a review: the pool's wait ran out before the job began, the task died unlogged and
    # the upload stayed `queued` until the next start; the job now asks again
    monkeypatch.setattr(engine_module, "CONNECTION_WAIT_SECONDS", 0.3)
    monkeypatch.setattr(upload_queue, "CONNECTION_RETRY_SECONDS", 0.1)
    roster = roster_csv([officer_row(nik())])
    settings = UploadSettings(tmp_path / "uploads", max_bytes=1 << 20)
    async with live_app(fresh_database, uploads=settings) as (app, client, keys):
        runner = app.state.upload_runner
        pool = app.state.engine.pool
        held = [await app.state.engine.connect() for _ in range(pool.size())]
        try:
            started = time.monotonic()
            upload_id = uuid.uuid4()
            runner.start(upload_id)  # an upload id no record has: the job ends once it gets in
            await asyncio.sleep(1.0)  # the first waits ran out meanwhile
            assert runner._tasks, "the job still waits for a connection"
        finally:
            for connection in held:
                await connection.close()
        await runner.wait_idle()
        assert time.monotonic() - started >= 1.0
        # and the queue still works: a real upload after it
        response = await client.post(
            "/v1/uploads",
            files={"file": ("roster.csv", roster, "text/csv")},
            headers=Keys.header(keys.committee),
        )
        await runner.wait_idle()
        status = await client.get(response.headers["Location"], headers=Keys.header(keys.committee))
    assert status.json()["status"] == "succeeded", status.json()
