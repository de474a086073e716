"""`coverage-ledger db`: the schema's migrations, and the whole database backed up and restored."""

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from alembic.script import ScriptDirectory

from coverage_ledger.cli_support import configure_logging, console, run_work, stopped_by_kill_as_by_ctrl_c
from coverage_ledger.database.backup import BackupError, back_up
from coverage_ledger.database.engine import SCHEMA_REVISION
from coverage_ledger.database.location import database_url, existing_database_url
from coverage_ledger.database.migrate import alembic_config, downgrade_schema, upgrade_database
from coverage_ledger.database.restore import ArchivedLedger, holds_tables, read_archive, restore
from coverage_ledger.ledger.verification import verify_ledger
from coverage_ledger.settings import get_settings

db_app = typer.Typer(help="Database schema, backups and restores.", no_args_is_help=True)

BackupFileArgument = Annotated[Path, typer.Argument(dir_okay=False, help="A file `db backup` wrote.")]


@contextlib.contextmanager
def _stopped_on_backup_error() -> Iterator[None]:
    """A backup or restore that cannot be done ends the command with its reason, exit 1."""
    try:
        yield
    except BackupError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc


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


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[
        str,
        typer.Argument(help='The schema revision to go back to: the older release\'s (README, "Upgrading").'),
    ],
    allow_other_sessions: Annotated[
        bool,
        typer.Option(help="Downgrade even while other sessions use the database (by default refused)."),
    ] = False,
) -> None:
    """Undo migrations down to REVISION, to run an older release on this database again (its
    writes since the upgrade are kept). Back up first; restoring the backup taken before the
    upgrade is the other way back. Then run the older release, not this one: this one's `serve`
    would upgrade the schema again."""
    configure_logging()
    url = existing_database_url(get_settings())
    before = downgrade_schema(url, revision, allow_other_sessions=allow_other_sessions)
    typer.echo(f"schema downgraded from {before} to {revision}; now run the release of that schema")


@db_app.command("backup")
def db_backup(
    file: Annotated[
        Path, typer.Argument(dir_okay=False, help="The backup file to write (never overwritten).")
    ],
) -> None:
    """Write the whole database (log, person vault, projections, keys, uploads) to FILE in one
    snapshot, while the service goes on serving; print the ledger head it holds. The file holds
    personal data and is readable by you alone."""
    configure_logging()
    url = existing_database_url(get_settings())
    try:
        with _stopped_on_backup_error(), stopped_by_kill_as_by_ctrl_c():
            written = back_up(url, target=file.expanduser())
    except KeyboardInterrupt:
        if file.expanduser().exists():  # stopped after the file got its name, while hashing it
            console.print(
                f"interrupted: {file} is written whole; `coverage-ledger db check-backup` shows its head"
            )
        else:
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


def _read(file: Path) -> ArchivedLedger:
    """The archive read through, or the command stopped with what is wrong with it."""
    scripts = ScriptDirectory.from_config(alembic_config())
    with _stopped_on_backup_error():
        return read_archive(file, known_revisions={s.revision for s in scripts.walk_revisions()})


@db_app.command("check-backup")
def db_check_backup(file: BackupFileArgument) -> None:
    """Read FILE through without restoring it: say whether it is intact (not cut short or damaged)
    and which schema and ledger head it holds."""
    archived = _read(file.expanduser())
    head = f"head tx {archived.head_tx_seq} {archived.head_hash}" if archived.head_hash else "no tx yet"
    typer.echo(f"intact: schema {archived.schema_revision}; {head}")


@db_app.command("restore")
def db_restore(file: BackupFileArgument) -> None:
    """Restore FILE into an empty database (DATABASE_URL's, or LEDGER_DATABASE_NAME in the embedded
    cluster, created if missing) in one transaction, then verify the chain and print its head."""
    configure_logging()
    file = file.expanduser()
    archived = _read(file)  # first: a damaged or mistaken file creates no database
    url, _ = database_url(get_settings())
    try:
        with _stopped_on_backup_error(), stopped_by_kill_as_by_ctrl_c():
            restore(url, source=file, archived=archived)
    except KeyboardInterrupt:
        if holds_tables(url):
            console.print(
                "interrupted after the data was restored: run `coverage-ledger db upgrade` (it grants the "
                "service's role its rights) and `coverage-ledger verify`, and give the service its own "
                "LEDGER_UPLOAD_DIR, where uploads the backup caught unfinished are failed at start"
            )
        else:
            console.print(
                "interrupted: nothing restored (the restore is one transaction; the database is empty)"
            )
        raise typer.Exit(130) from None
    typer.echo(f"restored {file} (schema {archived.schema_revision}); verifying the chain")
    try:
        with stopped_by_kill_as_by_ctrl_c():
            report = run_work(verify_ledger, migrate=False, reads=True)
    except KeyboardInterrupt:
        console.print("interrupted while verifying: the ledger is restored; run `coverage-ledger verify`")
        raise typer.Exit(130) from None
    if not report.ok:
        where = f" at tx {report.broken_tx_seq}" if report.broken_tx_seq is not None else ""
        typer.echo(f"BROKEN{where}: {report.reason}: the backup does not hold an intact ledger")
        raise typer.Exit(1)
    typer.echo(f"ok: {report.txs_checked} txs checked; head tx {report.head_tx_seq} {report.head_hash}")
    if archived.schema_revision != SCHEMA_REVISION:
        typer.echo(
            f"the schema is an earlier release's ({archived.schema_revision}): `coverage-ledger db upgrade` "
            f"(or `serve`) migrates it to {SCHEMA_REVISION}"
        )
