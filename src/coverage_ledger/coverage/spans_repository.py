"""SQL of the coverage projection: persons' spans, the regional deltas they imply, checkpoints.

Every change of spans is written with its deltas in the same statement (`DELTAS_FROM_CHANGED`),
so the two cannot drift apart; `rebuild --check` recomputes both from the log."""

from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.database import raw
from coverage_ledger.database.raw import driver_connection

SpanRow = tuple[date, date, str, bool, bool, bool]
"""(valid_from, valid_to, region_code, officer, informal, in_all)."""

CHECKPOINT_AFTER = 4_000
"""Delta rows a parent region gathers before a checkpoint (or more, up to the size of its last
checkpoint: taking one then costs no more than the deltas it summarizes, and a read sums at most
about twice that many rows)."""

EXPANDED_CHANGES = """
    SELECT c.tx, array_to_string(c.parts[1:level], '.') AS parent_code,
           CASE WHEN level = cardinality(c.parts) THEN ''
                ELSE array_to_string(c.parts[1:level + 1], '.') END AS child_code,
           edge.day, c.officer, c.informal, c.in_all, c.sign * edge.sign AS delta
      FROM (SELECT tx, valid_from, valid_to, region_code, officer, informal, in_all, sum(sign) AS sign,
                   string_to_array(region_code, '.') AS parts
              FROM changed GROUP BY tx, valid_from, valid_to, region_code, officer, informal, in_all) c
     CROSS JOIN LATERAL generate_series(1, cardinality(c.parts)) AS level
     CROSS JOIN LATERAL (VALUES (c.valid_from, 1), (c.valid_to, -1)) AS edge(day, sign)
"""
"""Each span change of the CTE `changed (tx, valid_from, valid_to, region_code, officer,
informal, in_all, sign)` (+1 known from tx, -1 no longer known from tx) as a delta on its first and
first uncovered day, once for every ancestor region of the span's region. Spans alike but for
the person are summed first: a million-row roster opens a million spans over a few dozen
(term, region) pairs, and expanding each one by itself took ten seconds."""

DELTAS_FROM_CHANGED = f"""
, expanded AS ({EXPANDED_CHANGES})
, summed AS (
    SELECT parent_code, child_code, day, officer, informal, in_all, sum(delta)::int AS delta
      FROM expanded GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(delta) <> 0
)
, written AS (
    INSERT INTO coverage_delta (parent_code, tx_seq, child_code, day, officer, informal, in_all, delta)
    SELECT parent_code, %(tx)s, child_code, day, officer, informal, in_all, delta FROM summed
        ON CONFLICT ON CONSTRAINT pk_coverage_delta
    DO UPDATE SET delta = coverage_delta.delta + excluded.delta
    RETURNING parent_code
)
INSERT INTO coverage_delta_parent (parent_code, checkpoint_tx, checkpoint_rows, pending)
SELECT parent_code, 0, 0, count(*) FROM written GROUP BY parent_code
    ON CONFLICT ON CONSTRAINT pk_coverage_delta_parent
    DO UPDATE SET pending = coverage_delta_parent.pending + excluded.pending
RETURNING parent_code, pending >= greatest(%(checkpoint_after)s, checkpoint_rows) AS due
"""
"""The tail of a statement that writes the deltas of the spans opened and closed at tx `%(tx)s`,
listed by its CTE `changed` (as EXPANDED_CHANGES reads it, every `tx` equal to `%(tx)s`), with
`%(checkpoint_after)s` bound to CHECKPOINT_AFTER. It returns each parent region written and
whether a checkpoint of it is due."""


def _replace_spans_sql(wanted: str, persons: str) -> str:
    """The statement that makes the spans listed by `wanted` (a query of (nik, valid_from,
    valid_to, region_code, officer, informal, in_all)) the current spans of the persons `persons`
    (a condition on `s.nik`; every wanted span is of one of them) as of tx `%(tx)s`, with the
    regional deltas (`DELTAS_FROM_CHANGED`)."""
    return f"""
        WITH wanted AS ({wanted})
        , held AS MATERIALIZED (
            SELECT s.nik, s.valid_from, s.valid_to, s.region_code, s.officer, s.informal, s.in_all
              FROM coverage_span s WHERE {persons} AND s.tx_to IS NULL
        )
        , closed AS (
            UPDATE coverage_span s SET tx_to = %(tx)s
              -- a set difference, then each span gone found by its person's index: NOT EXISTS per
              -- held span ran as a nested loop of every held span against every wanted one (the
              -- generic plan guesses a few rows of each), 500,000 row comparisons for a batch of
              -- 1,000 corrections; the persons' condition here made the same loop of the join
              FROM (SELECT * FROM held EXCEPT SELECT * FROM wanted) AS gone
             WHERE (s.nik, s.valid_from, s.valid_to, s.region_code, s.officer, s.informal, s.in_all)
                 = (gone.nik, gone.valid_from, gone.valid_to, gone.region_code, gone.officer, gone.informal,
                    gone.in_all)
               AND s.tx_to IS NULL
            RETURNING s.valid_from, s.valid_to, s.region_code, s.officer, s.informal, s.in_all, -1 AS sign
        )
        , opened AS (
            INSERT INTO coverage_span
                   (nik, valid_from, tx_from, valid_to, region_code, officer, informal, in_all)
            SELECT w.nik, w.valid_from, %(tx)s, w.valid_to, w.region_code, w.officer, w.informal, w.in_all
              FROM wanted w
             -- the persons' current spans read once, not coverage_span per wanted span: a scan of
             -- the table per row also reads the rows this statement has inserted so far, which
             -- made a 60,000-person sponsor roster's spans take minutes
             WHERE NOT EXISTS (
                   SELECT 1 FROM held c
                    WHERE (c.nik, c.valid_from, c.valid_to, c.region_code, c.officer, c.informal, c.in_all)
                        = (w.nik, w.valid_from, w.valid_to, w.region_code, w.officer, w.informal, w.in_all))
            RETURNING valid_from, valid_to, region_code, officer, informal, in_all, 1 AS sign
        )
        , changed AS (
            SELECT %(tx)s::bigint AS tx, * FROM closed UNION ALL SELECT %(tx)s::bigint, * FROM opened
        )
        {DELTAS_FROM_CHANGED}
        """


_REPLACE_FROM_ARRAYS = _replace_spans_sql(
    # the arrays binary (see raw.execute)
    """SELECT * FROM unnest(%(span_niks)b::text[], %(froms)b::date[], %(tos)b::date[],
                            %(regions)b::text[], %(officer)b::bool[], %(informal)b::bool[],
                            %(in_all)b::bool[])
           AS w(nik, valid_from, valid_to, region_code, officer, informal, in_all)""",
    "s.nik = ANY(%(niks)b::text[])",
)
_REPLACE_FROM_STAGED = _replace_spans_sql(
    "SELECT nik, valid_from, valid_to, region_code, officer, informal, in_all FROM staged_span",
    "s.nik IN (SELECT nik FROM staged_span_person)",
)


async def replace_open_spans(
    session: AsyncSession, *, niks: Sequence[str], spans: Sequence[tuple[str, SpanRow]], tx_seq: int
) -> list[str]:
    """Make `spans` the current spans of `niks` as of a tx: those no longer wanted are closed,
    the new ones opened, and the regional deltas of both written; the parent regions now due
    for a checkpoint."""
    if not niks:
        return []
    rows = await raw.execute(
        session,
        _REPLACE_FROM_ARRAYS,
        {
            "tx": tx_seq,
            "checkpoint_after": CHECKPOINT_AFTER,
            "niks": list(niks),
            "span_niks": [n for n, _ in spans],
            "froms": [s[0] for _, s in spans],
            "tos": [s[1] for _, s in spans],
            "regions": [s[2] for _, s in spans],
            "officer": [s[3] for _, s in spans],
            "informal": [s[4] for _, s in spans],
            "in_all": [s[5] for _, s in spans],
        },
        prepare=None if len(niks) <= 64 else False,
    )
    return [row.parent_code for row in rows if row.due]


async def start_staged_spans(session: AsyncSession) -> None:
    """Empty staging tables (this transaction's) for spans computed before their tx is numbered."""
    await raw.execute(
        session,
        "CREATE TEMP TABLE IF NOT EXISTS staged_span (nik text NOT NULL, valid_from date NOT NULL, "
        "valid_to date NOT NULL, region_code text NOT NULL, officer boolean NOT NULL, "
        "informal boolean NOT NULL, in_all boolean NOT NULL) ON COMMIT DROP",
    )
    await raw.execute(
        session,
        "CREATE TEMP TABLE IF NOT EXISTS staged_span_person "
        "(nik text PRIMARY KEY, checked_at bigint NOT NULL) ON COMMIT DROP",
    )
    await raw.execute(session, "TRUNCATE staged_span, staged_span_person")


async def stage_spans(session: AsyncSession, *, spans: dict[str, list[SpanRow]], checked_at: int) -> None:
    """Stage these persons' spans (a person with none is staged too: their open spans close),
    computed from the ledger as their chunk was checked at tx `checked_at` or later."""
    conn = await driver_connection(session)
    async with conn.cursor() as cursor:
        async with cursor.copy("COPY staged_span_person (nik, checked_at) FROM STDIN") as copy:
            for nik in spans:
                await copy.write_row((nik, checked_at))
        async with cursor.copy(
            "COPY staged_span (nik, valid_from, valid_to, region_code, officer, informal, in_all) FROM STDIN"
        ) as copy:
            for nik, rows in spans.items():
                for row in rows:
                    await copy.write_row((nik, *row))


async def staged_among(session: AsyncSession, *, niks: Iterable[str]) -> bool:
    """Whether any of these persons has staged spans already."""
    return bool(
        await raw.scalar(
            session,
            "SELECT EXISTS (SELECT 1 FROM staged_span_person WHERE nik = ANY(%(niks)s))",
            {"niks": list(niks)},
        )
    )


async def analyze_staged(session: AsyncSession) -> None:
    """Statistics of the staging tables, for the plans of the statements that read them whole
    (once everything is staged, and before the lock: ANALYZE takes time)."""
    await raw.execute(session, "ANALYZE staged_span, staged_span_person")


async def staged_persons_changed(session: AsyncSession) -> bool:
    """Whether an event of a staged person entered or left force after the tx their chunk was
    checked at (a change before it, their chunk saw)."""
    return bool(
        await raw.scalar(
            session,
            "SELECT EXISTS (SELECT 1 FROM staged_span_person p JOIN event_knowledge k ON k.nik = p.nik "
            "WHERE k.tx_from > p.checked_at OR k.tx_to > p.checked_at)",
        )
    )


async def staged_persons_touched_between(session: AsyncSession, *, after_tx: int, up_to_tx: int) -> bool:
    """Whether a tx in (after_tx, up_to_tx] wrote an event of a staged person (after their chunk
    was checked) or a rule, or corrected one (read from those txs' events: cheap however large
    the ledger)."""
    row = (
        await raw.execute(
            session,
            """
            SELECT EXISTS (
                SELECT 1 FROM ledger_tx t JOIN ledger_event e ON e.tx_id = t.tx_id
                 WHERE t.tx_seq > %(after)s AND t.tx_seq <= %(upto)s
                   AND (e.type = 'rule.defined'
                        OR EXISTS (SELECT 1 FROM staged_span_person p
                                    WHERE p.nik = e.nik AND t.tx_seq > p.checked_at)
                        OR (e.type = 'event.corrected' AND EXISTS (
                            SELECT 1 FROM correction_link l
                              JOIN event_knowledge k ON k.event_id = l.target_event_id
                             WHERE l.correction_event_id = e.event_id
                               AND (k.type = 'rule.defined'
                                    OR EXISTS (SELECT 1 FROM staged_span_person p
                                                WHERE p.nik = k.nik AND t.tx_seq > p.checked_at))))))
            """,
            {"after": after_tx, "upto": up_to_tx},
            prepare=False,  # planned for the window's size each time
        )
    ).one()
    return bool(row[0])


async def replace_open_spans_with_staged(session: AsyncSession, *, tx_seq: int) -> list[str]:
    """`replace_open_spans` for every staged person, with the staged spans; the parent regions
    now due for a checkpoint."""
    rows = await raw.execute(
        session, _REPLACE_FROM_STAGED, {"tx": tx_seq, "checkpoint_after": CHECKPOINT_AFTER}, prepare=False
    )
    return [row.parent_code for row in rows if row.due]


async def take_checkpoints(session: AsyncSession, *, parents: Sequence[str], tx_seq: int) -> None:
    """Checkpoint these parent regions as of this tx: their last checkpoint plus the deltas since
    (once per tx: after every delta of the tx is written)."""
    if not parents:
        return
    await raw.execute(
        session,
        """
        WITH due AS MATERIALIZED (
            SELECT parent_code, checkpoint_tx FROM coverage_delta_parent
             WHERE parent_code = ANY(%(parents)s)
        )
        , summed AS (
            SELECT parent_code, child_code, day, officer, informal, in_all, sum(n)::int AS covered FROM (
                SELECT c.parent_code, c.child_code, c.day, c.officer, c.informal, c.in_all, c.covered AS n
                  FROM coverage_checkpoint c JOIN due
                    ON c.parent_code = due.parent_code AND c.tx_seq = due.checkpoint_tx
                UNION ALL
                SELECT d.parent_code, d.child_code, d.day, d.officer, d.informal, d.in_all, d.delta
                  FROM coverage_delta d JOIN due
                    ON d.parent_code = due.parent_code AND d.tx_seq > due.checkpoint_tx
            ) x GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(n) <> 0
        )
        , stored AS (
            INSERT INTO coverage_checkpoint
                   (parent_code, tx_seq, child_code, day, officer, informal, in_all, covered)
            SELECT parent_code, %(tx)s, child_code, day, officer, informal, in_all, covered FROM summed
            RETURNING parent_code
        )
        , sizes AS (SELECT parent_code, count(*) AS n FROM stored GROUP BY 1)
        , marked AS (
            INSERT INTO coverage_checkpoint_tx (parent_code, tx_seq) SELECT parent_code, %(tx)s FROM due
        )
        UPDATE coverage_delta_parent p
           SET checkpoint_tx = %(tx)s, pending = 0, checkpoint_rows = coalesce(sizes.n, 0)
          FROM due LEFT JOIN sizes USING (parent_code)
         WHERE p.parent_code = due.parent_code
        """,
        {"tx": tx_seq, "parents": list(parents)},
        prepare=False,
    )


async def open_spans(session: AsyncSession, *, niks: Sequence[str]) -> dict[str, list[SpanRow]]:
    """The current coverage spans of these persons."""
    rows = await raw.execute(
        session,
        "SELECT nik, valid_from, valid_to, region_code, officer, informal, in_all FROM coverage_span "
        "WHERE nik = ANY(%(niks)s) AND tx_to IS NULL",
        {"niks": list(niks)},
        prepare=False,
    )
    spans: dict[str, list[SpanRow]] = {}
    for row in rows:
        spans.setdefault(row.nik, []).append(
            (row.valid_from, row.valid_to, row.region_code, row.officer, row.informal, row.in_all)
        )
    return spans


async def needs_backfill(session: AsyncSession) -> bool:
    """The projection is empty while the ledger holds person events (written before it existed)."""
    return bool(
        await raw.scalar(
            session,
            "SELECT NOT EXISTS (SELECT 1 FROM coverage_span) AND EXISTS ("
            "SELECT 1 FROM event_knowledge WHERE type IN ('officer.enrolled', 'informal.enrolled'))",
        )
    )


async def person_changes_by_tx(
    session: AsyncSession, *, types: Sequence[str]
) -> AsyncIterator[tuple[int, list[str]]]:
    """(tx_seq, persons) for every tx in which some person's events of these types entered or
    left force, in tx order (from a server-side cursor)."""
    conn = await driver_connection(session)
    async with conn.cursor(name="person_changes_by_tx") as cursor:
        await cursor.execute(
            """
            SELECT tx, array_agg(DISTINCT nik) FROM (
                SELECT tx_from AS tx, nik FROM event_knowledge WHERE type = ANY(%(types)s) AND nik IS NOT NULL
                UNION ALL
                SELECT tx_to, nik FROM event_knowledge
                 WHERE type = ANY(%(types)s) AND nik IS NOT NULL AND tx_to IS NOT NULL
            ) c GROUP BY tx ORDER BY tx
            """,
            {"types": list(types)},
        )
        while rows := await cursor.fetchmany(1_000):
            for tx, niks in rows:
                yield int(tx), list(niks)
