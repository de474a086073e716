"""All SQL of the reports: each report's rows as of a tx, streamed through a server-side cursor,
the ledger head at a tx, and the report access log (an operational table, not ledger events)."""

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from psycopg.rows import tuple_row
from psycopg.types.json import Jsonb
from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger import __version__
from coverage_ledger.claims.repository import OPEN_STATUSES, OVERDUE_CANDIDATES
from coverage_ledger.database import raw
from coverage_ledger.domain.officer import OFFICER_PROGRAMS
from coverage_ledger.reports.content import CHUNK_BYTES, FORMULA_STARTS

_OPEN = ", ".join(f"'{status}'" for status in OPEN_STATUSES)
_IN_FORCE = "k.tx_from <= %(tx)s AND (k.tx_to IS NULL OR k.tx_to > %(tx)s)"
_TERM_WITHIN = raw.within_region("k.region_code")
_COVERING_THE_DAY = "s.valid_from <= %(day)s AND %(day)s < s.valid_to AND s.in_all"
"""A span `s` covering the day, counted for `all` (one span a person)."""
_COVERING_TERM = f"""k.nik = s.nik AND k.type = 'officer.enrolled' AND {_IN_FORCE}
           AND k.valid_from <= %(day)s AND %(day)s < k.valid_to
           AND coalesce(k.registered_on, (SELECT (t.recorded_at AT TIME ZONE 'Asia/Jakarta')::date
                                            FROM ledger_tx t WHERE t.tx_id = k.tx_id)) <= %(day)s"""
"""An officer term `k` of the person of span `s` that covers the day as known at the tx."""
_COVERING_TERMS_PROGRAMS = f"SELECT string_agg(k.programs, ' ') FROM enrolment_term k WHERE {_COVERING_TERM}"
_ALL_OFFICER_PROGRAMS = " ".join(OFFICER_PROGRAMS)
"""`enrolment_term.programs` of a term for every officer program: nothing to add from others."""

_COVERAGE_ROSTER = f"""
SELECT s.nik,
       concat_ws('+', CASE WHEN o.programs IS NOT NULL THEN 'officer' END,
                      CASE WHEN i.programs IS NOT NULL THEN 'informal' END) AS segment,
       CASE WHEN i.programs IS NULL AND o.programs = '{_ALL_OFFICER_PROGRAMS}' THEN o.programs
            WHEN o.programs IS NULL THEN i.programs
            ELSE array_to_string(ARRAY(
                SELECT DISTINCT p COLLATE "C"
                  FROM unnest(string_to_array(concat_ws(' ', i.programs,
                       CASE WHEN o.programs = '{_ALL_OFFICER_PROGRAMS}' THEN o.programs
                            ELSE ({_COVERING_TERMS_PROGRAMS}) END), ' ')) p
                 ORDER BY 1), ' ') END AS programs,
       s.valid_from AS covered_from, s.valid_to AS covered_until, s.region_code,
       CASE WHEN {raw.within_region("o.region_code")} THEN o.role END AS role,
       CASE WHEN {raw.within_region("o.region_code")} THEN o.committee END AS committee,
       CASE WHEN {raw.within_region("i.region_code")} THEN i.payer END AS payer
  -- the spans in NIK order first, so that the rows stream as they are joined: sorted after the
  -- joins instead, a province's report gave its first byte only once all of it was read
  FROM (SELECT s.nik, s.nik COLLATE "C" AS nik_order, s.valid_from, s.valid_to, s.region_code
          FROM coverage_span s
         WHERE s.tx_from <= %(tx)s AND (s.tx_to IS NULL OR s.tx_to > %(tx)s)
           AND {_COVERING_THE_DAY} AND {{span_region}}
         ORDER BY nik_order) s
  -- covered how, that day: the person's spans of every segment (a BPU member serving as an
  -- officer in another region has a span for each region, only one of them counted for all)
  CROSS JOIN LATERAL (
        SELECT bool_or(x.officer) AS officer, bool_or(x.informal) AS informal FROM coverage_span x
         WHERE x.nik = s.nik AND x.tx_from <= %(tx)s AND (x.tx_to IS NULL OR x.tx_to > %(tx)s)
           AND x.valid_from <= %(day)s AND %(day)s < x.valid_to) f
  -- the officer term covering the day, one inside the report's region first (another region's
  -- role and committee are that region's data, not printed), then one of the region the row
  -- names (the person counts in one term's region: its role goes with it); when it is not for every officer
  -- program, the programs of all the terms covering the day are gathered (a JKK term here and a
  -- JKM term there); terms starting the same day are taken by event id, whatever the order
  -- their rows lie in on disk (a later tx closing one moves it)
  LEFT JOIN LATERAL (
        SELECT k.role, k.committee, k.programs, k.region_code
          FROM enrolment_term k
         WHERE f.officer AND {_COVERING_TERM}
         ORDER BY {_TERM_WITHIN} DESC, k.region_code = s.region_code DESC, k.valid_from DESC,
                  k.event_id COLLATE "C" LIMIT 1) o ON true
  -- the BPU membership of the day (its payer printed only inside the report's region)
  LEFT JOIN LATERAL (
        SELECT k.payer, k.programs, k.region_code FROM enrolment_term k
         WHERE f.informal AND k.nik = s.nik AND k.type = 'informal.enrolled' AND {_IN_FORCE}
           AND k.valid_from <= %(day)s
         ORDER BY k.valid_from DESC, k.event_id COLLATE "C" LIMIT 1) i ON true
 ORDER BY s.nik_order
"""


def coverage_roster(*, regional: bool) -> str:
    """Every person covered on the day as known at the tx (their coverage span), how and for which
    programs (the person's), with the officer term and the BPU membership in force that day as far
    as they lie inside the report's region; the report's columns, in order. A regional report
    reads its region's spans through their region index, not every span in the nation."""
    span_region = raw.under_region("s.region_code") if regional else "true"
    return _COVERAGE_ROSTER.replace("{span_region}", span_region)


CLAIMS = f"""
SELECT claim_id, nik, region_code, benefit, incident_date, status, payable_amount, paid_amount,
       CASE WHEN r.reversed_on <= %(day)s THEN greatest(r.due_on, r.reversed_on) ELSE r.due_on END
           AS due_date, settled_on
  FROM claim_record r
 WHERE r.tx_from <= %(tx)s AND (r.tx_to IS NULL OR r.tx_to > %(tx)s)
   AND {raw.within_region("r.region_code")}
   AND (NOT %(overdue)s OR ({OVERDUE_CANDIDATES.format(day="%(day)s::date", open=f"ARRAY[{_OPEN}]")}))
 ORDER BY r.claim_id COLLATE "C"
"""
"""Claims as known at the tx (with `overdue`, those that could be overdue on the day: the claim
read decides); a claim whose payments were all reversed is due again from the reversal, not
from its first due date."""

UPLOADS = f"""
SELECT upload_id::text, kind, committee, filename, file_sha256, mode, policy, rows_total,
       rows_accepted, rows_rejected, rows_duplicate, tx_seq
  FROM upload
 WHERE status = 'succeeded' AND NOT dry_run AND tx_seq <= %(tx)s
   AND {raw.within_region("key_region_prefix")}
 ORDER BY tx_seq, upload_id
"""
"""Uploads committed at or before the tx, by keys of the region (national keys: national reports)."""


async def stream(
    session: AsyncSession, query: str, params: dict[str, Any], *, batch: int = 5_000
) -> AsyncIterator[tuple[Any, ...]]:
    """The rows of a query through a server-side cursor, `batch` at a time."""
    conn = await raw.driver_connection(session)
    async with conn.cursor(name="report", row_factory=tuple_row) as cursor:
        cursor.itersize = batch
        await cursor.execute(query, params)
        async for row in cursor:
            yield row


@dataclass(slots=True)
class CopyCount:
    """Rows a COPY wrote, known once it has ended."""

    rows: int = 0


_FORMULA_STARTS = "(" + ", ".join(f"E'{c.encode('unicode_escape').decode()}'" for c in FORMULA_STARTS) + ")"
"""`content.FORMULA_STARTS` as an SQL list (escape strings: a tab is written `E'\\t'`)."""


def _formula_safe(query: str, columns: Sequence[str]) -> str:
    """The query with each text cell kept from reading as a spreadsheet formula, as
    `content.csv_cell` does for the reports Python writes (the same bytes either way)."""
    quote = "''''"  # SQL for a single quote
    cells = ", ".join(
        f"CASE WHEN pg_typeof(q.{c}) = 'text'::regtype AND left(q.{c}::text, 1) IN {_FORMULA_STARTS} "
        f"THEN {quote} || q.{c}::text ELSE q.{c}::text END AS {c}"
        for c in columns
    )
    return f"SELECT {cells} FROM ({query}) AS q"


async def copy_csv(
    session: AsyncSession, query: str, params: dict[str, Any], count: CopyCount, *, columns: Sequence[str]
) -> AsyncIterator[bytes]:
    """The query's rows as CSV with a header line, written by PostgreSQL itself (COPY): a million
    rows stream at the speed of the query, not of a Python loop. Dates are written ISO whatever
    the server's DateStyle."""
    conn = await raw.driver_connection(session)
    async with conn.cursor() as cursor:
        await cursor.execute("SET LOCAL datestyle = 'ISO, YMD'")
        safe = _formula_safe(query, columns)
        async with cursor.copy(f"COPY ({safe}) TO STDOUT (FORMAT csv, HEADER)", params) as copy:
            # PostgreSQL sends a message per row: gathered here, so the response writes (and the
            # hash digests) blocks of CHUNK_BYTES rather than a million small pieces
            block = bytearray()
            async for chunk in copy:
                block += chunk
                if len(block) >= CHUNK_BYTES:
                    yield bytes(block)
                    block.clear()
            yield bytes(block)
        count.rows = cursor.rowcount


async def head_at(session: AsyncSession, tx_seq: int) -> tuple[str, datetime] | None:
    """The hash and recorded_at of the tx."""
    row = (
        await raw.execute(
            session, "SELECT hash, recorded_at FROM ledger_tx WHERE tx_seq = %(tx)s", {"tx": tx_seq}
        )
    ).one_or_none()
    return (row.hash, row.recorded_at) if row is not None else None


async def log_access(
    session: AsyncSession,
    *,
    key_name: str,
    requested_at: datetime,
    report: str,
    parameters: dict[str, Any],
    tx_seq: int,
    rows: int | None,
    content_sha256: str | None,
) -> int:
    """Record a report request; returns its id."""
    row = (
        await raw.execute(
            session,
            "INSERT INTO report_access "
            "(key_name, requested_at, report, parameters, tx_seq, rows, content_sha256, software_version) "
            "VALUES (%(key)s, %(at)s, %(report)s, %(parameters)s, %(tx)s, %(rows)s, %(sha)s, %(version)s) "
            "RETURNING access_id",
            {
                "key": key_name,
                "at": requested_at,
                "report": report,
                "parameters": Jsonb(parameters),
                "tx": tx_seq,
                "rows": rows,
                "sha": content_sha256,
                "version": __version__,
            },
        )
    ).one()
    return int(row.access_id)


async def complete_access(session: AsyncSession, *, access_id: int, rows: int, content_sha256: str) -> None:
    """Add what a streamed report turned out to hold."""
    await raw.execute_count(
        session,
        "UPDATE report_access SET rows = %(rows)s, content_sha256 = %(sha)s WHERE access_id = %(id)s",
        {"rows": rows, "sha": content_sha256, "id": access_id},
    )


async def access_log(session: AsyncSession, *, before: int | None, limit: int) -> list[Any]:
    """The newest report requests first."""
    return list(
        await raw.execute(
            session,
            "SELECT access_id, key_name, requested_at, report, parameters, tx_seq, rows, content_sha256, "
            "       software_version "
            "FROM report_access WHERE %(before)s::bigint IS NULL OR access_id < %(before)s "
            "ORDER BY access_id DESC LIMIT %(limit)s",
            {"before": before, "limit": limit},
        )
    )


async def changed_persons(
    session: AsyncSession, *, day: date, then_tx: int, now_tx: int, region: str | None
) -> list[tuple[str, str | None, str | None]]:
    """Persons whose cover on the day differs between two txs, covered in
    the region at one of them: (nik, region then, region now); a region is None where the person
    was not covered."""
    # Only a person with a span covering the day in the region that entered or left force between
    # the two txs can differ there: a span in force at both moments gives both the same region (a
    # person has one such span a day). Comparing everyone's spans returned every person of a
    # 300,000-row roster uploaded in between, for the Python to drop as outside the region (2.5 s
    # for an empty diff).
    rows = await raw.execute(
        session,
        f"""
        WITH touched AS (
            SELECT DISTINCT s.nik FROM coverage_span s
             WHERE ((s.tx_from > %(low)s AND s.tx_from <= %(high)s)
                    OR (s.tx_to > %(low)s AND s.tx_to <= %(high)s))
               AND {_COVERING_THE_DAY} AND {raw.within_region("s.region_code")}
        ), then_ AS (
            SELECT s.nik, s.region_code FROM coverage_span s JOIN touched t ON t.nik = s.nik
             WHERE s.tx_from <= %(then)s AND (s.tx_to IS NULL OR s.tx_to > %(then)s) AND {_COVERING_THE_DAY}
        ), now_ AS (
            SELECT s.nik, s.region_code FROM coverage_span s JOIN touched t ON t.nik = s.nik
             WHERE s.tx_from <= %(now)s AND (s.tx_to IS NULL OR s.tx_to > %(now)s) AND {_COVERING_THE_DAY}
        )
        SELECT coalesce(a.nik, b.nik) AS nik, a.region_code AS then_region, b.region_code AS now_region
          FROM then_ a FULL JOIN now_ b ON a.nik = b.nik
         WHERE a.region_code IS DISTINCT FROM b.region_code
           AND ((a.region_code IS NOT NULL AND {raw.within_region("a.region_code")})
                OR (b.region_code IS NOT NULL AND {raw.within_region("b.region_code")}))
         ORDER BY coalesce(a.nik, b.nik) COLLATE "C"
        """,
        {
            "day": day,
            "then": then_tx,
            "now": now_tx,
            "low": min(then_tx, now_tx),
            "high": max(then_tx, now_tx),
            "region": region,
        },
    )
    return [(r.nik, r.then_region, r.now_region) for r in rows]


async def events_between(
    session: AsyncSession, niks: list[str], *, after_tx: int, up_to_tx: int
) -> list[Any]:
    """Events about these persons that entered or left force (or both) in txs (after_tx,
    up_to_tx], with the sources of the txs that brought and withdrew them (an upload names itself
    there), their region, and the payload of a payment or reactivation (whose region is that of
    the membership it belongs to)."""
    return list(
        await raw.execute(
            session,
            """
            SELECT k.nik, k.event_id, k.type, k.tx_from, k.tx_to, k.superseded_by,
                   entered.source AS entered_source, gone.source AS left_source,
                   e.payload->>'region_code' AS region_code,
                   CASE WHEN k.type IN ('contribution.paid', 'membership.reactivated') THEN e.payload END
                       AS bpu_payload
              FROM event_knowledge k
              JOIN ledger_event e ON e.event_id = k.event_id
              JOIN ledger_tx entered ON entered.tx_seq = k.tx_from
              LEFT JOIN ledger_tx gone ON gone.tx_seq = k.tx_to
             WHERE k.nik = ANY(%(niks)s)
               AND ((k.tx_from > %(after)s AND k.tx_from <= %(upto)s)
                    OR (k.tx_to > %(after)s AND k.tx_to <= %(upto)s))
             ORDER BY k.nik COLLATE "C", 4, k.event_id COLLATE "C"
            """,
            {"niks": niks, "after": after_tx, "upto": up_to_tx},
            prepare=False,
        )
    )


async def membership_spans(session: AsyncSession, niks: list[str], *, up_to_tx: int) -> list[Any]:
    """The BPU memberships of these persons recorded up to the tx, each with every known-time
    interval it was in force in (`tx_to` beyond the tx read as open) and the correction that
    ended it, and the correction that carried it in: whose membership a payment was, and what
    that membership became."""
    return list(
        await raw.execute(
            session,
            """
            SELECT k.nik, k.event_id, e.payload, k.tx_from,
                   CASE WHEN k.tx_to > %(upto)s THEN NULL ELSE k.tx_to END AS tx_to,
                   CASE WHEN k.tx_to > %(upto)s THEN NULL ELSE k.superseded_by END AS superseded_by,
                   e.carried_by, t.recorded_at
              FROM event_knowledge k
              JOIN ledger_event e ON e.event_id = k.event_id
              JOIN ledger_tx t ON t.tx_id = e.tx_id
             WHERE k.nik = ANY(%(niks)s) AND k.type = 'informal.enrolled' AND k.tx_from <= %(upto)s
             ORDER BY k.nik COLLATE "C", k.tx_from, k.event_id COLLATE "C"
            """,
            {"niks": niks, "upto": up_to_tx},
            prepare=False,
        )
    )
