"""All SQL of uploads: the upload records and their errors, the staging table of a roster, the
set-based checks against the file and the ledger, and the events a roster writes."""

import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.database import raw
from coverage_ledger.database.raw import driver_connection
from coverage_ledger.errors import ErrorItem
from coverage_ledger.ledger.snapshot import RegionDefinition


@dataclass(frozen=True, slots=True)
class UploadRecord:
    """An upload as stored (the `upload` table's columns; see `database/operational_models.Upload`)."""

    upload_id: uuid.UUID
    kind: str
    committee: str
    key_name: str
    key_region_prefix: str | None
    dry_run: bool
    policy: str
    mode: str
    filename: str
    file_format: str
    file_sha256: str
    size_bytes: int
    stored_path: str | None
    status: str
    problem: dict[str, Any] | None
    rows_total: int
    rows_done: int
    rows_accepted: int
    rows_rejected: int
    rows_duplicate: int
    outcome: dict[str, Any]
    phase_seconds: dict[str, Any]
    tx_seq: int | None
    submitted_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


UPLOAD_COLUMNS = (
    "upload_id, kind, committee, key_name, key_region_prefix, dry_run, policy, mode, filename, "
    "file_format, file_sha256, size_bytes, stored_path, status, problem, rows_total, rows_done, "
    "rows_accepted, rows_rejected, rows_duplicate, outcome, phase_seconds, tx_seq, submitted_at, "
    "started_at, finished_at"
)


async def insert_upload(session: AsyncSession, *, values: dict[str, Any]) -> None:
    """Record a received upload (status queued)."""
    await raw.execute(
        session,
        "INSERT INTO upload (upload_id, kind, committee, key_name, key_region_prefix, dry_run, policy, mode, "
        "filename, file_format, file_sha256, size_bytes, stored_path, status, rows_total, rows_done, "
        "rows_accepted, rows_rejected, rows_duplicate, outcome, phase_seconds, submitted_at) VALUES "
        "(%(upload_id)s, %(kind)s, %(committee)s, %(key_name)s, %(key_region_prefix)s, %(dry_run)s, "
        "%(policy)s, %(mode)s, %(filename)s, %(file_format)s, %(file_sha256)s, %(size_bytes)s, "
        "%(stored_path)s, 'queued', 0, 0, 0, 0, 0, '{}', %(phase_seconds)s, %(submitted_at)s)",
        {**values, "phase_seconds": Jsonb(values["phase_seconds"])},
    )


def _record(row: Any) -> UploadRecord:
    return UploadRecord(*row)


async def get_upload(session: AsyncSession, upload_id: uuid.UUID) -> UploadRecord | None:
    """One upload record."""
    row = (
        await raw.execute(
            session, f"SELECT {UPLOAD_COLUMNS} FROM upload WHERE upload_id = %(id)s", {"id": upload_id}
        )
    ).one_or_none()
    return None if row is None else _record(row)


async def find_committed_twin(
    session: AsyncSession,
    *,
    committee: str,
    kind: str,
    sha256: str,
    policy: str,
    mode: str,
    key_region_prefix: str | None,
) -> UploadRecord | None:
    """The earlier upload of the same file with the same options, checked within the same key
    region (another region would judge its rows differently), that succeeded, if any. One whose
    every row was refused (say over an overlap corrected since) is no twin: the same file sent
    again is checked again. One that wrote nothing because every row was already there stays a
    twin: run again after a later roster, a replacement would undo that roster."""
    row = (
        await raw.execute(
            session,
            f"SELECT {UPLOAD_COLUMNS} FROM upload WHERE committee = %(committee)s AND kind = %(kind)s "
            "AND file_sha256 = %(sha)s AND policy = %(policy)s AND mode = %(mode)s AND NOT dry_run "
            "AND key_region_prefix IS NOT DISTINCT FROM %(region)s "
            "AND status = 'succeeded' AND (tx_seq IS NOT NULL OR rows_rejected < rows_total) "
            "ORDER BY submitted_at LIMIT 1",
            {
                "committee": committee,
                "kind": kind,
                "sha": sha256,
                "policy": policy,
                "mode": mode,
                "region": key_region_prefix,
            },
        )
    ).one_or_none()
    return None if row is None else _record(row)


async def list_uploads(
    session: AsyncSession,
    *,
    key_name: str | None,
    kind: str | None,
    committee: str | None,
    region_prefix: str | None,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[UploadRecord]:
    """Uploads newest first, filtered to what the caller may see, after a cursor."""
    rows = await raw.execute(
        session,
        f"SELECT {UPLOAD_COLUMNS} FROM upload WHERE (%(key)s::text IS NULL OR key_name = %(key)s) "
        "AND (%(kind)s::text IS NULL OR kind = %(kind)s) "
        "AND (%(committee)s::text IS NULL OR committee = %(committee)s) "
        "AND (%(region)s::text IS NULL OR key_region_prefix = %(region)s "
        "     OR key_region_prefix LIKE %(region_like)s) "
        "AND (%(before_at)s::timestamptz IS NULL "
        "     OR (submitted_at, upload_id) < (%(before_at)s, %(before_id)s)) "
        "ORDER BY submitted_at DESC, upload_id DESC LIMIT %(limit)s",
        {
            "key": key_name,
            "kind": kind,
            "committee": committee,
            "region": region_prefix,
            "region_like": f"{region_prefix}.%" if region_prefix else None,
            "before_at": before[0] if before else None,
            "before_id": before[1] if before else None,
            "limit": limit,
        },
    )
    return [_record(row) for row in rows]


async def update_upload(session: AsyncSession, upload_id: uuid.UUID, **changes: Any) -> None:
    """Set some columns of an upload record."""
    assignments = ", ".join(f"{name} = %({name})s" for name in changes)
    values = {name: Jsonb(value) if isinstance(value, dict) else value for name, value in changes.items()}
    await raw.execute(
        session,
        f"UPDATE upload SET {assignments} WHERE upload_id = %(upload_id)s",
        {**values, "upload_id": upload_id},
    )


UPLOAD_LOCK_CLASS = 0x75706C64  # "upld": the advisory-lock namespace of uploads being run


def _upload_lock(upload_id: uuid.UUID) -> dict[str, int]:
    return {"class": UPLOAD_LOCK_CLASS, "id": int.from_bytes(upload_id.bytes[:4], "big", signed=True)}


async def take_upload(session: AsyncSession, upload_id: uuid.UUID) -> bool:
    """Hold the upload for the session's connection (a session-level advisory lock, kept across
    its commits and freed if the process dies); False if a live process already holds it."""
    taken = await raw.scalar(
        session, "SELECT pg_try_advisory_lock(%(class)s, %(id)s)", _upload_lock(upload_id)
    )
    return bool(taken)


async def release_upload(session: AsyncSession, upload_id: uuid.UUID) -> None:
    """Let go of an upload `take_upload` held (before the connection goes back to the pool)."""
    await raw.execute(session, "SELECT pg_advisory_unlock(%(class)s, %(id)s)", _upload_lock(upload_id))


async def upload_held_elsewhere(session: AsyncSession, upload_id: uuid.UUID) -> bool:
    """Whether a live process is running the upload now."""
    if await take_upload(session, upload_id):
        await release_upload(session, upload_id)
        return False
    return True


UNFINISHED = "status IN ('queued', 'validating', 'committing')"
"""SQL: an upload not yet succeeded or failed, which a start resumes or fails (a restore closes it)."""


async def unfinished_uploads(session: AsyncSession) -> list[UploadRecord]:
    """Uploads a stopped process left queued, validating or committing."""
    rows = await raw.execute(
        session,
        f"SELECT {UPLOAD_COLUMNS} FROM upload WHERE {UNFINISHED} ORDER BY submitted_at",
    )
    return [_record(row) for row in rows]


async def forget_errors(session: AsyncSession, upload_id: uuid.UUID) -> None:
    """Drop the errors of an interrupted attempt before it runs again (operational table)."""
    await raw.execute(session, "DELETE FROM upload_error WHERE upload_id = %(id)s", {"id": upload_id})


async def write_errors(session: AsyncSession, upload_id: uuid.UUID, errors: Sequence[ErrorItem]) -> None:
    """Append row errors of an upload."""
    if not errors:
        return
    conn = await driver_connection(session)
    async with (
        conn.cursor() as cursor,
        cursor.copy('COPY upload_error (upload_id, row, "column", code, message) FROM STDIN') as copy,
    ):
        for error in errors:
            column = error.column.replace("\x00", "\\x00") if error.column else error.column
            message = error.message.replace("\x00", "\\x00")  # text holds no NUL; a cell might
            await copy.write_row((upload_id, error.row or 0, column, error.code, message))


async def stream_errors(
    session: AsyncSession, upload_id: uuid.UUID
) -> AsyncIterator[tuple[int, str | None, str, str]]:
    """The errors of an upload in row order, streamed from a server-side cursor."""
    conn = await driver_connection(session)
    async with conn.cursor(name="upload_errors") as cursor:
        await cursor.execute(
            'SELECT row, "column", code, message FROM upload_error WHERE upload_id = %s '
            "ORDER BY row, error_id",
            (upload_id,),
        )
        async for row in cursor:
            yield row


async def uploaded_terms(session: AsyncSession, event_ids: Sequence[str]) -> list[Any]:
    """(event_id, payload, recorded_at, tx_seq) of those enrolments that a roster upload wrote
    (and so invoiced); enrolments appended any other way, an admin's corrections included, are
    left out."""
    if not event_ids:
        return []
    rows = await raw.execute(
        session,
        "SELECT e.event_id, e.payload, t.recorded_at, t.tx_seq FROM ledger_event e "
        "JOIN ledger_tx t ON t.tx_id = e.tx_id "
        "WHERE e.event_id = ANY(%(ids)s) AND e.type = 'officer.enrolled' AND t.source LIKE 'upload:%%'",
        {"ids": list(event_ids)},
        prepare=False,
    )
    return list(rows)


async def invoice_lines(session: AsyncSession, upload_id: uuid.UUID) -> list[Any]:
    """The invoice of an upload, per region."""
    rows = await raw.execute(
        session,
        "SELECT region_code, officers, officer_months, amount, rule_id FROM upload_invoice "
        "WHERE upload_id = %(id)s ORDER BY region_code",
        {"id": upload_id},
    )
    return list(rows)


async def write_invoice(
    session: AsyncSession, *, upload_id: uuid.UUID, lines: Iterable[tuple[str, int, int, int, str]]
) -> None:
    """Store the invoice lines (region, officers, officer months, amount, rule ids) of an upload."""
    items = list(lines)
    await raw.execute(
        session,
        "INSERT INTO upload_invoice (upload_id, region_code, officers, officer_months, amount, rule_id) "
        "SELECT %(upload)s, r, o, m, a, u FROM unnest(%(regions)s::text[], %(officers)s::bigint[], "
        "%(months)s::bigint[], %(amounts)s::bigint[], %(rules)s::text[]) AS x(r, o, m, a, u)",
        {
            "upload": upload_id,
            "rules": [i[4] for i in items],
            "regions": [i[0] for i in items],
            "officers": [i[1] for i in items],
            "months": [i[2] for i in items],
            "amounts": [i[3] for i in items],
        },
    )


async def savepoint(session: AsyncSession, name: str) -> None:
    """SAVEPOINT on the job's transaction."""
    await raw.execute(session, f"SAVEPOINT {name}")


async def rollback_to(session: AsyncSession, name: str) -> None:
    """ROLLBACK TO SAVEPOINT (locks taken after it are released too)."""
    await raw.execute(session, f"ROLLBACK TO SAVEPOINT {name}")


async def regions_in_force(session: AsyncSession) -> tuple[set[str], set[str]]:
    """Every region code in force, and the district codes among them (NIK prefixes)."""
    # two arrays rather than ~90,000 rows: building the rows cost more than checking a 1,000-row roster
    row = (
        await raw.execute(
            session,
            "SELECT array_agg(code) AS regions, array_agg(code) FILTER (WHERE level = 3) AS districts "
            "FROM region WHERE tx_to IS NULL",
        )
    ).one()
    return set(row.regions or ()), set(row.districts or ())


async def bounded_regions(session: AsyncSession) -> dict[str, list[RegionDefinition]]:
    """The definitions in force of each region code that some decree bounds in valid time (a code
    defined later than the genesis list, or retired): few, where the rest are always in force."""
    rows = await raw.execute(
        session,
        "SELECT code, event_id, valid_from, valid_to FROM region "
        "WHERE tx_to IS NULL AND code IN (SELECT code FROM region WHERE tx_to IS NULL "
        "                                  AND (valid_from IS NOT NULL OR valid_to IS NOT NULL))",
    )
    bounded: dict[str, list[RegionDefinition]] = {}
    for row in rows:
        bounded.setdefault(row.code, []).append(RegionDefinition(row.event_id, row.valid_from, row.valid_to))
    return bounded
