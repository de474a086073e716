"""Running one upload to `succeeded` or `failed`, in the background: the job owns its
transactions as a request owns its own (its work on a connection of its own, its progress
committed apart), and says why it failed, the database's own trouble included.

The job follows DESIGN.md's append path at scale: the file is read in chunks in a worker thread
and staged with COPY; duplicates and overlaps are checked set-based in SQL; the events are
written under a provisional tx id inside a savepoint; only then is the append lock taken. If an
enrolment of a staged NIK entered force meanwhile, the savepoint is rolled back and the checks
run again under the lock. Errors are committed apart from the ledger write, so a rejected file
still tells its uploader what is wrong."""

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from coverage_ledger.database.outage import outage_reason
from coverage_ledger.errors import ErrorItem
from coverage_ledger.ledger import repository as ledger_repository
from coverage_ledger.uploads import repository, staging_repository
from coverage_ledger.uploads.formats import FileRejected
from coverage_ledger.uploads.job_progress import Progress, discard_files
from coverage_ledger.uploads.officer_job import OfficerRosterJob
from coverage_ledger.uploads.sponsor_job import SponsorRosterJob

log = logging.getLogger(__name__)


async def run_upload(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    upload_id: uuid.UUID,
    clock: Callable[[], datetime],
) -> None:
    """Process a queued upload to `succeeded` or `failed`; never raises for bad input."""
    # the staging tables are temporary tables of one connection: the job's session is bound to a
    # connection of its own, which its commits keep (a pooled session would hand it back)
    engine = sessionmaker.kw["bind"]
    async with engine.connect() as connection, sessionmaker() as side, sessionmaker(bind=connection) as work:
        if not await repository.take_upload(work, upload_id):
            # another live process runs it (two `serve` processes on one database, one started
            # while the other was processing): its outcome stands, this one writes nothing
            log.info("upload %s is being processed by another process; left to it", upload_id)
            await work.rollback()
            return
        try:
            await _run_held(work, side, upload_id=upload_id, clock=clock)
        finally:
            try:
                await work.rollback()  # (the lock is the connection's: it outlives the transaction)
                await repository.release_upload(work, upload_id)
                await work.commit()
            except Exception:
                # a connection that could not let go must not go back to the pool holding it
                log.exception("upload %s: could not release it; its connection is discarded", upload_id)
                await connection.invalidate()


async def _run_held(
    work: AsyncSession, side: AsyncSession, *, upload_id: uuid.UUID, clock: Callable[[], datetime]
) -> None:
    """`run_upload` once the upload is held by this process."""
    progress = Progress(side, upload_id)
    record = await repository.get_upload(side, upload_id)
    if record is None or record.status in {"succeeded", "failed"}:
        return
    await repository.forget_errors(side, upload_id)
    await progress.set(status="validating", started_at=clock())
    job_class = OfficerRosterJob if record.kind == "officer_roster" else SponsorRosterJob
    job = job_class(work, progress, record, clock)
    work_usable = True
    try:
        await job.run()
    except FileRejected as exc:
        await work.rollback()
        await _fail(job, progress, exc.code, exc.message, [exc.as_item()])
    except asyncio.CancelledError:
        # the service is stopping: the file stays and the upload resumes on the next start
        await work.rollback()
        raise
    except Exception as exc:
        reason = outage_reason(exc)
        if reason is None:
            log.exception("upload %s failed unexpectedly; nothing was written", upload_id)
            await work.rollback()
            await _fail(job, progress, "internal_error", "the error was logged; nothing was written", [])
        else:
            # the database restarted, its disk filled, or the connection broke: the tx died
            # uncommitted; the connection is `run_upload`'s to discard
            log.error("upload %s: the database failed it (%s); nothing was written", upload_id, reason)
            work_usable = False
            being = _BEING.get(progress.status or "", "read")
            await _fail(
                job,
                progress,
                "database_unavailable",
                f"the database stopped the upload while it was {being} ({reason}); "
                "nothing was written: upload the file again",
                [],
            )
    finally:
        if work_usable:
            await staging_repository.drop_staging(work)
            await work.commit()
    if record.stored_path:
        discard_files(Path(record.stored_path))
    if (
        work_usable
        and job.outcome.get("written")
        and job.counts.get("rows_accepted", 0) >= STATISTICS_AFTER_ROWS
    ):
        # found by a CLI probe: a roster of 30,000 rows committed right after one of 200,000 had
        # its statements planned for the ledger before the 200,000, and one ran for over ten
        # minutes instead of two seconds, until autovacuum analyzed the tables
        mark = time.monotonic()
        try:
            # ANALYZE waits on autovacuum (or another job's ANALYZE) of the same tables: not long
            await ledger_repository.limit_lock_waits(work, seconds=STATISTICS_LOCK_WAIT_SECONDS)
            await ledger_repository.refresh_bulk_statistics(work)
            await work.commit()
        except Exception as exc:  # the upload stands: autovacuum analyzes the tables in time anyway
            log.warning("upload %s: the statistics were left to autovacuum (%s)", upload_id, exc)
        else:
            log.info("upload %s: statistics refreshed in %.1f s", upload_id, time.monotonic() - mark)


STATISTICS_AFTER_ROWS = 10_000
"""Rows an upload accepts (and writes) from which it refreshes the statistics of the tables it grew."""
STATISTICS_LOCK_WAIT_SECONDS = 5.0
"""How long that refresh waits for the tables' locks before it is left to autovacuum."""


_BEING = {"validating": "being checked", "committing": "being committed"}
"""An upload's status as a failure's message words it."""
RECORD_FAILURE_SECONDS = 300.0
"""How long a job whose database failed it keeps trying to record that it failed (a restarted
cluster answers again within seconds; one whose disk is full, once space is freed). Past that,
the upload is left as it stands, to be run again from its file at the next start."""
RECORD_FAILURE_RETRY_SECONDS = 2.0


async def _fail(job: Any, progress: Progress, code: str, message: str, errors: list[ErrorItem]) -> None:
    """Mark the upload failed with its problem; if even that cannot be written, with a plain one
    (an upload must never stay `validating`); while the database is out of reach, again and again
    until it answers (an upload must not stay `committing` behind a restarted database)."""
    give_up_at = time.monotonic() + RECORD_FAILURE_SECONDS
    while True:
        try:
            stored = await repository.get_upload(progress.side, progress.upload_id)
            if stored is not None and stored.status == "succeeded":
                # its COMMIT went through before the connection was lost (its status commits with
                # the tx): it stands (found by a review: it was marked failed, "nothing written")
                log.warning(
                    "upload %s committed before its connection was lost; it stands", progress.upload_id
                )
                return
            await progress.errors(errors)
            await job.finish("failed", problem={"code": code, "message": message})
            return
        except Exception as exc:
            if outage_reason(exc) is None:
                break
            await _abandon_transaction(progress.side)
            if time.monotonic() >= give_up_at:
                log.error("upload %s: no database to record its failure in", progress.upload_id)
                raise
            await asyncio.sleep(RECORD_FAILURE_RETRY_SECONDS)
    log.exception("upload %s: its failure could not be recorded as given", progress.upload_id)
    await progress.side.rollback()
    await job.finish(
        "failed",
        problem={"code": "internal_error", "message": "the error was logged; nothing was written"},
    )


async def _abandon_transaction(session: AsyncSession) -> None:
    """End a session's transaction whose connection may be gone (statements sent through the
    driver, as `raw` sends them, leave SQLAlchemy unaware of it): rolled back if it can be, its
    connection discarded if not, so the session's next statement opens a new one."""
    try:
        await session.rollback()
    except Exception:
        await session.invalidate()
