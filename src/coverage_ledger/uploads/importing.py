"""`coverage-ledger import`: the upload job run in the calling process on a local file, with the
same checks, the same records and the same error file as an upload over HTTP."""

import asyncio
import contextlib
import csv
import hashlib
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from coverage_ledger.domain.access import Principal
from coverage_ledger.private_files import create_private, private_directory
from coverage_ledger.uploads import repository
from coverage_ledger.uploads.formats import XLSX_MAGIC
from coverage_ledger.uploads.job_progress import IMPORT_FILE_SUFFIX, discard_files
from coverage_ledger.uploads.repository import UploadRecord
from coverage_ledger.uploads.running import run_upload
from coverage_ledger.uploads.service import ReceivedFile, UploadOptions, error_rows, submit_upload

_BLOCK = 1 << 20


def copy_and_hash(source: Path, target: Path) -> tuple[str, int]:
    """Copy a local roster file into the upload folder; its sha256 and size in bytes."""
    digest = hashlib.sha256()
    size = 0
    with source.open("rb") as reader, create_private(target) as writer:
        while block := reader.read(_BLOCK):
            digest.update(block)
            writer.write(block)
            size += len(block)
    return digest.hexdigest(), size


def estimated_rows(path: Path) -> int | None:
    """Data rows of a CSV by its line breaks (quoted line breaks make it an estimate); None for XLSX."""
    with path.open("rb") as reader:
        if reader.read(4) == XLSX_MAGIC:
            return None
        reader.seek(0)
        lines = sum(block.count(b"\n") for block in iter(lambda: reader.read(_BLOCK), b""))
    return max(0, lines - 1)


async def import_file(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    path: Path,
    options: UploadOptions,
    principal: Principal,
    clock: Callable[[], datetime],
    staging_dir: Path,
    on_progress: Callable[[Any], None],
    finished: list[UploadRecord] | None = None,
) -> tuple[Any, bool]:
    """Upload a local file and process it; (final record, whether it was an earlier upload).
    `finished` receives the final record as soon as it is known: an interrupt after that (even
    one that ends the event loop before this returns) is told that outcome, not "nothing was
    written" (found by a CLI probe, of a roster written)."""
    finished = [] if finished is None else finished
    started = time.monotonic()
    stored = private_directory(staging_dir) / f"{uuid.uuid4().hex}{IMPORT_FILE_SUFFIX}"
    sha256, size = await asyncio.to_thread(copy_and_hash, path, stored)
    received = ReceivedFile(stored, path.name, sha256, size, time.monotonic() - started)
    async with sessionmaker() as session:
        try:
            record, existing = await submit_upload(
                session, principal=principal, options=options, received=received, now=clock()
            )
        except BaseException:
            stored.unlink(missing_ok=True)
            raise
        await session.commit()
    if existing:
        finished.append(record)
        return record, True
    job = asyncio.create_task(run_upload(sessionmaker, upload_id=record.upload_id, clock=clock))
    try:
        while not job.done():
            await asyncio.wait({job}, timeout=0.5)
            async with sessionmaker() as session:
                on_progress(await repository.get_upload(session, record.upload_id))
        await job
        async with sessionmaker() as session:
            final = await repository.get_upload(session, record.upload_id)
        assert final is not None
        finished.append(final)
    except BaseException:
        # interrupted (Ctrl-C): unlike a stopping server's upload, an import's caller is gone, so
        # it must not be resumed and committed later by `serve`: the job's transaction is rolled
        # back, the upload marked failed and its file removed
        job.cancel()
        with contextlib.suppress(BaseException):
            await job
        left, abandoned = await asyncio.shield(_abandon(sessionmaker, record.upload_id, stored, clock))
        if left is not None and not abandoned and not finished:
            finished.append(left)  # the upload had finished by itself (committed, perhaps)
        raise
    return final, False


async def _abandon(
    sessionmaker: async_sessionmaker[AsyncSession],
    upload_id: uuid.UUID,
    stored: Path,
    clock: Callable[[], datetime],
) -> tuple[UploadRecord | None, bool]:
    """Mark an interrupted import's upload failed unless it had finished; the record as left, and
    whether this marked it."""
    async with sessionmaker() as session:
        record = await repository.get_upload(session, upload_id)
        abandoned = record is not None and record.status not in {"succeeded", "failed"}
        if abandoned:
            await repository.update_upload(
                session,
                upload_id,
                status="failed",
                finished_at=clock(),
                stored_path=None,
                rows_accepted=0,  # as for any upload that wrote nothing
                problem={"code": "cancelled", "message": "the import was interrupted; nothing was written"},
            )
            await session.commit()
            record = await repository.get_upload(session, upload_id)
    discard_files(stored)
    return record, abandoned


async def write_error_file(
    sessionmaker: async_sessionmaker[AsyncSession], *, upload_id: uuid.UUID, target: Path
) -> int:
    """Write an upload's errors as CSV `row,column,code,message`; the number written."""
    count = 0
    async with sessionmaker() as session:
        with target.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            async for values in error_rows(session, upload_id=upload_id):
                writer.writerow(values)
                count += 1
    return count - 1  # the header
