"""`coverage-ledger db`: the schema's migrations, and the whole database backed up and restored."""

from pathlib import Path
from typing import Annotated

import typer
from alembic.script import ScriptDirectory

from coverage_ledger.cli_support import configure_logging, console, run_work, stopped_by_kill_as_by_ctrl_c
from coverage_ledger.database.backup import BackupError, back_up, restorable_revision, restore
from coverage_ledger.database.engine import SCHEMA_REVISION
from coverage_ledger.database.location import database_url
from coverage_ledger.database.migrate import alembic_config, upgrade_database
from coverage_ledger.ledger.verification import verify_ledger
from coverage_ledger.settings import get_settings

db_app = typer.Typer(help="Database schema, backups and restores.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(
    allow_other_sessions: Annotated[
        bool,
        typer.Option(
            help="Migrate even while other sessions use the database (by default refused: stop "
            "every coverage-ledger process first)."
        ),
    ] = False,
) -> None:
    """Apply the Alembic migrations, then write the shipped reference data into an empty ledger."""
    configure_logging()
    url, _ = database_url(get_settings())
    written = upgrade_database(url, allow_other_sessions=allow_other_sessions)
    typer.echo(f"schema at head; reference data txs written: {written or 'none (already present)'}")


@db_app.command("backup")
def db_backup(
    file: Annotated[
        Path,
        typer.Argument(dir_okay=False, help="The backup file to write (never overwritten)."),
    ],
) -> None:
    """Write the whole database (log, person vault, projections, keys, uploads) to FILE in one
    snapshot, while the service goes on serving; print the ledger head it holds. The file holds
    personal data and is readable by you alone."""
    configure_logging()
    url, _ = database_url(get_settings())
    try:
        with stopped_by_kill_as_by_ctrl_c():
            written = back_up(url, target=file)
    except BackupError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    except KeyboardInterrupt:
        console.print(f"interrupted: no backup written ({file} does not exist)")
        raise typer.Exit(130) from None
    head = written.head
    typer.echo(f"backup written: {written.path} ({written.size:,} bytes, sha256 {written.sha256})")
    if head.hash is None:
        typer.echo(f"schema {head.schema_revision}; the ledger holds no tx yet")
        return
    typer.echo(
        f"schema {head.schema_revision}; head tx {head.tx_seq} {head.hash} recorded at {head.recorded_at}"
    )
    typer.echo(
        "keep the head hash apart from the file: after a restore, "
        f"`coverage-ledger verify --from-hash {head.hash}` proves the history up to it is the one backed up"
    )


@db_app.command("restore")
def db_restore(
    file: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, readable=True, help="A file `db backup` wrote."),
    ],
) -> None:
    """Restore FILE into an empty database (DATABASE_URL's, or LEDGER_DATABASE_NAME in the embedded
    cluster, created if missing) in one transaction, then verify the chain and print its head."""
    configure_logging()
    scripts = ScriptDirectory.from_config(alembic_config())
    try:
        # the file is read first: a mistaken one creates no database
        revision = restorable_revision(file, known_revisions={s.revision for s in scripts.walk_revisions()})
        url, _ = database_url(get_settings())
        with stopped_by_kill_as_by_ctrl_c():
            restore(url, source=file, revision=revision)
    except BackupError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    except KeyboardInterrupt:
        console.print("interrupted: nothing restored (the restore is one transaction; the database is empty)")
        raise typer.Exit(130) from None
    typer.echo(f"restored {file} (schema {revision})")
    report = run_work(verify_ledger, migrate=False, reads=True)
    if not report.ok:
        where = f" at tx {report.broken_tx_seq}" if report.broken_tx_seq is not None else ""
        typer.echo(f"BROKEN{where}: {report.reason}: the backup does not hold an intact ledger")
        raise typer.Exit(1)
    typer.echo(f"ok: {report.txs_checked} txs checked; head tx {report.head_tx_seq} {report.head_hash}")
    if revision != SCHEMA_REVISION:
        typer.echo(
            f"the schema is an earlier release's ({revision}): `coverage-ledger db upgrade` (or `serve`) "
            f"migrates it to {SCHEMA_REVISION}"
        )
