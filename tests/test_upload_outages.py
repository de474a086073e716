"""An upload whose database goes away under it (a restart, a crash, a full disk): nothing of it
is written, and once the database answers again the upload says it failed, and why, instead of
staying `committing` until the service itself restarts (found by an operator probe)."""

import asyncio
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from coverage_ledger.clock import utc_now
from coverage_ledger.database.engine import create_engine_for, session_factory
from coverage_ledger.ledger import repository as ledger_repository
from coverage_ledger.uploads import repository, running
from coverage_ledger.uploads.officer_job import OfficerRosterJob
from coverage_ledger.uploads.running import run_upload
from tests.rosters import officer_row, roster_csv, submit_queued
from tests.support import nik

OUTAGE_SECONDS = 1.5


async def test_an_upload_cut_off_by_a_database_restart_is_failed_with_the_reason_once_it_answers(
    fresh_database: str, server_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine_for(fresh_database, pool_size=3)
    sessionmaker = session_factory(engine)
    # the database's own server session: its connections are cut and refused for a while, as in
    # a restart (the embedded cluster is shared with other tests, so it is not stopped itself)
    admin = create_async_engine(server_url, poolclass=NullPool)
    database = make_url(fresh_database).database
    niks = [nik() for _ in range(5)]
    path = tmp_path / "roster.upload"
    path.write_bytes(roster_csv([officer_row(n) for n in niks]))
    upload_id = await submit_queued(sessionmaker, path, "KPU-16.71", "all_or_nothing", utc_now())
    original = ledger_repository.take_append_lock
    monkeypatch.setattr(running, "RECORD_FAILURE_RETRY_SECONDS", 0.2)
    back: list[asyncio.Task[None]] = []

    async def allow_connections(allowed: bool) -> None:
        async with admin.connect() as connection:
            await connection.execute(text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {allowed}'))
            await connection.commit()

    async def answers_again_later() -> None:
        await asyncio.sleep(OUTAGE_SECONDS)
        await allow_connections(True)

    async def the_database_restarts_at_the_lock(session: AsyncSession) -> int:
        await allow_connections(False)
        async with admin.connect() as connection:
            await connection.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
                {"name": database},
            )
        back.append(asyncio.create_task(answers_again_later()))
        return await original(session)

    monkeypatch.setattr(ledger_repository, "take_append_lock", the_database_restarts_at_the_lock)
    try:
        await asyncio.wait_for(run_upload(sessionmaker, upload_id=upload_id, clock=utc_now), timeout=60)
    finally:
        await asyncio.gather(*back)
    async with sessionmaker() as session:
        record = await repository.get_upload(session, upload_id)
        written = await session.scalar(
            text("SELECT count(*) FROM ledger_event WHERE nik = ANY(:niks)"), {"niks": niks}
        )
    await engine.dispose()
    await admin.dispose()
    assert record is not None and record.problem is not None
    assert (record.status, record.problem["code"]) == ("failed", "database_unavailable"), record.problem
    assert "while it was being committed" in record.problem["message"]
    assert "terminating connection" in record.problem["message"]  # the server's own words
    assert record.stored_path is None and not path.exists()
    assert written == 0


async def test_an_upload_whose_commit_went_through_before_the_connection_was_lost_stands(
    fresh_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by a review: a connection lost after the server committed (the reply never came) was
    taken for a failure, and the upload recorded `failed`, "nothing was written", over its
    `succeeded` and its tx."""
    engine = create_engine_for(fresh_database, pool_size=3)
    sessionmaker = session_factory(engine)
    niks = [nik() for _ in range(3)]
    path = tmp_path / "roster.upload"
    path.write_bytes(roster_csv([officer_row(n) for n in niks]))
    upload_id = await submit_queued(sessionmaker, path, "KPU-16.71", "all_or_nothing", utc_now())
    monkeypatch.setattr(running, "RECORD_FAILURE_RETRY_SECONDS", 0.1)
    committed = OfficerRosterJob._commit

    async def reply_lost(job: OfficerRosterJob, *args: Any) -> int | None:
        tx = await committed(job, *args)
        raise psycopg.OperationalError("consuming input failed: server closed the connection unexpectedly")
        return tx  # never reached

    monkeypatch.setattr(OfficerRosterJob, "_commit", reply_lost)
    await run_upload(sessionmaker, upload_id=upload_id, clock=utc_now)
    async with sessionmaker() as session:
        record = await repository.get_upload(session, upload_id)
        written = await session.scalar(
            text("SELECT count(*) FROM ledger_event WHERE nik = ANY(:niks)"), {"niks": niks}
        )
    await engine.dispose()
    assert record is not None and written == 6  # registrations and enrolments
    assert (record.status, record.problem, record.tx_seq is not None) == ("succeeded", None, True)
