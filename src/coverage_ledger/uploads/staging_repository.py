"""The SQL of an officer roster's staging: the temporary tables of the job's connection, the
COPY into them, and the set-based checks against the file and the ledger (what the checked rows
become is written by `roster_repository`)."""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from psycopg import AsyncCopy
from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.database import raw
from coverage_ledger.database.raw import driver_connection
from coverage_ledger.domain.officer import MIN_OFFICER_AGE
from coverage_ledger.uploads.officer_events import STAGED_COLUMNS

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


async def mark_repeated_niks(session: AsyncSession, *, upload_id: uuid.UUID) -> None:
    """A NIK on several rows: the same row again is a repeat, a different one an error."""
    await raw.execute(
        session,
        f"""
        WITH twice AS (SELECT nik FROM {STAGING} GROUP BY nik HAVING count(*) > 1),
        ranked AS (
            SELECT s.row, s.nik, s.enrolment_payload, s.vault,
                   first_value(s.row) OVER w AS first_row,
                   first_value(s.enrolment_payload) OVER w AS first_payload,
                   first_value(s.vault) OVER w AS first_vault
              FROM {STAGING} s JOIN twice USING (nik)
            WINDOW w AS (PARTITION BY s.nik ORDER BY s.row)),
        later AS (
            SELECT *, enrolment_payload = first_payload AND vault = first_vault AS same,
                   -- the columns that differ, by their names in the file (the keys are disjoint)
                   (SELECT string_agg(CASE key WHEN 'valid_from' THEN 'term_start'
                                               WHEN 'valid_to' THEN 'term_end' ELSE key END,
                                      ', ' ORDER BY key)
                      FROM jsonb_each(enrolment_payload || vault) AS mine
                      FULL JOIN jsonb_each(first_payload || first_vault) AS theirs USING (key)
                     WHERE mine.value IS DISTINCT FROM theirs.value) AS differing
              FROM ranked WHERE row > first_row),
        repeats AS (
            INSERT INTO {VERDICTS} (row, verdict)
            SELECT row, CASE WHEN same THEN 'repeat' ELSE 'error' END FROM later)
        INSERT INTO upload_error (upload_id, row, "column", code, message)
        SELECT %(upload)s, row, 'nik', 'duplicate_nik',
               format('NIK %%s is also on row %%s with other values (%%s); one row per officer',
                      nik, first_row, differing)
          FROM later WHERE NOT same
        """,
        {"upload": upload_id},
    )


_OVERLAPS = f"""
    SELECT s.row, s.nik, e.event_id, e.payload,
           -- the same term; a registered_on the row states must match too (an empty one
           -- defaults to the day of recording, which a re-sent roster cannot restate)
           (e.payload - 'registered_on') = (s.enrolment_payload - 'registered_on')
           AND (s.registered_on IS NULL OR s.registered_on = (e.payload->>'registered_on')::date) AS same,
           e.payload->>'committee' = %(committee)s AS own
      FROM {STAGING} s
      JOIN event_knowledge k ON k.nik = s.nik AND k.type = 'officer.enrolled' AND k.tx_to IS NULL
      JOIN ledger_event e ON e.event_id = k.event_id
     WHERE NOT EXISTS (SELECT 1 FROM {VERDICTS} v WHERE v.row = s.row)
"""


async def check_against_ledger(
    session: AsyncSession,
    *,
    upload_id: uuid.UUID,
    committee: str,
    key_region_prefix: str | None,
    replace_roster: bool,
) -> int:
    """Rows that overlap an enrolment in force (error) or restate one (existing / unchanged /
    changed). The rows in error so far."""
    params = {
        "upload": upload_id,
        "committee": committee,
        "region": key_region_prefix,
        "replace": replace_roster,
    }
    # in replace_roster mode a row replaces one of the committee's own enrolments of the NIK
    # inside the key's region that it restates or whose term it overlaps (whatever the role):
    # the identical one, else the earliest it overlaps. A row that meets none is a new term.
    # Every other enrolment in force it overlaps is an error, as on the append path.
    await raw.execute(
        session,
        f"""
        WITH found AS ({_OVERLAPS}),
        classified AS (
            SELECT f.*,
                   (f.payload->>'valid_from')::date < s.valid_to
                   AND s.valid_from < (f.payload->>'valid_to')::date AS crosses,
                   {raw.within_region("f.payload->>'region_code'")} AS in_scope
              FROM found f JOIN {STAGING} s ON s.row = f.row),
        replaceable AS (
            SELECT * FROM classified WHERE %(replace)s AND own AND in_scope AND (same OR crosses)),
        chosen AS (
            SELECT DISTINCT ON (row) row, event_id FROM replaceable
             ORDER BY row, same DESC, (payload->>'valid_from')::date, event_id),
        judged AS (
            SELECT c.*, CASE
                WHEN ch.event_id IS NOT NULL THEN CASE WHEN c.same THEN 'unchanged' ELSE 'changed' END
                WHEN c.same THEN 'existing'
                WHEN c.crosses THEN 'error'
                ELSE NULL END AS verdict
              FROM classified c LEFT JOIN chosen ch ON ch.row = c.row AND ch.event_id = c.event_id),
        marked AS (
            INSERT INTO {VERDICTS} (row, verdict, old_event_id)
            SELECT DISTINCT ON (row) row, verdict, CASE WHEN verdict = 'changed' THEN event_id END
              FROM judged WHERE verdict IS NOT NULL
             ORDER BY row, verdict = 'error' DESC, event_id)
        INSERT INTO upload_error (upload_id, row, "column", code, message)
        SELECT %(upload)s, row, 'term_start', 'overlapping_enrolment',
               CASE WHEN in_scope
                    THEN format('NIK %%s: overlaps the %%s term of %%s, %%s – %%s (event %%s); %%s',
                                nik, payload->>'role', payload->>'committee',
                                to_char((payload->>'valid_from')::date, 'FMDD Mon YYYY'),
                                to_char((payload->>'valid_to')::date - 1, 'FMDD Mon YYYY'), event_id,
                                CASE WHEN payload->>'committee' <> %(committee)s
                                     THEN 'that committee or the regional office must correct it first'
                                     WHEN %(replace)s
                                     THEN 'the row meets two of this committee''s terms of the officer, and '
                                          'a file gives one row per officer: restate one of them, and '
                                          'correct the other with event.corrected'
                                     ELSE 'to replace this committee''s own term, upload with '
                                          'mode=replace_roster'
                                END)
                    ELSE format('NIK %%s: overlaps an enrolment held outside your region', nik) END
          FROM judged WHERE verdict = 'error'
        """,
        params,
        prepare=False,
    )
    return int(
        await raw.scalar(session, f"SELECT count(DISTINCT row) FROM {VERDICTS} WHERE verdict = 'error'") or 0
    )


async def check_registered_births(session: AsyncSession, *, upload_id: uuid.UUID) -> None:
    """Rows of persons registered before whose registration in force gives a birth date other
    than the row's, by which the term would start before the officer's birth or 17th birthday, or
    `registered_on` before the birth: refused, as `POST /v1/events` refuses such a term (a roster
    does not change a registration, so its birth date is the one the term is judged by)."""
    # (found by a race probe: a row giving 1910 enrolled an officer registered as born in 2010)
    await raw.execute(
        session,
        f"""
        WITH judged AS (
            SELECT s.row, s.nik, s.valid_from, s.registered_on, (p.fields->>'birth_date')::date AS born
              FROM {STAGING} s
              JOIN event_knowledge k ON k.nik = s.nik AND k.type = 'person.registered' AND k.tx_to IS NULL
              JOIN person_vault p ON p.event_id = k.event_id
             WHERE p.fields->>'birth_date' IS DISTINCT FROM s.vault->>'birth_date'
               AND p.fields->>'birth_date' IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM {VERDICTS} v WHERE v.row = s.row AND v.verdict <> 'changed')),
        refused AS (
            SELECT row, nik, 'term_start' AS col,
                   CASE WHEN valid_from < born THEN 'term_before_birth' ELSE 'officer_too_young' END AS code,
                   CASE WHEN valid_from < born THEN 'before the officer''s birth'
                        ELSE format('before the officer''s %%sth birthday', {MIN_OFFICER_AGE}) END AS why
              FROM judged
             WHERE valid_from < born OR extract(year FROM age(valid_from, born)) < {MIN_OFFICER_AGE}
            UNION ALL
            SELECT row, nik, 'registered_on', 'registered_before_birth', 'before the officer''s birth'
              FROM judged WHERE registered_on < born),
        updated AS (UPDATE {VERDICTS} v SET verdict = 'error' FROM refused r WHERE v.row = r.row),
        inserted AS (
            INSERT INTO {VERDICTS} (row, verdict)
            SELECT DISTINCT row, 'error' FROM refused r
             WHERE NOT EXISTS (SELECT 1 FROM {VERDICTS} v WHERE v.row = r.row))
        INSERT INTO upload_error (upload_id, row, "column", code, message)
        SELECT %(upload)s, row, col, code,
               format('NIK %%s: the %%s is %%s as the officer''s registration gives it, which this row '
                      'states otherwise (a roster does not change a registration: a regional office '
                      'corrects it); election officers are at least %%s (UU 7/2017)',
                      nik, replace(col, '_', ' '), why, {MIN_OFFICER_AGE})
          FROM refused
        """,
        {"upload": upload_id},
        prepare=False,
    )


async def reject_repeats_of_rejected_rows(session: AsyncSession, *, upload_id: uuid.UUID) -> None:
    """A row repeating an earlier row that the ledger refused is refused too (it was counted as a
    harmless repeat, so the file's counts hid one of its bad rows)."""
    await raw.execute(
        session,
        f"""
        WITH repeats AS (  -- driven by the few repeated rows, not by the whole file
            SELECT v.row, s.nik, (SELECT min(f.row) FROM {STAGING} f WHERE f.nik = s.nik) AS first_row
              FROM {VERDICTS} v JOIN {STAGING} s ON s.row = v.row
             WHERE v.verdict = 'repeat'),
        refused AS (
            SELECT r.* FROM repeats r
             WHERE EXISTS (SELECT 1 FROM {VERDICTS} w WHERE w.row = r.first_row AND w.verdict = 'error')),
        marked AS (UPDATE {VERDICTS} v SET verdict = 'error' FROM refused r WHERE v.row = r.row)
        INSERT INTO upload_error (upload_id, row, "column", code, message)
        SELECT %(upload)s, row, 'nik', 'repeats_rejected_row',
               format('NIK %%s: this row repeats row %%s, which was refused', nik, first_row)
          FROM refused
        """,
        {"upload": upload_id},
    )


async def verdict_counts(session: AsyncSession) -> dict[str, int]:
    """How many staged rows got each verdict."""
    rows = await raw.execute(session, f"SELECT verdict, count(DISTINCT row) FROM {VERDICTS} GROUP BY verdict")
    return {verdict: int(count) for verdict, count in rows}


async def staged_count(session: AsyncSession) -> int:
    """Rows staged (rows that passed their own checks)."""
    return int(await raw.scalar(session, f"SELECT count(*) FROM {STAGING}") or 0)


def _prefix(code: str, levels: int) -> str:
    """SQL: the first `levels` parts of a region code (16.71.01.1001 → 16.71.01 for 3)."""
    return f"array_to_string((string_to_array({code}, '.'))[1:{levels}], '.')"


async def vanished_enrolments(
    session: AsyncSession, *, committee: str, key_region_prefix: str | None
) -> list[tuple[str, str, str, bool]]:
    """replace_roster: enrolments of the committee in force, in the key's region and in a district
    (kecamatan) of a region the file lists, for roles the file lists, whose term overlaps the period the
    file's terms span and whose NIK the file does not name: (event_id, nik, region_code, whether
    the term lies within the period). (A roster for the next election does not retract the terms
    of the last one, on which paid claims may rest; a roster of one district does not retract the
    officers of the others.)"""
    rows = await raw.execute(
        session,
        f"""
        SELECT e.event_id, e.nik, e.payload->>'region_code' AS region_code,
               (e.payload->>'valid_from')::date >= (SELECT min(valid_from) FROM {STAGING})
               AND (e.payload->>'valid_to')::date <= (SELECT max(valid_to) FROM {STAGING}) AS within_period
          FROM event_knowledge k JOIN ledger_event e ON e.event_id = k.event_id
         WHERE k.type = 'officer.enrolled' AND k.tx_to IS NULL AND e.payload->>'committee' = %(committee)s
           AND e.payload->>'role' IN (SELECT DISTINCT role FROM {STAGING})
           AND NOT EXISTS (SELECT 1 FROM {STAGING} s WHERE s.nik = e.nik)
           AND (e.payload->>'valid_from')::date < (SELECT max(valid_to) FROM {STAGING})
           AND (SELECT min(valid_from) FROM {STAGING}) < (e.payload->>'valid_to')::date
           AND {raw.within_region("e.payload->>'region_code'")}
           AND ARRAY[{_prefix("e.payload->>'region_code'", 1)}, {_prefix("e.payload->>'region_code'", 2)},
                     {_prefix("e.payload->>'region_code'", 3)}]
               && (SELECT array_agg(DISTINCT {_prefix("region_code", 3)}) FROM {STAGING})
         ORDER BY e.event_id
        """,
        {"committee": committee, "region": key_region_prefix},
        prepare=False,
    )
    return [(r[0], r[1], r[2], bool(r[3])) for r in rows]


async def changed_rows(session: AsyncSession) -> list[tuple[int, str, str]]:
    """replace_roster: (row, old event id, new enrolment id) of rows that change an enrolment."""
    rows = await raw.execute(
        session,
        f"SELECT v.row, v.old_event_id, s.enrolment_id FROM {VERDICTS} v JOIN {STAGING} s ON s.row = v.row "
        "WHERE v.verdict = 'changed' ORDER BY v.row",
    )
    return [(r[0], r[1], r[2]) for r in rows]


async def persons_changed_since(session: AsyncSession, *, since_tx: int) -> bool:
    """Whether an officer enrolment or a registration of a staged NIK entered or left force after
    `since_tx`: the roster's checks, and its choice of whom to register, read the ledger before."""
    rows = await raw.execute(
        session,
        f"SELECT EXISTS (SELECT 1 FROM {STAGING} s JOIN event_knowledge k ON k.nik = s.nik "
        "WHERE k.type IN ('officer.enrolled', 'person.registered') "
        "AND (k.tx_from > %(since)s OR k.tx_to > %(since)s))",
        {"since": since_tx},
        prepare=False,
    )
    return bool(rows.one()[0])


async def regions_changed_since(session: AsyncSession, *, since_tx: int) -> bool:
    """Whether a definition of a staged row's region, or of a staged NIK's district, entered or
    left force after `since_tx`: each row was checked against the regions as read before."""
    rows = await raw.execute(
        session,
        "SELECT EXISTS (SELECT 1 FROM region r "
        "WHERE (r.tx_from > %(since)s OR r.tx_to > %(since)s) "
        f"AND (r.code IN (SELECT region_code FROM {STAGING}) "
        "     OR r.code IN (SELECT substr(nik, 1, 2) || '.' || substr(nik, 3, 2) || '.' || substr(nik, 5, 2) "
        f"                  FROM {STAGING})))",
        {"since": since_tx},
        prepare=False,
    )
    return bool(rows.one()[0])


SQL_CHECK_CODES = (
    "duplicate_nik",
    "overlapping_enrolment",
    "repeats_rejected_row",
    "officer_too_young",
    "term_before_birth",
    "registered_before_birth",
)
"""Row errors the set-based checks write on staged rows (a re-check replaces them; the row checks
write the last three too, but on rows they keep out of the staging table)."""


async def forget_verdicts(session: AsyncSession, *, upload_id: uuid.UUID) -> None:
    """Drop what the set-based checks decided, before they run again under the lock."""
    await raw.execute(session, f"DELETE FROM {VERDICTS}")
    await raw.execute(
        session,
        f"DELETE FROM upload_error e WHERE e.upload_id = %(upload)s AND e.code = ANY(%(codes)s) "
        f"AND EXISTS (SELECT 1 FROM {STAGING} s WHERE s.row = e.row)",
        {"upload": upload_id, "codes": list(SQL_CHECK_CODES)},
    )
