"""An officer roster read into the staging table: each chunk's rows checked on a reader thread
and copied in while the next is read, row errors sent out as they are found."""

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.errors import ErrorItem
from coverage_ledger.uploads import staging_repository
from coverage_ledger.uploads.cells import first_month_first
from coverage_ledger.uploads.formats import Table
from coverage_ledger.uploads.job_progress import PROGRESS_SECONDS, Progress
from coverage_ledger.uploads.officer_rows import RosterContext, check_header
from coverage_ledger.uploads.parsing import Chunk, read_chunk

CHUNK_ROWS = 5_000
"""Rows read and checked per hand-off from the worker thread."""


@dataclass
class StagedFile:
    """What reading a roster into the staging table came to."""

    rows_total: int = 0
    rejected_alone: int = 0
    staged: int = 0
    month_first: ErrorItem | None = None
    """The first date only month/day/year reads: the file's other slash dates are then in doubt."""


async def stage_file(
    work: AsyncSession, progress: Progress, table: Table, context: RosterContext, phases: dict[str, float]
) -> StagedFile:
    """Read, check and stage every row; row errors go out as they are found.

    One worker thread reads the next chunk while PostgreSQL takes the current one, so Python and
    PostgreSQL work at the same time; a single thread also keeps the C allocator to one arena
    (the default pool's threads each grew their own, which showed as server memory)."""
    positions = check_header(table.header)
    tally = StagedFile()
    started = time.monotonic()
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="roster-reader") as reader:

        def next_chunk() -> asyncio.Future[Chunk]:
            return loop.run_in_executor(reader, read_chunk, table.rows, positions, context, CHUNK_ROWS)

        async with staging_repository.staging_copy(work) as copy:
            pending: asyncio.Future[Chunk] | None = next_chunk()
            while pending is not None:
                chunk = await pending
                pending = None if chunk.exhausted else next_chunk()
                if chunk.copy_data:
                    await copy.write(chunk.copy_data)
                if chunk.errors:
                    await progress.errors(chunk.errors)
                    tally.month_first = first_month_first(tally.month_first, chunk.errors)
                tally.rows_total += chunk.rows_seen
                tally.rejected_alone += chunk.rejected_rows
                tally.staged += chunk.rows_staged
                if time.monotonic() - progress.last >= PROGRESS_SECONDS:
                    await progress.set(
                        rows_done=tally.rows_total,
                        rows_rejected=tally.rejected_alone,
                        phase_seconds={**phases, "parse": round(time.monotonic() - started, 3)},
                    )
    return tally


def row_counts(tally: StagedFile, verdicts: dict[str, int]) -> dict[str, int]:
    """The upload's row counts from the rows staged and the verdicts of the checks in SQL."""
    duplicates = verdicts.get("repeat", 0) + verdicts.get("existing", 0) + verdicts.get("unchanged", 0)
    rejected = tally.rejected_alone + verdicts.get("error", 0)
    return {
        "rows_total": tally.rows_total,
        "rows_done": tally.rows_total,
        "rows_rejected": rejected,
        "rows_duplicate": duplicates,
        "rows_accepted": tally.staged - verdicts.get("error", 0) - duplicates,
    }
