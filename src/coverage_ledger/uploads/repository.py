"""All SQL of uploads: the upload records and their errors, the staging table of a roster, the
set-based checks against the file and the ledger, and the events a roster writes."""

import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from psycopg import AsyncCopy
from psycopg.types.json import Jsonb
from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.database import raw
from coverage_ledger.database.raw import driver_connection
from coverage_ledger.errors import ErrorItem
from coverage_ledger.uploads.officer_events import STAGED_COLUMNS

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


async def get_upload(session: AsyncSession, upload_id: uuid.UUID) -> Any | None:
    """One upload record."""
    return (
        await raw.execute(
            session, f"SELECT {UPLOAD_COLUMNS} FROM upload WHERE upload_id = %(id)s", {"id": upload_id}
        )
    ).one_or_none()


async def find_committed_twin(
    session: AsyncSession, *, committee: str, kind: str, sha256: str, policy: str, mode: str
) -> Any | None:
    """The earlier upload of the same file with the same options that committed, if any."""
    return (
        await raw.execute(
            session,
            f"SELECT {UPLOAD_COLUMNS} FROM upload WHERE committee = %(committee)s AND kind = %(kind)s "
            "AND file_sha256 = %(sha)s AND policy = %(policy)s AND mode = %(mode)s AND NOT dry_run "
            "AND status = 'succeeded' ORDER BY submitted_at LIMIT 1",
            {"committee": committee, "kind": kind, "sha": sha256, "policy": policy, "mode": mode},
        )
    ).one_or_none()


async def list_uploads(
    session: AsyncSession,
    *,
    key_name: str | None,
    committee: str | None,
    region_prefix: str | None,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Any]:
    """Uploads newest first, filtered to what the caller may see, after a cursor."""
    rows = await raw.execute(
        session,
        f"SELECT {UPLOAD_COLUMNS} FROM upload WHERE (%(key)s::text IS NULL OR key_name = %(key)s) "
        "AND (%(committee)s::text IS NULL OR committee = %(committee)s) "
        "AND (%(region)s::text IS NULL OR key_region_prefix = %(region)s "
        "     OR key_region_prefix LIKE %(region_like)s) "
        "AND (%(before_at)s::timestamptz IS NULL "
        "     OR (submitted_at, upload_id) < (%(before_at)s, %(before_id)s)) "
        "ORDER BY submitted_at DESC, upload_id DESC LIMIT %(limit)s",
        {
            "key": key_name,
            "committee": committee,
            "region": region_prefix,
            "region_like": f"{region_prefix}.%" if region_prefix else None,
            "before_at": before[0] if before else None,
            "before_id": before[1] if before else None,
            "limit": limit,
        },
    )
    return list(rows)


async def update_upload(session: AsyncSession, upload_id: uuid.UUID, **changes: Any) -> None:
    """Set some columns of an upload record."""
    assignments = ", ".join(f"{name} = %({name})s" for name in changes)
    values = {name: Jsonb(value) if isinstance(value, dict) else value for name, value in changes.items()}
    await raw.execute(
        session,
        f"UPDATE upload SET {assignments} WHERE upload_id = %(upload_id)s",
        {**values, "upload_id": upload_id},
    )


async def unfinished_uploads(session: AsyncSession) -> list[Any]:
    """Uploads a stopped process left queued, validating or committing."""
    rows = await raw.execute(
        session,
        f"SELECT {UPLOAD_COLUMNS} FROM upload WHERE status IN ('queued', 'validating', 'committing') "
        "ORDER BY submitted_at",
    )
    return list(rows)


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
            await copy.write_row((upload_id, error.row or 0, error.column, error.code, error.message))


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


async def invoice_lines(session: AsyncSession, upload_id: uuid.UUID) -> list[Any]:
    """The invoice of an upload, per region."""
    rows = await raw.execute(
        session,
        "SELECT region_code, officers, officer_months, amount, rule_id FROM upload_invoice "
        "WHERE upload_id = %(id)s ORDER BY region_code",
        {"id": upload_id},
    )
    return list(rows)


# --- the staging table of one officer roster (a temporary table of the job's session) ---

STAGING = "staged_officer"
VERDICTS = "staged_verdict"


async def create_staging(session: AsyncSession) -> None:
    """Create the session's staging tables (dropped by `drop_staging` or with the session)."""
    await drop_staging(session)  # left over on a pooled connection by a cancelled job
    await raw.execute(
        session,
        f"CREATE TEMPORARY TABLE {STAGING} (row bigint NOT NULL, nik text NOT NULL, role text NOT NULL, "
        "region_code text NOT NULL, valid_from date NOT NULL, valid_to date NOT NULL, registered_on date, "
        "registration_id text NOT NULL, registration_payload jsonb NOT NULL, "
        "registration_digest text NOT NULL, salt bytea NOT NULL, vault jsonb NOT NULL, "
        "enrolment_id text NOT NULL, enrolment_payload jsonb NOT NULL, "
        "enrolment_digest text NOT NULL)",
    )
    # rows that will not be written as new enrolments, and why: error, repeat, existing,
    # unchanged, changed (replace_roster: superseding old_event_id)
    await raw.execute(
        session,
        f"CREATE TEMPORARY TABLE {VERDICTS} (row bigint NOT NULL, verdict text NOT NULL, old_event_id text)",
    )


async def drop_staging(session: AsyncSession) -> None:
    """Drop the staging tables."""
    await raw.execute(session, f"DROP TABLE IF EXISTS {STAGING}, {VERDICTS}")


@asynccontextmanager
async def staging_copy(session: AsyncSession) -> AsyncIterator[AsyncCopy]:
    """A COPY into the staging table, fed with COPY text lines (see officer_events.staging_line)."""
    conn = await driver_connection(session)
    async with (
        conn.cursor() as cursor,
        cursor.copy(f"COPY {STAGING} ({', '.join(STAGED_COLUMNS)}) FROM STDIN") as copy,
    ):
        yield copy


async def max_staged_row(session: AsyncSession) -> int:
    """The highest row number staged."""
    return int(await raw.scalar(session, f"SELECT coalesce(max(row), 0) FROM {STAGING}") or 0)


async def index_staging(session: AsyncSession) -> None:
    """Index and analyse the staged rows for the set-based checks."""
    await raw.execute(session, f"CREATE INDEX ON {STAGING} (nik)")
    await raw.execute(session, f"CREATE INDEX ON {STAGING} (row)")
    await raw.execute(session, f"ANALYZE {STAGING}")


async def current_head(session: AsyncSession) -> int:
    """The newest tx_seq (0 for an empty ledger)."""
    return int(await raw.scalar(session, "SELECT coalesce(max(tx_seq), 0) FROM ledger_tx") or 0)


async def regions_in_force(session: AsyncSession) -> tuple[set[str], set[str]]:
    """Every region code in force, and the district codes among them (NIK prefixes)."""
    rows = await raw.execute(session, "SELECT code, level FROM region WHERE tx_to IS NULL")
    regions: set[str] = set()
    districts: set[str] = set()
    for code, level in rows:
        regions.add(code)
        if level == 3:
            districts.add(code)
    return regions, districts


async def mark_repeated_niks(session: AsyncSession, *, upload_id: uuid.UUID) -> None:
    """A NIK on several rows: the same row again is a repeat, a different one an error."""
    await raw.execute(
        session,
        f"""
        WITH twice AS (SELECT nik FROM {STAGING} GROUP BY nik HAVING count(*) > 1),
        ranked AS (
            SELECT s.row, s.nik, s.enrolment_payload,
                   first_value(s.row) OVER w AS first_row,
                   first_value(s.enrolment_payload) OVER w AS first_payload
              FROM {STAGING} s JOIN twice USING (nik)
            WINDOW w AS (PARTITION BY s.nik ORDER BY s.row)),
        later AS (SELECT * FROM ranked WHERE row > first_row),
        repeats AS (
            INSERT INTO {VERDICTS} (row, verdict)
            SELECT row, CASE WHEN enrolment_payload = first_payload THEN 'repeat' ELSE 'error' END FROM later)
        INSERT INTO upload_error (upload_id, row, "column", code, message)
        SELECT %(upload)s, row, 'nik', 'duplicate_nik',
               format('NIK %%s is also on row %%s with other values; one row per officer', nik, first_row)
          FROM later WHERE enrolment_payload <> first_payload
        """,
        {"upload": upload_id},
    )


_OVERLAPS = f"""
    SELECT s.row, s.nik, e.event_id, e.payload,
           (e.payload - 'registered_on') = (s.enrolment_payload - 'registered_on') AS same,
           e.payload->>'committee' = %(committee)s AS own
      FROM {STAGING} s
      JOIN event_knowledge k ON k.nik = s.nik AND k.type = 'officer.enrolled' AND k.tx_to IS NULL
      JOIN ledger_event e ON e.event_id = k.event_id
     WHERE NOT EXISTS (SELECT 1 FROM {VERDICTS} v WHERE v.row = s.row)
       AND k.tx_from > %(since)s
"""


async def check_against_ledger(
    session: AsyncSession,
    *,
    upload_id: uuid.UUID,
    committee: str,
    key_region_prefix: str | None,
    replace_roster: bool,
    since_tx: int,
) -> int:
    """Rows that overlap an enrolment in force (error) or restate one (existing / unchanged /
    changed); only enrolments that entered force after `since_tx`. The rows in error so far."""
    params = {
        "upload": upload_id,
        "committee": committee,
        "since": since_tx,
        "prefix": key_region_prefix,
        "prefix_like": f"{key_region_prefix}.%" if key_region_prefix else None,
        "replace": replace_roster,
    }
    # in replace_roster mode the committee's own enrolment of the NIK in the same role is the one
    # the row replaces
    await raw.execute(
        session,
        f"""
        WITH found AS ({_OVERLAPS}),
        classified AS (
            SELECT f.*, CASE
                WHEN %(replace)s AND f.own AND f.payload->>'role' = s.role
                     THEN CASE WHEN f.same THEN 'unchanged' ELSE 'changed' END
                WHEN f.same THEN 'existing'
                WHEN (f.payload->>'valid_from')::date < s.valid_to
                     AND s.valid_from < (f.payload->>'valid_to')::date THEN 'error'
                ELSE NULL END AS verdict
              FROM found f JOIN {STAGING} s ON s.row = f.row),
        marked AS (
            INSERT INTO {VERDICTS} (row, verdict, old_event_id)
            SELECT DISTINCT ON (row) row, verdict, CASE WHEN verdict = 'changed' THEN event_id END
              FROM classified WHERE verdict IS NOT NULL
             ORDER BY row, verdict = 'error' DESC, event_id)
        INSERT INTO upload_error (upload_id, row, "column", code, message)
        SELECT %(upload)s, row, 'term_start', 'overlapping_enrolment',
               CASE WHEN %(prefix)s::text IS NULL OR payload->>'region_code' = %(prefix)s
                         OR payload->>'region_code' LIKE %(prefix_like)s
                    THEN format('NIK %%s: overlaps %%s: %%s of %%s, %%s – %%s; supersede it to replace it',
                                nik, event_id, payload->>'role', payload->>'committee',
                                to_char((payload->>'valid_from')::date, 'FMDD Mon YYYY'),
                                to_char((payload->>'valid_to')::date - 1, 'FMDD Mon YYYY'))
                    ELSE format('NIK %%s: overlaps an enrolment held outside your region', nik) END
          FROM classified WHERE verdict = 'error'
        """,
        params,
        prepare=False,
    )
    return int(
        await raw.scalar(session, f"SELECT count(DISTINCT row) FROM {VERDICTS} WHERE verdict = 'error'") or 0
    )


async def verdict_counts(session: AsyncSession) -> dict[str, int]:
    """How many staged rows got each verdict."""
    rows = await raw.execute(session, f"SELECT verdict, count(DISTINCT row) FROM {VERDICTS} GROUP BY verdict")
    return {verdict: int(count) for verdict, count in rows}


async def staged_count(session: AsyncSession) -> int:
    """Rows staged (rows that passed their own checks)."""
    return int(await raw.scalar(session, f"SELECT count(*) FROM {STAGING}") or 0)


async def vanished_enrolments(
    session: AsyncSession, *, committee: str, key_region_prefix: str | None
) -> list[tuple[str, str, str]]:
    """replace_roster: enrolments of the committee in force, in the key's region, for roles the
    file lists, whose NIK the file does not name: (event_id, nik, region_code)."""
    rows = await raw.execute(
        session,
        f"""
        SELECT e.event_id, e.nik, e.payload->>'region_code'
          FROM event_knowledge k JOIN ledger_event e ON e.event_id = k.event_id
         WHERE k.type = 'officer.enrolled' AND k.tx_to IS NULL AND e.payload->>'committee' = %(committee)s
           AND e.payload->>'role' IN (SELECT DISTINCT role FROM {STAGING})
           AND NOT EXISTS (SELECT 1 FROM {STAGING} s WHERE s.nik = e.nik)
           AND (%(prefix)s::text IS NULL OR e.payload->>'region_code' = %(prefix)s
                OR e.payload->>'region_code' LIKE %(prefix_like)s)
         ORDER BY e.event_id
        """,
        {
            "committee": committee,
            "prefix": key_region_prefix,
            "prefix_like": f"{key_region_prefix}.%" if key_region_prefix else None,
        },
        prepare=False,
    )
    return [(r[0], r[1], r[2]) for r in rows]


async def changed_rows(session: AsyncSession) -> list[tuple[int, str, str]]:
    """replace_roster: (row, old event id, new enrolment id) of rows that change an enrolment."""
    rows = await raw.execute(
        session,
        f"SELECT v.row, v.old_event_id, s.enrolment_id FROM {VERDICTS} v JOIN {STAGING} s ON s.row = v.row "
        "WHERE v.verdict = 'changed' ORDER BY v.row",
    )
    return [(r[0], r[1], r[2]) for r in rows]


async def write_roster_events(session: AsyncSession, *, tx_id: uuid.UUID) -> tuple[int, int]:
    """Write the registrations of unknown persons and the enrolments of new and changed rows under
    a provisional tx id; (registrations, enrolments). Positions leave room for corrections:
    4·row + 0 registration, + 1 correction, + 2 enrolment."""
    params = {"tx": tx_id}
    registered = await raw.execute(
        session,
        f"""
        WITH fresh AS (
            SELECT s.* FROM {STAGING} s
             WHERE NOT EXISTS (SELECT 1 FROM {VERDICTS} v WHERE v.row = s.row AND v.verdict <> 'changed')
               AND NOT EXISTS (SELECT 1 FROM event_knowledge k WHERE k.nik = s.nik
                                 AND k.type = 'person.registered' AND k.tx_to IS NULL)),
        vault AS (
            INSERT INTO person_vault (event_id, nik, salt, fields)
            SELECT registration_id, nik, salt, vault FROM fresh)
        INSERT INTO ledger_event (event_id, tx_id, position, type, nik, carried_by, payload, digest)
        SELECT registration_id, %(tx)s, 4 * row, 'person.registered', nik, NULL, registration_payload,
               registration_digest FROM fresh
        RETURNING 1
        """,
        params,
        prepare=False,
    )
    enrolled = await raw.execute(
        session,
        f"""
        INSERT INTO ledger_event (event_id, tx_id, position, type, nik, carried_by, payload, digest)
        SELECT s.enrolment_id, %(tx)s, 4 * s.row + 2, 'officer.enrolled', s.nik,
               CASE WHEN v.verdict = 'changed' THEN s.enrolment_id || '-c' END,
               s.enrolment_payload,
               s.enrolment_digest
          FROM {STAGING} s LEFT JOIN {VERDICTS} v ON v.row = s.row
         WHERE v.row IS NULL OR v.verdict = 'changed'
        RETURNING 1
        """,
        params,
        prepare=False,
    )
    return len(list(registered)), len(list(enrolled))


async def accepted_cover_starts(
    session: AsyncSession, *, recording_day: Any
) -> list[tuple[str, Any, int, int]]:
    """(region_code, cover start, officers, officer months) of the new and changed rows: the
    calendar months each officer's cover touches, from max(term start, registered_on or the
    recording day)."""
    rows = await raw.execute(
        session,
        f"""
        SELECT region_code, cover_from, count(*),
               sum(CASE WHEN cover_from < valid_to
                        THEN (extract(year FROM valid_to - 1) * 12 + extract(month FROM valid_to - 1))
                             - (extract(year FROM cover_from) * 12 + extract(month FROM cover_from)) + 1
                        ELSE 0 END)
          FROM (SELECT s.region_code, s.valid_to,
                       greatest(s.valid_from, coalesce(s.registered_on, %(day)s::date)) AS cover_from
                  FROM {STAGING} s LEFT JOIN {VERDICTS} v ON v.row = s.row
                 WHERE v.row IS NULL OR v.verdict = 'changed') AS accepted
         GROUP BY region_code, cover_from ORDER BY region_code, cover_from
        """,
        {"day": recording_day},
        prepare=False,
    )
    return [(r[0], r[1], int(r[2]), int(r[3])) for r in rows]


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


async def take_append_lock(session: AsyncSession, lock_key: int) -> int:
    """Take the ledger's append lock (held until COMMIT) and read the head under it."""
    await raw.execute(session, "SELECT pg_advisory_xact_lock(%(key)s)", {"key": lock_key})
    return await current_head(session)


async def savepoint(session: AsyncSession, name: str) -> None:
    """SAVEPOINT on the job's transaction."""
    await raw.execute(session, f"SAVEPOINT {name}")


async def rollback_to(session: AsyncSession, name: str) -> None:
    """ROLLBACK TO SAVEPOINT (locks taken after it are released too)."""
    await raw.execute(session, f"ROLLBACK TO SAVEPOINT {name}")


async def enrolments_entered_since(session: AsyncSession, *, since_tx: int) -> bool:
    """Whether an officer enrolment of a staged NIK entered force after `since_tx`."""
    rows = await raw.execute(
        session,
        f"SELECT EXISTS (SELECT 1 FROM {STAGING} s JOIN event_knowledge k ON k.nik = s.nik "
        "WHERE k.type = 'officer.enrolled' AND k.tx_to IS NULL AND k.tx_from > %(since)s)",
        {"since": since_tx},
        prepare=False,
    )
    return bool(rows.one()[0])
