"""All SQL of `rebuild --check`: the log read for a replay, and each projection compared with
what the log says it should hold (rows missing on either side, at most 1,000 a table)."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.coverage import spans_repository
from coverage_ledger.database import raw

CorrectionRow = tuple[str, str | None, tuple[str, ...], str | None]
"""(event_id, carried_by, supersedes, replacement_event_id) of an event involved in corrections."""

_INVOLVED = """
    WITH involved AS (
        SELECT event_id FROM ledger_event WHERE type = 'event.corrected' OR carried_by IS NOT NULL
      UNION
        SELECT jsonb_array_elements_text(payload->'supersedes') FROM ledger_event
         WHERE type = 'event.corrected'
    )
"""
"""Events whose force a correction decides: corrections, replacements and their targets."""


async def correction_events_by_tx(session: AsyncSession) -> dict[int, list[CorrectionRow]]:
    """The events involved in corrections, per tx in log order."""
    rows = await raw.execute(
        session,
        _INVOLVED + "SELECT t.tx_seq, e.event_id, e.carried_by, e.payload FROM ledger_event e "
        "JOIN involved i ON i.event_id = e.event_id JOIN ledger_tx t ON t.tx_id = e.tx_id "
        "ORDER BY t.tx_seq, e.position",
    )
    txs: dict[int, list[CorrectionRow]] = {}
    for row in rows:
        txs.setdefault(row.tx_seq, []).append(
            (
                row.event_id,
                row.carried_by,
                tuple(row.payload.get("supersedes", ())),
                row.payload.get("replacement_event_id"),
            )
        )
    return txs


async def live_force_intervals(session: AsyncSession) -> set[tuple[str, int, int | None, str | None]]:
    """The stored knowledge intervals of the events involved in corrections."""
    rows = await raw.execute(
        session,
        _INVOLVED + "SELECT k.event_id, k.tx_from, k.tx_to, k.superseded_by FROM event_knowledge k "
        "JOIN involved i ON i.event_id = k.event_id",
    )
    return {(r.event_id, r.tx_from, r.tx_to, r.superseded_by) for r in rows}


async def plain_knowledge_differences(session: AsyncSession) -> list[Any]:
    """Events no correction touches: in force from their own tx, never out of it."""
    return await _differences(
        session,
        "event_knowledge",
        _INVOLVED
        + """
        , expected AS (
            SELECT e.event_id, t.tx_seq AS tx_from, e.nik, e.type FROM ledger_event e
              JOIN ledger_tx t ON t.tx_id = e.tx_id
             WHERE e.event_id NOT IN (SELECT event_id FROM involved)
        ), live AS (
            SELECT k.event_id, k.tx_from, k.nik, k.type FROM event_knowledge k
             WHERE k.event_id NOT IN (SELECT event_id FROM involved) AND k.tx_to IS NULL
            UNION ALL
            SELECT k.event_id, -1, k.nik, k.type FROM event_knowledge k
             WHERE k.event_id NOT IN (SELECT event_id FROM involved) AND k.tx_to IS NOT NULL
        )""",
    )


async def correction_link_differences(session: AsyncSession) -> list[Any]:
    """Each correction's edges to its targets."""
    return await _differences(
        session,
        "correction_link",
        """
        WITH expected AS (
            SELECT jsonb_array_elements_text(e.payload->'supersedes') AS target,
                   e.event_id AS correction, t.tx_seq
              FROM ledger_event e JOIN ledger_tx t ON t.tx_id = e.tx_id
             WHERE e.type = 'event.corrected'
        ), live AS (SELECT target_event_id, correction_event_id, tx_seq FROM correction_link)""",
    )


async def region_differences(session: AsyncSession) -> list[Any]:
    """The region projection against the region events and their knowledge intervals."""
    return await _differences(
        session,
        "region",
        """
        WITH expected AS (
            SELECT e.event_id, k.tx_from, k.tx_to, e.payload->>'code' AS code,
                   e.payload->>'parent_code' AS parent_code, e.payload->>'name' AS name,
                   (e.payload->>'level')::int AS level, e.payload->>'decree' AS decree,
                   (e.payload->>'valid_from')::date AS valid_from,
                   (e.payload->>'valid_to')::date AS valid_to
              FROM event_knowledge k JOIN ledger_event e ON e.event_id = k.event_id
             WHERE e.type = 'region.defined'
        ), live AS (
            SELECT event_id, tx_from, tx_to, code, parent_code, name, level, decree, valid_from,
                   valid_to FROM region
        )""",
    )


ENROLMENT_TERM_COLUMNS = (
    "event_id, tx_from, tx_to, nik, type, tx_id, valid_from, valid_to, registered_on, role, committee, "
    "programs, payer, region_code"
)
ENROLMENT_TERM_VALUES = """
    k.event_id, k.tx_from, k.tx_to, k.nik, k.type, e.tx_id,
    (e.payload ->> 'valid_from')::date, (e.payload ->> 'valid_to')::date,
    (e.payload ->> 'registered_on')::date, e.payload ->> 'role', e.payload ->> 'committee',
    translate((e.payload -> 'programs')::text, '[]",', ''),
    CASE e.payload -> 'payer' ->> 'kind'
         WHEN 'organisation' THEN (e.payload -> 'payer' ->> 'name')
                                  || coalesce(' (' || (e.payload -> 'payer' ->> 'budget') || ')', '')
         WHEN 'person' THEN 'person ' || (e.payload -> 'payer' ->> 'nik')
         WHEN 'self' THEN 'self' END,
    e.payload ->> 'region_code'
"""
"""The enrolment_term row of an event_knowledge row `k` of an enrolment event `e`, as the
triggers of migrations 0007 and 0018 write it (a migration keeps its own frozen copy of this SQL)."""


async def enrolment_term_differences(session: AsyncSession) -> list[Any]:
    """The enrolment terms against the enrolment events' knowledge intervals."""
    return await _differences(
        session,
        "enrolment_term",
        f"""
        WITH expected ({ENROLMENT_TERM_COLUMNS}) AS (
            SELECT {ENROLMENT_TERM_VALUES} FROM event_knowledge k
              JOIN ledger_event e ON e.event_id = k.event_id
             WHERE k.type IN ('officer.enrolled', 'informal.enrolled')
        ), live AS (SELECT {ENROLMENT_TERM_COLUMNS} FROM enrolment_term)""",
    )


async def coverage_delta_differences(session: AsyncSession) -> list[Any]:
    """The regional deltas against the changes of the coverage spans."""
    return await _differences(
        session,
        "coverage_delta",
        f"""
        WITH changed AS (
            SELECT tx_from AS tx, valid_from, valid_to, region_code, officer, informal, in_all, 1 AS sign
              FROM coverage_span
            UNION ALL
            SELECT tx_to, valid_from, valid_to, region_code, officer, informal, in_all, -1
              FROM coverage_span WHERE tx_to IS NOT NULL
        ), expected AS (
            SELECT parent_code, tx AS tx_seq, child_code, day, officer, informal, in_all, sum(delta)::int
              FROM ({spans_repository.EXPANDED_CHANGES}) x
             GROUP BY 1, 2, 3, 4, 5, 6, 7 HAVING sum(delta) <> 0
        ), live AS (
            SELECT parent_code, tx_seq, child_code, day, officer, informal, in_all, delta
              FROM coverage_delta WHERE delta <> 0
        )""",
    )


async def coverage_checkpoint_differences(session: AsyncSession) -> list[Any]:
    """Each checkpoint against the one before it plus the deltas between: by induction every
    checkpoint equals the sum of its deltas, at the cost of reading each delta once."""
    return await _differences(
        session,
        "coverage_checkpoint",
        """
        WITH chain AS (
            SELECT parent_code, tx_seq,
                   coalesce(lag(tx_seq) OVER (PARTITION BY parent_code ORDER BY tx_seq), 0) AS previous
              FROM coverage_checkpoint_tx
        ), expected AS (
            SELECT parent_code, tx_seq, child_code, day, officer, informal, in_all, sum(n)::int FROM (
                SELECT m.parent_code, m.tx_seq, c.child_code, c.day, c.officer, c.informal, c.in_all,
                       c.covered AS n
                  FROM chain m JOIN coverage_checkpoint c
                    ON c.parent_code = m.parent_code AND c.tx_seq = m.previous
                UNION ALL
                SELECT m.parent_code, m.tx_seq, d.child_code, d.day, d.officer, d.informal, d.in_all, d.delta
                  FROM chain m JOIN coverage_delta d
                    ON d.parent_code = m.parent_code AND d.tx_seq > m.previous AND d.tx_seq <= m.tx_seq
            ) x GROUP BY 1, 2, 3, 4, 5, 6, 7 HAVING sum(n) <> 0
        ), live AS (
            SELECT parent_code, tx_seq, child_code, day, officer, informal, in_all, covered
              FROM coverage_checkpoint
        )""",
    )


async def persons_with_coverage(session: AsyncSession) -> list[str]:
    """Every person with an enrolment event or an open coverage span, in NIK order."""
    rows = await raw.execute(
        session,
        "SELECT DISTINCT nik FROM event_knowledge "
        "WHERE type IN ('officer.enrolled', 'informal.enrolled') "
        "UNION SELECT DISTINCT nik FROM coverage_span WHERE tx_to IS NULL ORDER BY 1",
    )
    return [row.nik for row in rows]


async def _differences(session: AsyncSession, table: str, ctes: str) -> list[Any]:
    """Rows of `expected` missing from `live` and the other way round (CTEs named so), at most 1,000."""
    return list(
        await raw.execute(
            session,
            f"""{ctes}
            (SELECT '{table} lacks' AS what, *
               FROM (SELECT * FROM expected EXCEPT ALL SELECT * FROM live) a)
            UNION ALL
            (SELECT '{table} has extra', *
               FROM (SELECT * FROM live EXCEPT ALL SELECT * FROM expected) b)
            LIMIT 1000""",
        )
    )
