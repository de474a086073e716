"""A backup read and restored: its schema revision, schema and head taken from the archive itself,
the whole archive read through before any database is touched, and `pg_restore` into an empty
database in one transaction, after which the service's role gets its rights and unfinished
uploads are closed."""

import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

from coverage_ledger.database.backup import (
    BackupError,
    ProgramFailed,
    client_program,
    connection_for_programs,
    run_program,
)
from coverage_ledger.database.engine import libpq_url
from coverage_ledger.database.writer_role import FIRST_REVISION_WITH_ROLE, grant_writer_role
from coverage_ledger.uploads.repository import UNFINISHED


@dataclass(frozen=True, slots=True)
class ArchivedLedger:
    """What a backup file holds, read from the file alone."""

    schema_revision: str
    schema: str
    """The PostgreSQL schema its tables are in (`public` unless the ledger was kept elsewhere)."""
    head_tx_seq: int
    head_hash: str | None


_NOT_A_BACKUP = "is not a backup written by `coverage-ledger db backup`"

# an upload the backup caught unfinished has its file, if anywhere, in the old deployment's
# folder: resuming it there would process (and delete) a file that is not this ledger's
_CLOSE_UNFINISHED_UPLOADS = f"""
UPDATE upload
   SET status = 'failed', finished_at = now(), stored_path = NULL,
       problem = jsonb_build_object(
           'code', 'interrupted',
           'message', 'the ledger was restored from a backup taken before this upload finished; '
                      'nothing of it was written: upload the file again')
 WHERE {UNFINISHED}
"""


def _table_rows(source: Path, table: str, schema: str) -> Iterator[dict[str, str]]:
    """The rows of one table's data in the archive, streamed (COPY text format, by column name);
    a BackupError once read if pg_restore failed."""
    process = subprocess.Popen(  # noqa: S603 (PostgreSQL's pg_restore, arguments we built)
        [
            str(client_program("pg_restore")),
            "--data-only",
            f"--schema={schema}",
            f"--table={table}",
            "--file=-",
            str(source),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    columns: list[str] | None = None
    with process:
        for line in process.stdout:
            line = line.rstrip("\n")
            if columns is None:
                header = re.fullmatch(rf"COPY \S*{table} \(([^)]*)\) FROM stdin;", line)
                if header is not None:
                    columns = [name.strip().strip('"') for name in header.group(1).split(",")]
            elif line == "\\.":
                columns = None
            else:
                yield dict(zip(columns, line.split("\t"), strict=False))
        said = " ".join(process.stderr.read().split())[:300]
    if process.returncode != 0:
        raise BackupError(f"reading {table} from {source} failed: {said or f'exit {process.returncode}'}")


def read_archive(source: Path, *, known_revisions: set[str]) -> ArchivedLedger:
    """What the backup `source` holds, after reading it through (a file cut short or damaged is
    found here, before any database is touched); a BackupError if it is no ledger's backup, a
    damaged one, or one a newer release made."""
    if not source.is_file():
        raise BackupError(f"{source} is not a file")
    environment = dict(os.environ)
    try:
        listing = run_program(
            [client_program("pg_restore"), "--list", source], environment=environment, what="pg_restore"
        )
    except ProgramFailed as exc:
        raise BackupError(f"{source} {_NOT_A_BACKUP} (pg_restore: {exc.said})") from exc
    found = re.search(r"\bTABLE DATA (\S+) ledger_event\b", listing)
    if found is None:
        raise BackupError(
            f"{source} is a PostgreSQL archive, but not of a coverage-ledger database (no event log)"
        )
    schema = found.group(1)
    # every byte read and decompressed: pg_restore's listing reads only the table of contents
    run_program(
        [client_program("pg_restore"), "--file=/dev/null", source],
        environment=environment,
        what=f"reading {source} through (it is damaged or cut short)",
    )
    versions = [row.get("version_num", "") for row in _table_rows(source, "alembic_version", schema)]
    if not versions or not versions[0]:
        raise BackupError(f"{source} holds no schema revision: it is not of a migrated ledger")
    revision = versions[0]
    if revision not in known_revisions:
        raise BackupError(
            f"{source} holds schema revision {revision}, which this release does not know: it was made "
            "by a newer release; restore it with that release (or a newer one)"
        )
    head_seq, head_hash = 0, None
    for tx in _table_rows(source, "ledger_tx", schema):  # in the order of the table's pages
        if int(tx["tx_seq"]) > head_seq:
            head_seq, head_hash = int(tx["tx_seq"]), tx["hash"]
    return ArchivedLedger(revision, schema, head_seq, head_hash)


def _check_target(conn: psycopg.Connection, *, source: Path, archived: ArchivedLedger) -> None:
    """Refuse a database holding anything where the ledger would go, or whose connections would
    not read the schema the archive puts it in: the service would then see no ledger and start a
    new one beside the restored tables."""
    row = conn.execute(
        "SELECT current_database(), current_user, current_setting('search_path'), "
        "       array(SELECT nspname::text FROM pg_namespace)"
    ).fetchone()
    assert row is not None
    database, user, search_path, existing = row
    entries = [entry.strip().strip('"') for entry in search_path.split(",")]
    entries = [user if entry == "$user" else entry for entry in entries if entry]
    # once restored, the archive's schema exists: the first existing schema of the path is read
    read = next((entry for entry in entries if entry in existing or entry == archived.schema), None)
    if read != archived.schema:
        raise BackupError(
            f"{source} holds the ledger in schema {archived.schema}, but this user's connections "
            f"would read schema {read}: restore as a user whose search_path puts {archived.schema} first"
        )
    if archived.schema != "public" and archived.schema in existing:
        raise BackupError(
            f"database {database} has a schema {archived.schema} already: the restore creates it; "
            "restore into a database without it"
        )
    found = conn.execute(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'S')",
        (archived.schema,),
    ).fetchone()
    relations = found[0] if found else 0
    if relations:
        raise BackupError(
            f"database {database} is not empty ({relations} tables and sequences): restore into a new "
            "database (set LEDGER_DATABASE_NAME, or DATABASE_URL, to one that holds nothing)"
        )


def restore(url: str, *, source: Path, archived: ArchivedLedger) -> None:
    """Restore the backup `source` (as `read_archive` read it) into the empty database at `url`
    in one transaction (a failure leaves it empty); then give the service's role its rights there
    and close the uploads the backup caught unfinished."""
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        _check_target(conn, source=source, archived=archived)
    conninfo, environment = connection_for_programs(url)
    run_program(
        [
            client_program("pg_restore"),
            # the tables are the restoring user's, as they are the migrating user's on a new server;
            # the rights of the service's role are granted anew below, since that user may differ
            # (and `db upgrade` grants them again, should this process stop before it does)
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
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute(_CLOSE_UNFINISHED_UPLOADS)
        if archived.schema_revision.isdigit() and int(archived.schema_revision) >= FIRST_REVISION_WITH_ROLE:
            grant_writer_role(conn)


def holds_tables(url: str) -> bool:
    """Whether the database at `url` holds any table (a restore stopped after pg_restore's commit)."""
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT EXISTS (SELECT FROM pg_tables "
            "WHERE schemaname NOT IN ('pg_catalog', 'information_schema'))"
        ).fetchone()
    return bool(row and row[0])
