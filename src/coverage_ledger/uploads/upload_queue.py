"""Background processing of uploads inside the serving process: queued uploads run one (or
`LEDGER_UPLOAD_WORKERS`) at a time; on start, uploads a stopped process left unfinished are run
again from their file (a commit is one tx, so nothing of an interrupted run is visible)."""

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy.exc
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from coverage_ledger.uploads import repository
from coverage_ledger.uploads.job_progress import IMPORT_FILE_SUFFIX, discard_files
from coverage_ledger.uploads.running import run_upload

log = logging.getLogger(__name__)

CONNECTION_RETRY_SECONDS = 2.0
"""How long a job that found no pooled connection waits before it asks again."""


def _log_failure(task: asyncio.Task[None]) -> None:
    """Log what ended an upload's task other than its end or a stop (a job records its own
    failures: this is for what escaped it, never to pass unseen)."""
    if not task.cancelled() and (error := task.exception()) is not None:
        log.error("%s ended by an error", task.get_name(), exc_info=error)


LEFTOVER_AFTER_SECONDS = 3_600
"""An upload file no unfinished upload names, untouched this long, was left by a process that
stopped (while receiving it, or before deleting it) and is removed at start. Younger ones may be
another process's upload arriving (several `serve` processes or an import may share the folder)."""
IMPORT_STARTING = timedelta(minutes=1)
"""An import's upload still queued this soon after it was submitted may be one whose command is
between recording it and holding it (a moment): it is left alone, not failed as interrupted."""
QUEUED_ELSEWHERE = timedelta(hours=1)
"""How long an upload queued with its file in another process's folder is taken to be that
process's (the age at which a stopped process's files are removed): older, it was left by a
process that stopped, and is marked failed."""
STORED_FILE_SUFFIXES = (".upload", IMPORT_FILE_SUFFIX)
UPLOAD_FILE_SUFFIXES = (*STORED_FILE_SUFFIXES, ".csv-from-xlsx")


class UploadRunner:
    """Runs upload jobs as asyncio tasks of the app."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        clock: Callable[[], datetime],
        workers: int = 1,
        directory: Path | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._directory = directory
        self._clock = clock
        self._slots = asyncio.Semaphore(max(1, workers))
        self._tasks: set[asyncio.Task[None]] = set()
        self._watchers: set[asyncio.Task[None]] = set()
        """Waits on uploads left to a process with another upload folder (`_fail_if_not_taken`)."""

    async def enqueue(self, upload_id: uuid.UUID) -> None:
        """Queue an upload for processing (async so that FastAPI runs it on the event loop)."""
        self.start(upload_id)

    def start(self, upload_id: uuid.UUID) -> None:
        """Queue an upload for processing."""
        task = asyncio.create_task(self._run(upload_id), name=f"upload-{upload_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(_log_failure)

    async def _run(self, upload_id: uuid.UUID) -> None:
        async with self._slots:
            while True:
                try:
                    await run_upload(self._sessionmaker, upload_id=upload_id, clock=self._clock)
                    return
                except sqlalchemy.exc.TimeoutError:
                    # every pooled connection was busy before the job could begin (a job fails
                    # itself for what happens once it runs): it waits its turn rather than stay
                    # queued until the next start (found by a review)
                    log.warning("upload %s: no database connection free; trying again", upload_id)
                    await asyncio.sleep(CONNECTION_RETRY_SECONDS)

    async def resume_unfinished(self) -> int:
        """Queue again what a stopped process left unfinished; fail those whose file is gone.
        Uploads another live process is running are left to it."""
        async with self._sessionmaker() as session:
            unfinished = []
            left = await repository.unfinished_uploads(session)
            for record in left:
                # one a live process is running (another `serve` on this database) is its own
                if await repository.upload_held_elsewhere(session, record.upload_id):
                    log.info("upload %s is being processed by another process; not resumed", record.upload_id)
                else:
                    unfinished.append(record)
            resumed: list[uuid.UUID] = []
            for record in unfinished:
                if record.stored_path and record.stored_path.endswith(IMPORT_FILE_SUFFIX):
                    if record.status == "queued" and self._clock() - record.submitted_at < IMPORT_STARTING:
                        # an import committed its record and is about to hold it: not ours to judge
                        continue
                    # an import whose command died (killed, its machine stopped): the operator
                    # who ran it is gone, and it is not committed behind their back
                    await self._interrupted(
                        session,
                        record.upload_id,
                        "the import command stopped before it finished; nothing was written: run it again",
                        rows_accepted=0,
                    )
                    if self._within(Path(record.stored_path)):  # not another deployment's file
                        discard_files(Path(record.stored_path))
                    log.info("upload %s: its import command stopped; marked failed", record.upload_id)
                elif record.stored_path and self._holds(Path(record.stored_path)):
                    await repository.update_upload(session, record.upload_id, status="queued")
                    resumed.append(record.upload_id)
                elif (
                    record.status == "queued"
                    and record.stored_path
                    and not self._within(Path(record.stored_path))
                    and self._clock() - record.submitted_at < QUEUED_ELSEWHERE
                ):
                    # queued by another live `serve` on this database with its own upload folder
                    # (found by an operator probe: a second process failed it, the first then
                    # skipped it): left to it
                    log.info(
                        "upload %s is queued by a process with another upload folder; left to it",
                        record.upload_id,
                    )
                    self._watch(record.upload_id, record.submitted_at)
                else:
                    # a file outside this service's folder is another deployment's (a database
                    # restored or copied from it): not processed, and not deleted
                    await self._interrupted(session, record.upload_id, self._left_behind(record.stored_path))
            await session.commit()
        for upload_id in resumed:
            log.info("resuming upload %s interrupted by a restart", upload_id)
            self.start(upload_id)
        if self._directory is not None:
            named = {Path(r.stored_path).resolve() for r in left if r.stored_path}  # held ones too
            # file times are the file system's wall clock, not the app's (which a test may set)
            removed = await asyncio.to_thread(remove_leftovers, self._directory, named, time.time())
            if removed:
                log.info("removed %d file(s) stopped processes left in %s", removed, self._directory)
        return len(resumed)

    async def _interrupted(
        self, session: AsyncSession, upload_id: uuid.UUID, message: str, **counts: int
    ) -> None:
        """Record an upload a stopped process left as failed `interrupted`, its file let go."""
        await repository.update_upload(
            session,
            upload_id,
            status="failed",
            finished_at=self._clock(),
            stored_path=None,
            problem={"code": "interrupted", "message": message},
            **counts,
        )

    def _left_behind(self, stored_path: str | None) -> str:
        """Why an upload a stopped process left is failed, not run."""
        if stored_path and not self._within(Path(stored_path)):
            return (
                f"the service that queued it stopped, and its file is in another upload folder "
                f"({Path(stored_path).parent}) that this service does not process; upload again"
            )
        return "the service stopped and the file is gone; upload again"

    def _watch(self, upload_id: uuid.UUID, submitted_at: datetime) -> None:
        """Fail an upload left to a process with another upload folder if it is still queued, not
        taken, once `QUEUED_ELSEWHERE` old: that process may have stopped for good (found by an
        upgrade probe: a deployment moved to a new folder left such an upload queued for as long
        as this process ran)."""
        task = asyncio.create_task(
            self._fail_if_not_taken(upload_id, submitted_at), name=f"watch-{upload_id}"
        )
        self._watchers.add(task)
        task.add_done_callback(self._watchers.discard)

    async def _fail_if_not_taken(self, upload_id: uuid.UUID, submitted_at: datetime) -> None:
        await asyncio.sleep(max(0.0, (submitted_at + QUEUED_ELSEWHERE - self._clock()).total_seconds()))
        async with self._sessionmaker() as session:
            if not await repository.take_upload(session, upload_id):
                return  # its process is running it
            try:
                record = await repository.get_upload(session, upload_id)
                if record is not None and record.status == "queued":
                    await self._interrupted(
                        session,
                        upload_id,
                        "queued by a service with another upload folder that did not take it within "
                        f"{QUEUED_ELSEWHERE}; upload again",
                    )
                    log.info("upload %s: never taken by the process that queued it; marked failed", upload_id)
                await session.commit()
            finally:
                await repository.release_upload(session, upload_id)
                await session.commit()

    def _within(self, path: Path) -> bool:
        """Whether a file is in this service's upload folder (a database restored or copied from
        another deployment names files in that deployment's folder)."""
        return self._directory is None or path.resolve().parent == self._directory.resolve()

    def _holds(self, path: Path) -> bool:
        """Whether an unfinished upload's file is there, in this service's upload folder."""
        return path.exists() and self._within(path)

    async def wait_idle(self) -> None:
        """Wait until every queued upload is done."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def stop(self) -> None:
        """Cancel running uploads (their work is rolled back; they resume on the next start)."""
        for task in [*self._tasks, *self._watchers]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._watchers, return_exceptions=True)


def remove_leftovers(directory: Path, named: set[Path], now: float) -> int:
    """Remove the upload files in `directory` that no unfinished upload names (`named`, resolved)
    and that nothing touched for `LEFTOVER_AFTER_SECONDS` before `now` (epoch seconds); how many."""
    removed = 0
    for path in directory.glob("*"):
        if path.suffix not in UPLOAD_FILE_SUFFIXES or any(
            path.with_suffix(suffix).resolve() in named for suffix in STORED_FILE_SUFFIXES
        ):
            continue
        try:
            idle = now - path.stat().st_mtime
        except FileNotFoundError:  # removed meanwhile by its own process
            continue
        if path.is_file() and idle >= LEFTOVER_AFTER_SECONDS:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
