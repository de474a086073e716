"""What every upload job shares: its progress record (committed apart from the ledger write),
its status at the end, and its file."""

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.auth import service as auth_service
from coverage_ledger.errors import ErrorItem, Unauthenticated
from coverage_ledger.uploads import repository
from coverage_ledger.uploads.formats import FileRejected, SheetRead, Table, open_csv, open_xlsx
from coverage_ledger.uploads.repository import UploadRecord

log = logging.getLogger(__name__)
PROGRESS_SECONDS = 1.0
"""How often a running job writes its counters."""
LOG_PROGRESS_SECONDS = 10.0
"""How often a running upload writes a progress line to the log (and at each change of status)."""
ROWS_SHOWN = 1_000
"""Row numbers an outcome lists for each warning (the count is whole)."""


def nothing_valid(*, rejected: int, kept: int) -> bool:
    """Whether every row was rejected, none `kept` (to write, or found written already): under
    accept_valid too there is then nothing to commit, which is no success to report."""
    return rejected > 0 and kept == 0


def rows_rejected(rejected: int, why: str) -> dict[str, str]:
    """The problem of an upload that wrote nothing for its rejected rows, saying why."""
    return {"code": "rows_rejected", "message": f"{rejected} row(s) have errors; nothing was written ({why})"}


NO_VALID_ROW = "no row was valid"


async def refuse_if_key_gone(session: AsyncSession, *, key_name: str | None, now: datetime) -> None:
    """`FileRejected` when the key that uploaded the file has been revoked or has expired since:
    checked under the append lock, before the upload's tx is numbered ("401 from then on" holds
    for the uploads it left queued or running, and for one resumed after a restart)."""
    try:
        await auth_service.refuse_if_key_gone(session, key_name=key_name, now=now)
    except Unauthenticated as exc:
        raise key_gone(key_name, exc) from exc


def key_gone(key_name: str | None, exc: Unauthenticated) -> FileRejected:
    """How an upload ends whose key was revoked or expired before its tx was written."""
    return FileRejected(
        "key_revoked", f"the key {key_name!r} that uploaded this file is no longer valid ({exc.detail})"
    )


IMPORT_FILE_SUFFIX = ".import"
"""The suffix of a file `coverage-ledger import` stored (a served upload's is `.upload`): its
caller is the command, so an upload left unfinished by it is never resumed by a `serve`."""


def converted_path(stored: Path) -> Path:
    """Where an XLSX upload's first sheet is written as CSV, beside the file."""
    return stored.with_suffix(".csv-from-xlsx")


def discard_files(stored: Path) -> None:
    """Remove an upload's file and its CSV conversion, if there is one."""
    stored.unlink(missing_ok=True)
    converted_path(stored).unlink(missing_ok=True)


class Progress:
    """Status and counters of the running job, written on a side session and committed at once."""

    def __init__(self, side: AsyncSession, upload_id: uuid.UUID) -> None:
        self.side = side
        self.upload_id = upload_id
        self.last = 0.0
        self._status: str | None = None
        self._logged = 0.0

    @property
    def status(self) -> str | None:
        """The status last written."""
        return self._status

    async def set(self, **changes: Any) -> None:
        await repository.update_upload(self.side, self.upload_id, **changes)
        await self.side.commit()
        self.last = time.monotonic()
        # the server's log tells what a long upload is doing: each step, and its rows now and then
        status = changes.get("status", self._status)
        if status != self._status or self.last - self._logged >= LOG_PROGRESS_SECONDS:
            self._status, self._logged = status, self.last
            done = changes.get("rows_done")
            log.info("upload %s: %s%s", self.upload_id, status, f", {done:,} rows read" if done else "")

    async def errors(self, items: list[ErrorItem]) -> None:
        await repository.write_errors(self.side, self.upload_id, items)
        await self.side.commit()


class Job:
    """One run of one upload."""

    def __init__(
        self, work: AsyncSession, progress: Progress, record: UploadRecord, clock: Callable[[], datetime]
    ) -> None:
        self.work = work
        self.progress = progress
        self.record = record
        self.clock = clock
        self.phases: dict[str, float] = dict(record.phase_seconds or {})
        self.counts: dict[str, int] = {}
        self.outcome: dict[str, Any] = {}
        self.commit_started = time.monotonic()
        self.converted_sheet: SheetRead | None = None
        """The sheet an XLSX file's CSV conversion of this run holds (None: not converted yet)."""

    def reported_outcome(self) -> dict[str, Any]:
        """The outcome as stored: the job's, and a workbook's hidden rows whatever became of them."""
        return self.outcome | (self.converted_sheet.outcome() if self.converted_sheet else {})

    async def finish(
        self, status: str, *, problem: dict[str, str] | None = None, tx_seq: int | None = None
    ) -> None:
        await self.progress.set(
            status=status,
            problem=problem,
            tx_seq=tx_seq,
            finished_at=self.clock(),
            stored_path=None,
            outcome=self.reported_outcome(),
            phase_seconds=self.phases,
            **self.counts,
        )
        log.info(
            "upload %s (%s of %s): %s %s%s",
            self.record.upload_id,
            self.record.kind,
            self.record.committee,
            status,
            self.counts,
            f" in tx {tx_seq}" if tx_seq else "",
        )

    async def open_table(self) -> Table:
        """The upload's file for reading; an XLSX is converted first, off the event loop."""
        assert self.record.stored_path is not None, "an upload being run holds its file"
        path = Path(self.record.stored_path)
        if self.record.file_format == "xlsx":
            converted = converted_path(path)
            if self.converted_sheet is not None:  # a second pass reads the first one's conversion
                return open_csv(converted, sheet=self.converted_sheet)
            table = await asyncio.to_thread(open_xlsx, path, converted)
            self.converted_sheet = table.sheet
            return table
        return open_csv(path)

    async def run(self) -> None:
        """Process the upload (subclasses)."""
        raise NotImplementedError
