"""`rebuild --check`: replay the log from scratch and compare with the live projections."""

from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.claims.rebuild import claim_differences
from coverage_ledger.coverage import spans_repository
from coverage_ledger.coverage.spans import current_spans
from coverage_ledger.database import raw
from coverage_ledger.domain.supersession import EventLinks, changes_after_append
from coverage_ledger.ledger.repository import read_head

Interval = tuple[str, int, int | None, str | None]


def replay_force(
    txs: Iterable[tuple[int, list[tuple[str, str | None, tuple[str, ...], str | None]]]],
) -> set[Interval]:
    """Force intervals of events involved in corrections, replayed tx by tx from the log alone.

    Each tx is (tx_seq, [(event_id, carried_by, supersedes, replacement_event_id)]).
    """
    links: dict[str, EventLinks] = {}
    force: dict[str, bool] = {}
    open_since: dict[str, int] = {}
    intervals: set[Interval] = set()
    for tx_seq, events in txs:
        for event_id, carried_by, supersedes, replacement in events:
            node = links.setdefault(event_id, EventLinks(event_id))
            node.carried_by, node.supersedes, node.replacement = carried_by, supersedes, replacement
            for target in supersedes:
                links.setdefault(target, EventLinks(target)).corrected_by.append(event_id)
        for change in changes_after_append(links, [e[0] for e in events], force):
            if change.in_force:
                force[change.event_id] = True
                open_since[change.event_id] = tx_seq
            else:
                force[change.event_id] = False
                intervals.add(
                    (change.event_id, open_since.pop(change.event_id), tx_seq, change.superseded_by)
                )
        for event_id, *_ in events:
            # a correction superseded in its own tx is born out of force, and stays so until
            # something changes it; without this it would read as in force later
            force.setdefault(event_id, False)
    intervals.update((event_id, since, None, None) for event_id, since in open_since.items())
    return intervals


_INVOLVED = """
    WITH involved AS (
        SELECT event_id FROM ledger_event WHERE type = 'event.corrected' OR carried_by IS NOT NULL
      UNION
        SELECT jsonb_array_elements_text(payload->'supersedes') FROM ledger_event
         WHERE type = 'event.corrected'
    )
"""


async def rebuild_check(session: AsyncSession) -> list[str]:
    """Differences between a rebuild from the log and the live projections (empty = equal)."""
    differences: list[str] = []
    rows = await raw.execute(
        session,
        (
            _INVOLVED + "SELECT t.tx_seq, e.event_id, e.carried_by, e.payload FROM ledger_event e "
            "JOIN involved i ON i.event_id = e.event_id JOIN ledger_tx t ON t.tx_id = e.tx_id "
            "ORDER BY t.tx_seq, e.position"
        ),
    )
    txs: dict[int, list[tuple[str, str | None, tuple[str, ...], str | None]]] = {}
    for row in rows:
        txs.setdefault(row.tx_seq, []).append(
            (
                row.event_id,
                row.carried_by,
                tuple(row.payload.get("supersedes", ())) if "supersedes" in row.payload else (),
                row.payload.get("replacement_event_id"),
            )
        )
    expected = replay_force(sorted(txs.items()))
    live_rows = await raw.execute(
        session,
        (
            _INVOLVED + "SELECT k.event_id, k.tx_from, k.tx_to, k.superseded_by FROM event_knowledge k "
            "JOIN involved i ON i.event_id = k.event_id"
        ),
    )
    live = {(r.event_id, r.tx_from, r.tx_to, r.superseded_by) for r in live_rows}
    differences += [f"event_knowledge lacks {row}" for row in sorted(expected - live, key=str)]
    differences += [f"event_knowledge has extra {row}" for row in sorted(live - expected, key=str)]

    simple = await _differences(
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
    differences += [f"{r.what} {r.event_id} from tx {r.tx_from}" for r in simple]
    links = await _differences(
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
    differences += [f"{r.what} {r.target} <- {r.correction}" for r in links]
    regions = await _differences(
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
    differences += [f"{r.what} {r.code} ({r.event_id}) from tx {r.tx_from}" for r in regions]
    differences += await _span_differences(session)
    differences += await claim_differences(session)
    terms = await _differences(
        session,
        "enrolment_term",
        f"""
        WITH expected ({ENROLMENT_TERM_COLUMNS}) AS (
            SELECT {ENROLMENT_TERM_VALUES} FROM event_knowledge k
              JOIN ledger_event e ON e.event_id = k.event_id
             WHERE k.type IN ('officer.enrolled', 'informal.enrolled')
        ), live AS (SELECT {ENROLMENT_TERM_COLUMNS} FROM enrolment_term)""",
    )
    differences += [f"{r.what} {r.event_id} from tx {r.tx_from}" for r in terms]
    deltas = await _differences(
        session,
        "coverage_delta",
        f"""
        WITH changed AS (
            SELECT tx_from AS tx, valid_from, valid_to, region_code, officer, informal, 1 AS sign
              FROM coverage_span
            UNION ALL
            SELECT tx_to, valid_from, valid_to, region_code, officer, informal, -1
              FROM coverage_span WHERE tx_to IS NOT NULL
        ), expected AS (
            SELECT parent_code, tx AS tx_seq, child_code, day, officer, informal, sum(delta)::int
              FROM ({spans_repository.EXPANDED_CHANGES}) x
             GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(delta) <> 0
        ), live AS (
            SELECT parent_code, tx_seq, child_code, day, officer, informal, delta
              FROM coverage_delta WHERE delta <> 0
        )""",
    )
    differences += [f"{r.what} {r.parent_code}/{r.child_code} {r.day} at tx {r.tx_seq}" for r in deltas]
    # each checkpoint against the one before it plus the deltas between: by induction every
    # checkpoint equals the sum of its deltas, at the cost of reading each delta once
    checkpoints = await _differences(
        session,
        "coverage_checkpoint",
        """
        WITH chain AS (
            SELECT parent_code, tx_seq,
                   coalesce(lag(tx_seq) OVER (PARTITION BY parent_code ORDER BY tx_seq), 0) AS previous
              FROM coverage_checkpoint_tx
        ), expected AS (
            SELECT parent_code, tx_seq, child_code, day, officer, informal, sum(n)::int FROM (
                SELECT m.parent_code, m.tx_seq, c.child_code, c.day, c.officer, c.informal, c.covered AS n
                  FROM chain m JOIN coverage_checkpoint c
                    ON c.parent_code = m.parent_code AND c.tx_seq = m.previous
                UNION ALL
                SELECT m.parent_code, m.tx_seq, d.child_code, d.day, d.officer, d.informal, d.delta
                  FROM chain m JOIN coverage_delta d
                    ON d.parent_code = m.parent_code AND d.tx_seq > m.previous AND d.tx_seq <= m.tx_seq
            ) x GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(n) <> 0
        ), live AS (
            SELECT parent_code, tx_seq, child_code, day, officer, informal, covered FROM coverage_checkpoint
        )""",
    )
    differences += [f"{r.what} {r.parent_code}/{r.child_code} {r.day} at tx {r.tx_seq}" for r in checkpoints]
    return differences


async def _span_differences(session: AsyncSession, batch: int = 5_000) -> list[str]:
    """Current coverage spans recomputed from the events in force against the stored ones."""
    differences: list[str] = []
    head = await read_head(session)
    niks = [
        row.nik
        for row in await raw.execute(
            session,
            "SELECT DISTINCT nik FROM event_knowledge "
            "WHERE type IN ('officer.enrolled', 'informal.enrolled') "
            "UNION SELECT DISTINCT nik FROM coverage_span WHERE tx_to IS NULL ORDER BY 1",
        )
    ]
    for start in range(0, len(niks), batch):
        if len(differences) >= 1000:
            break
        chunk = niks[start : start + batch]
        expected = await current_spans(session, chunk, tx_seq=head.tx_seq if head else 0)
        stored = await spans_repository.open_spans(session, niks=chunk)
        for nik in chunk:
            want = {span.as_row() for span in expected.get(nik, [])}
            have = set(stored.get(nik, []))
            differences += [f"coverage_span lacks {nik} {row}" for row in sorted(want - have)]
            differences += [f"coverage_span has extra {nik} {row}" for row in sorted(have - want)]
    return differences[:1000]


ENROLMENT_TERM_COLUMNS = (
    "event_id, tx_from, tx_to, nik, type, tx_id, valid_from, valid_to, registered_on, role, committee, "
    "programs, payer"
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
         WHEN 'self' THEN 'self' END
"""
"""The enrolment_term row of an event_knowledge row `k` of an enrolment event `e`, as the
triggers of migration 0007 write it (a migration keeps its own frozen copy of this SQL)."""


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
