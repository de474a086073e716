"""The pooled database connections are shared by every request: an upload holds none while its
body arrives (a client's speed is not the service's to choose), and a request that finds them all
busy answers 503 after a bounded wait."""

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from coverage_ledger.app import UploadSettings
from coverage_ledger.database import engine as engine_module
from tests.live_app import live_app
from tests.rosters import officer_row, roster_csv
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
