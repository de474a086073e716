"""Uploads across restarts and processes: an interrupted upload runs again, one another live process
runs is left to it, files a stopped process left are removed, the staging connection is kept across
commits."""

import asyncio
import os
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from coverage_ledger.app import UploadSettings
from coverage_ledger.clock import utc_now
from coverage_ledger.database.engine import create_engine_for, session_factory
from coverage_ledger.domain.access import SYSTEM
from coverage_ledger.uploads import repository, upload_queue
from coverage_ledger.uploads.importing import import_file
from coverage_ledger.uploads.running import run_upload
from coverage_ledger.uploads.service import UploadOptions
from coverage_ledger.uploads.upload_queue import UploadRunner
from tests.live_app import live_app
from tests.rosters import Uploader, officer_row, roster_csv, stored_upload
from tests.support import Keys, nik


async def _start_after_a_stop(fresh_database: str, tmp_path: Path, *, folder: str) -> tuple[Any, int, Path]:
    """A one-row roster upload a stopped process left validating, its file in `folder` (under
    tmp_path), then the service started with `uploads` as its upload folder: the upload's status
    afterwards, the status code of its officer's coverage lookup, and the file's path."""
    directory = tmp_path / "uploads"
    directory.mkdir()
    stored = tmp_path / folder / "left-behind.upload"
    stored.parent.mkdir(exist_ok=True)
    person = nik()
    stored.write_bytes(roster_csv([officer_row(person)]))
    upload_id = uuid.uuid4()
    engine = create_engine_for(fresh_database, pool_size=1)
    async with session_factory(engine)() as session, session.begin():
        await _left_validating(session, upload_id, stored)
    await engine.dispose()
    async with live_app(fresh_database, uploads=UploadSettings(directory, max_bytes=1 << 20)) as (
        app,
        client,
        keys,
    ):
        await app.state.upload_runner.wait_idle()
        status = await Uploader(app, client, keys).status(str(upload_id), key=keys.admin)
        coverage = await client.get(
            f"/v1/persons/{person}/coverage",
            params={"valid_at": "2024-02-01"},
            headers=Keys.header(keys.admin),
        )
    return status, coverage.status_code, stored


async def test_an_upload_interrupted_by_a_restart_runs_again_on_the_next_start(
    fresh_database: str, tmp_path: Path
) -> None:
    status, coverage, stored = await _start_after_a_stop(fresh_database, tmp_path, folder="uploads")
    assert status["status"] == "succeeded", status
    assert coverage == 200
    assert not stored.exists()


async def test_an_unfinished_upload_whose_file_is_in_another_folder_is_failed_and_its_file_kept(
    fresh_database: str, tmp_path: Path
) -> None:
    """Found by a backup probe: a database restored (or copied) from another deployment names its
    unfinished uploads' files in that deployment's folder; the service processed such a file and
    deleted it there. It now runs only files in its own LEDGER_UPLOAD_DIR."""
    status, coverage, stored = await _start_after_a_stop(fresh_database, tmp_path, folder="other-deployment")
    assert (status["status"], status["problem"]["code"]) == ("failed", "interrupted"), status
    assert coverage == 404  # nothing of the file was written
    assert stored.exists()


async def test_an_upload_another_live_process_runs_is_left_to_it(fresh_database: str, tmp_path: Path) -> None:
    """Found by a probe: a second `serve` on the same database, started while the first was
    committing an upload, resumed it too; the first committed it and the second then marked it
    failed. Here the other process is a connection holding the upload as a running job does."""
    directory = tmp_path / "uploads"
    directory.mkdir()
    person = nik()
    stored = directory / "running.upload"
    stored.write_bytes(roster_csv([officer_row(person)]))
    old = time.time() - 2 * 3_600  # idle longer than a leftover: still not removed while held
    os.utime(stored, (old, old))
    upload_id = uuid.uuid4()
    engine = create_engine_for(fresh_database, pool_size=3)
    sessionmaker = session_factory(engine)
    async with sessionmaker() as session, session.begin():
        await _left_validating(session, upload_id, stored)
    async with engine.connect() as other_process:
        other = session_factory(engine)(bind=other_process)
        assert await repository.take_upload(other, upload_id)
        await other.commit()
        runner = UploadRunner(sessionmaker, clock=utc_now, workers=1, directory=directory)
        assert await runner.resume_unfinished() == 0
        await run_upload(sessionmaker, upload_id=upload_id, clock=utc_now)  # as a queued copy would
        async with sessionmaker() as session:
            record = await stored_upload(session, upload_id)
            assert (record.status, record.tx_seq, record.problem) == ("validating", None, None)
        assert stored.exists()
        await repository.release_upload(other, upload_id)
        await other.commit()
        await other.close()
    # the other process is gone: the upload is resumed and runs once
    assert await runner.resume_unfinished() == 1
    await runner.wait_idle()
    async with sessionmaker() as session:
        record = await stored_upload(session, upload_id)
        assert record.status == "succeeded" and record.tx_seq is not None, record
        held = await session.execute(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"))
        assert held.scalar_one() == 0, "the job let go of the upload"
    await runner.stop()
    await engine.dispose()


async def _left_validating(session: AsyncSession, upload_id: uuid.UUID, stored: Path) -> None:
    await repository.insert_upload(
        session,
        values={
            "upload_id": upload_id,
            "kind": "officer_roster",
            "committee": "KPU-16.71",
            "key_name": "test-committee",
            "key_region_prefix": "16.71",
            "dry_run": False,
            "policy": "all_or_nothing",
            "mode": "append",
            "filename": "roster.csv",
            "file_format": "csv",
            "file_sha256": "0" * 64,
            "size_bytes": stored.stat().st_size,
            "stored_path": str(stored),
            "phase_seconds": {},
            "submitted_at": date(2026, 1, 1),
        },
    )
    await repository.update_upload(session, upload_id, status="validating")


async def test_the_job_keeps_its_staging_connection_across_its_commits(
    fresh_database: str, tmp_path: Path
) -> None:
    # with no pool, every checkout is a new connection: a job whose session gave its connection
    # back at a commit would lose its temporary staging tables
    engine = create_async_engine(fresh_database, poolclass=NullPool)
    sessionmaker = session_factory(engine)
    roster = tmp_path / "r.csv"
    roster.write_bytes(roster_csv([officer_row(nik()) for _ in range(3)]))
    record, earlier = await import_file(
        sessionmaker,
        path=roster,
        options=UploadOptions(
            "officer_roster", "KPU-16.71", dry_run=False, policy="all_or_nothing", mode="append"
        ),
        principal=SYSTEM,
        clock=utc_now,
        staging_dir=tmp_path / "uploads",
        on_progress=lambda record: None,
    )
    await engine.dispose()
    assert not earlier
    assert record.status == "succeeded", record.problem
    assert record.rows_accepted == 3


async def test_files_a_stopped_process_left_in_the_upload_folder_are_removed_at_start(
    fresh_database: str, tmp_path: Path
) -> None:
    """An hour untouched and named by no unfinished upload: left by a process that stopped while
    receiving or before deleting. A younger file may be another process's upload arriving."""
    directory = tmp_path / "uploads"
    directory.mkdir()
    hours_ago = time.time() - 2 * 3_600
    left = [directory / "0a.upload", directory / "0a.csv-from-xlsx"]
    for path in left:
        path.write_bytes(b"nik,name\n")
        os.utime(path, (hours_ago, hours_ago))
    arriving = directory / "0b.upload"
    arriving.write_bytes(b"nik,name\n")
    unrelated = directory / "notes.txt"
    unrelated.write_text("kept")
    os.utime(unrelated, (hours_ago, hours_ago))
    waiting = directory / "0c.upload"  # an interrupted upload's file, old but still named
    waiting.write_bytes(roster_csv([officer_row(nik())]))
    os.utime(waiting, (hours_ago, hours_ago))
    engine = create_engine_for(fresh_database, pool_size=1)
    async with session_factory(engine)() as session, session.begin():
        await _left_validating(session, uuid.uuid4(), waiting)
    await engine.dispose()
    async with live_app(fresh_database, uploads=UploadSettings(directory, max_bytes=1 << 20)) as (app, _, _):
        await app.state.upload_runner.wait_idle()
    assert not any(path.exists() for path in left)
    assert arriving.exists() and unrelated.exists()
    assert not waiting.exists()  # resumed, processed, and removed by its own job


async def test_an_upload_queued_by_a_process_with_another_folder_is_left_to_it(
    fresh_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by an operator probe: a second `serve` on the same database, with an upload folder of
    its own, failed the first one's queued upload as `interrupted` ("the file is gone"), and the
    first then skipped it. A recent one is left to its process; an hour old, it is failed."""
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    ours.mkdir()
    theirs.mkdir()
    engine = create_engine_for(fresh_database, pool_size=3)
    sessionmaker = session_factory(engine)
    recent, stale = uuid.uuid4(), uuid.uuid4()
    for upload_id, submitted in ((recent, utc_now()), (stale, utc_now() - timedelta(hours=2))):
        stored = theirs / f"{upload_id}.upload"
        stored.write_bytes(roster_csv([officer_row()]))
        async with sessionmaker() as session, session.begin():
            await _left_validating(session, upload_id, stored)
            await repository.update_upload(session, upload_id, status="queued", submitted_at=submitted)
    monkeypatch.setattr(upload_queue, "QUEUED_ELSEWHERE", timedelta(seconds=2))
    runner = UploadRunner(sessionmaker, clock=utc_now, workers=1, directory=ours)
    assert await runner.resume_unfinished() == 0
    async with sessionmaker() as session:
        left = await stored_upload(session, recent)
        failed = await stored_upload(session, stale)
    assert (left.status, left.problem) == ("queued", None)
    assert failed.status == "failed" and failed.problem["code"] == "interrupted"
    assert str(theirs) in failed.problem["message"]  # not "the file is gone": it is in their folder
    assert (theirs / f"{recent}.upload").exists() and (theirs / f"{stale}.upload").exists()  # not ours
    # found by an upgrade probe: if its process never takes it (that deployment moved to another
    # folder), it is failed once old enough, not left queued for as long as this process runs
    for _ in range(100):
        async with sessionmaker() as session:
            left = await stored_upload(session, recent)
        if left.status != "queued":
            break
        await asyncio.sleep(0.1)
    assert left.status == "failed" and left.problem["code"] == "interrupted", left.problem
    await runner.stop()
    await engine.dispose()
