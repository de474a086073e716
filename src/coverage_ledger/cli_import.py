"""`coverage-ledger import`'s work: the upload run with a progress bar, the row errors written
next to the file, the outcome as a table (the command itself, its options, is in `cli`)."""

import asyncio
import signal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress, ProgressColumn, Task, TextColumn
from rich.table import Table
from rich.text import Text

from coverage_ledger.auth import service as keys_service
from coverage_ledger.clock import utc_now
from coverage_ledger.database.engine import create_engine_for, session_factory
from coverage_ledger.domain.access import SYSTEM
from coverage_ledger.errors import ErrorItem, InvalidInput
from coverage_ledger.uploads.importing import (
    estimated_rows,
    import_file,
    write_error_file,
)
from coverage_ledger.uploads.service import UploadOptions, UploadRecord


class RowsPerSecond(ProgressColumn):
    """Rows checked per second, as the upload record reports them."""

    def render(self, task: Task) -> Text:
        speed = task.fields.get("rows_per_second")
        return Text(f"{speed:,.0f} rows/s" if speed else "… rows/s")


class ImportProgress:
    """A rich progress bar fed with the upload record as it changes."""

    def __init__(self, progress: Progress, total: int | None) -> None:
        self.progress = progress
        self.task = progress.add_task("queued", total=total)

    def __call__(self, record: UploadRecord) -> None:
        if record is None:
            return
        elapsed = (utc_now() - record.started_at).total_seconds() if record.started_at else 0
        self.progress.update(
            self.task,
            completed=record.rows_done,
            description=record.status,
            rows_per_second=record.rows_done / elapsed if elapsed > 0 else None,
        )


async def import_with_progress(
    *,
    url: str,
    file: Path,
    options: UploadOptions,
    key: str | None,
    errors: Path | None,
    staging_dir: Path,
    console: Console,
    finished: list[UploadRecord],
) -> tuple[Any, bool]:
    """Run the upload of a local file with a progress bar and write its row errors next to it;
    the upload record and whether the file had been committed before."""
    # `kill` (SIGTERM) stops the import as Ctrl-C does: the upload is marked failed, nothing is
    # written, and no server resumes it later
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    engine = create_engine_for(url, pool_size=3)
    sessionmaker = session_factory(engine)
    try:
        principal = SYSTEM
        if key is not None:
            async with sessionmaker() as session:
                principal = await keys_service.principal_named(session, name=key, now=utc_now())
        if not (options.committee or "").strip() and principal.organisation is None:
            # said before a bar is drawn and a file copied, in the command's words (a probe)
            raise InvalidInput(
                f"give --committee: the key {key} has no organisation to take it from",
                [ErrorItem("missing_field", "name the committee", field="committee")],
            )
        columns = (*Progress.get_default_columns(), TextColumn("{task.completed:,.0f} rows"), RowsPerSecond())
        with Progress(*columns, console=console) as bar:
            record, earlier = await import_file(
                sessionmaker,
                path=file,
                options=options,
                principal=principal,
                clock=utc_now,
                staging_dir=staging_dir,
                on_progress=ImportProgress(bar, estimated_rows(file)),
                finished=finished,
            )
        if record.rows_rejected or record.problem:
            target = errors or file.with_name(file.name + ".errors.csv")
            try:
                written = await write_error_file(sessionmaker, upload_id=record.upload_id, target=target)
            except (KeyboardInterrupt, asyncio.CancelledError):
                target.unlink(missing_ok=True)  # (a part of the errors would read as all of them)
                raise
            except OSError as exc:  # the upload stands whatever happens to this copy of its errors
                console.print(
                    f"[yellow]warning:[/yellow] could not write the row errors to {target} "
                    f"({exc.strerror or exc}); GET /v1/uploads/{record.upload_id}/errors has them"
                )
            else:
                console.print(f"{written} error(s) written to {target}")
        return record, earlier
    finally:
        await engine.dispose()


def print_outcome(console: Console, record: UploadRecord, *, earlier: bool) -> bool:
    """Print the upload's counts and outcome as a table; whether it failed (a dry run whose
    upload would fail on its rows fails like it)."""
    if earlier:
        console.print(f"this file was already committed as upload {record.upload_id} (tx {record.tx_seq})")
    rehearsed_failure = record.rows_rejected and (record.outcome or {}).get("would_commit") is False
    table = Table(title=f"upload {record.upload_id}", show_header=False)
    for name in ("status", "rows_total", "rows_accepted", "rows_rejected", "rows_duplicate", "tx_seq"):
        table.add_row(name, str(getattr(record, name)))
    if rehearsed_failure:
        # the dry run itself ran to its end (`succeeded`); the upload it rehearsed would not
        table.add_row("verdict", "[red]would fail[/red]: nothing would be committed; see the row errors")
    for name, value in (record.outcome or {}).items():
        table.add_row(name, str(value))
    if record.problem:
        table.add_row("problem", f"{record.problem['code']}: {record.problem['message']}")
    console.print(table)
    return bool(record.status != "succeeded" or rehearsed_failure)
