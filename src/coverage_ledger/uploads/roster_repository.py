"""What an officer roster's staged rows become once checked: their events written under the
tx's provisional id, their coverage spans and regional deltas, the invoice's officer months, and
the outcome's warnings (all SQL, over the staging tables of `staging`)."""

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.coverage import spans_repository
from coverage_ledger.database import raw
from coverage_ledger.uploads.staging_repository import STAGING, VERDICTS


async def persons_new_to_region(session: AsyncSession, *, key_region_prefix: str) -> int:
    """Persons of the new and changed rows whom nothing in force in the key's region names (no
    registration, officer term or membership there): the outcome's `registered` for a regional
    key, which would otherwise tell whether a person is registered in another region."""
    rows = await raw.execute(
        session,
        f"""
        SELECT count(DISTINCT s.nik) FROM {STAGING} s
         WHERE NOT EXISTS (SELECT 1 FROM {VERDICTS} v WHERE v.row = s.row AND v.verdict <> 'changed')
           AND NOT EXISTS (
               SELECT 1 FROM event_knowledge k JOIN ledger_event e ON e.event_id = k.event_id
                WHERE k.nik = s.nik AND k.tx_to IS NULL
                  AND k.type IN ('person.registered', 'officer.enrolled', 'informal.enrolled')
                  AND {raw.within_region("e.payload->>'region_code'")})
        """,
        {"region": key_region_prefix},
        prepare=False,
    )
    return int(rows.one()[0])


async def write_roster_events(session: AsyncSession, *, tx_id: uuid.UUID) -> tuple[int, int]:
    """Write the registrations of unknown persons and the enrolments of new and changed rows under
    a provisional tx id; (registrations, enrolments). Positions leave room for corrections:
    4·row + 0 registration, + 1 correction, + 2 enrolment."""
    params = {"tx": tx_id}
    registered = await raw.execute_count(
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
        """,
        params,
        prepare=False,
    )
    enrolled = await raw.execute_count(
        session,
        f"""
        INSERT INTO ledger_event (event_id, tx_id, position, type, nik, carried_by, payload, digest)
        SELECT s.enrolment_id, %(tx)s, 4 * s.row + 2, 'officer.enrolled', s.nik,
               CASE WHEN v.verdict = 'changed' THEN s.enrolment_id || '-c' END,
               s.enrolment_payload,
               s.enrolment_digest
          FROM {STAGING} s LEFT JOIN {VERDICTS} v ON v.row = s.row
         WHERE v.row IS NULL OR v.verdict = 'changed'
        """,
        params,
        prepare=False,
    )
    return registered, enrolled


_COVER_FROM = "greatest(s.valid_from, coalesce(s.registered_on, %(day)s::date))"
"""The first covered day of a staged row `s`: the SQL twin of `OfficerTerm.covers_from`, with the
recording day (`%(day)s`) for a row without `registered_on`."""


async def accepted_cover_starts(
    session: AsyncSession, *, recording_day: Any
) -> list[tuple[str, Any, int, int]]:
    """(region_code, cover start, officers, officer months) of the new and changed rows: the
    calendar months each officer's cover touches, from max(term start, registered_on or the
    recording day). Officers whose cover never starts (registered after the term) count for
    neither: nothing was insured, so nothing is owed."""
    rows = await raw.execute(
        session,
        f"""
        SELECT region_code, cover_from, count(*) FILTER (WHERE cover_from < valid_to),
               sum(CASE WHEN cover_from < valid_to
                        THEN (extract(year FROM valid_to - 1) * 12 + extract(month FROM valid_to - 1))
                             - (extract(year FROM cover_from) * 12 + extract(month FROM cover_from)) + 1
                        ELSE 0 END)
          FROM (SELECT s.region_code, s.valid_to,
                       {_COVER_FROM} AS cover_from
                  FROM {STAGING} s LEFT JOIN {VERDICTS} v ON v.row = s.row
                 WHERE v.row IS NULL OR v.verdict = 'changed') AS accepted
         GROUP BY region_code, cover_from ORDER BY region_code, cover_from
        """,
        {"day": recording_day},
        prepare=False,
    )
    return [(r[0], r[1], int(r[2]), int(r[3])) for r in rows]


async def _accepted_rows_where(
    session: AsyncSession, *, joins: str, condition: str, params: dict[str, Any], limit: int
) -> tuple[int, list[int]]:
    """New and changed rows meeting `condition` (after `joins` onto the staged row `s`): how many,
    and the first `limit` row numbers."""
    rows = await raw.execute(
        session,
        f"""
        SELECT s.row, count(*) OVER ()
          FROM {STAGING} s LEFT JOIN {VERDICTS} v ON v.row = s.row {joins}
         WHERE (v.row IS NULL OR v.verdict = 'changed') AND {condition}
         ORDER BY s.row LIMIT %(limit)s
        """,
        params | {"limit": limit},
        prepare=False,
    )
    found = list(rows)
    return (int(found[0][1]) if found else 0), [int(r[0]) for r in found]


async def rows_without_cover(
    session: AsyncSession, *, recording_day: Any, limit: int
) -> tuple[int, list[int]]:
    """New and changed rows whose term ends before its cover could start (registered on or after
    the last day of duty): how many, and the first `limit` row numbers. They are enrolments all
    the same (the record that the officer served), but they protect nobody."""
    return await _accepted_rows_where(
        session,
        joins="",
        condition=f"{_COVER_FROM} >= s.valid_to",
        params={"day": recording_day},
        limit=limit,
    )


def comparable_name_sql(name: str) -> str:
    """SQL: a name as compared with another: NFC, spaces (a non-breaking one too) run together
    and trimmed, and case left out (found by a probe: `BUDI SANTOSO` and `Budi  Santoso` drowned
    the rows that are a mistyped NIK's sign); `cells.comparable_name` in Python. Worked out only
    for names that differ as written (a million rows: 6 s more otherwise)."""
    return f"lower(btrim(regexp_replace(normalize({name}, NFC), '[[:space:]' || chr(160) || ']+', ' ', 'g')))"


async def rows_differing_from_registration(
    session: AsyncSession, *, key_region_prefix: str | None, limit: int
) -> tuple[int, list[int]]:
    """Accepted rows of persons already registered in the key's region whose name, birth date or
    phone differs from that registration's (which the roster does not change: a regional office
    corrects registrations): how many, and the first `limit` row numbers. Registrations outside
    the key's region are not compared: a dry run would confirm a guessed name."""
    return await _accepted_rows_where(
        session,
        joins="""
          JOIN event_knowledge k ON k.nik = s.nik AND k.type = 'person.registered' AND k.tx_to IS NULL
          JOIN ledger_event e ON e.event_id = k.event_id
          JOIN person_vault p ON p.event_id = k.event_id""",
        condition=f"""{raw.within_region("e.payload->>'region_code'")}
           AND ((p.fields->>'name' IS DISTINCT FROM s.vault->>'name'
                 AND {comparable_name_sql("p.fields->>'name'")} IS DISTINCT FROM
                     {comparable_name_sql("s.vault->>'name'")})
                OR p.fields->>'birth_date' <> s.vault->>'birth_date'
                OR (s.vault->>'phone' IS NOT NULL
                    AND p.fields->>'phone' IS DISTINCT FROM s.vault->>'phone'))""",
        params={"region": key_region_prefix},
        limit=limit,
    )


async def niks_needing_span_refresh(session: AsyncSession) -> list[str]:
    """Persons of the staged rows whose spans need the general recomputation: a row that changed
    an enrolment, a BPU membership in force, or a covered interval that touches the row's term
    (it may merge with it). For everyone else the row's span is simply added (`open_roster_spans`):
    officer terms of a person never overlap, so a term clear of the person's spans leaves them as
    they are. A superset is harmless: a recomputation that finds nothing changed writes nothing."""
    changed = await raw.execute(
        session,
        f"SELECT s.nik FROM {STAGING} s JOIN {VERDICTS} v ON v.row = s.row WHERE v.verdict = 'changed'",
        prepare=False,
    )
    # one index probe per staged row, whatever the planner believes of tables that may have grown
    # by a million rows in this very transaction: OFFSET 0 keeps each EXISTS a per-row subplan (a
    # semi-join was planned as a scan of every open row), and without seq scans its probe is the
    # nik index
    await raw.execute(session, "SET LOCAL enable_seqscan = off")
    others = await raw.execute(
        session,
        f"""
        SELECT s.nik FROM {STAGING} s
         WHERE EXISTS (SELECT 1 FROM event_knowledge k
                        WHERE k.nik = s.nik AND k.tx_to IS NULL AND k.type = 'informal.enrolled'
                       OFFSET 0)
            OR EXISTS (SELECT 1 FROM coverage_span c
                        WHERE c.nik = s.nik AND c.tx_to IS NULL
                          AND c.valid_from <= s.valid_to AND c.valid_to >= s.valid_from
                       OFFSET 0)
        """,
        prepare=False,
    )
    await raw.execute(session, "RESET enable_seqscan")
    return sorted({row.nik for row in changed} | {row.nik for row in others})


async def open_roster_spans(
    session: AsyncSession, *, tx_seq: int, recording_day: Any, refreshed: Sequence[str]
) -> list[str]:
    """Coverage spans (and their regional deltas) of the new rows whose enrolment is the person's
    only cover (all but `refreshed`): from max(term start, registered_on or the recording day)
    to the end of the term; the parent regions now due for a checkpoint."""
    rows = await raw.execute(
        session,
        f"""
        WITH opened AS (
            INSERT INTO coverage_span (nik, valid_from, tx_from, valid_to, region_code, officer, informal)
            SELECT s.nik, {_COVER_FROM}, %(tx)s,
                   s.valid_to, s.region_code, true, false
              FROM {STAGING} s LEFT JOIN {VERDICTS} v ON v.row = s.row
             WHERE v.row IS NULL
               AND {_COVER_FROM} < s.valid_to
               AND NOT EXISTS (SELECT 1 FROM unnest(%(refreshed)s::text[]) AS r(nik) WHERE r.nik = s.nik)
            RETURNING valid_from, valid_to, region_code, officer, informal, in_all
        )
        , changed AS (SELECT %(tx)s::bigint AS tx, *, 1 AS sign FROM opened)
        {spans_repository.DELTAS_FROM_CHANGED}
        """,
        {
            "tx": tx_seq,
            "day": recording_day,
            "refreshed": list(refreshed),
            "checkpoint_after": spans_repository.CHECKPOINT_AFTER,
        },
        prepare=False,
    )
    return [row.parent_code for row in rows if row.due]
