"""SQL of person reads beyond the raw log: force intervals and the corrections naming events."""

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.database import raw


async def force_intervals(
    session: AsyncSession, event_ids: Sequence[str], *, up_to_tx: int
) -> dict[str, list[tuple[int, int | None, str | None]]]:
    """Known-time intervals of force per event, as known at `up_to_tx`."""
    rows = await raw.execute(
        session,
        (
            "SELECT event_id, tx_from, CASE WHEN tx_to <= %(tx)s THEN tx_to END AS tx_to, "
            "CASE WHEN tx_to <= %(tx)s THEN superseded_by END AS superseded_by "
            "FROM event_knowledge WHERE event_id = ANY(%(ids)s) AND tx_from <= %(tx)s "
            "ORDER BY event_id, tx_from"
        ),
        {"ids": list(event_ids), "tx": up_to_tx},
    )
    result: dict[str, list[tuple[int, int | None, str | None]]] = {}
    for row in rows:
        result.setdefault(row.event_id, []).append((row.tx_from, row.tx_to, row.superseded_by))
    return result


async def corrections_of(
    session: AsyncSession, event_ids: Sequence[str], *, up_to_tx: int
) -> dict[str, list[dict[str, Any]]]:
    """The corrections naming each event, with their tx and reason, as known at `up_to_tx`."""
    rows = await raw.execute(
        session,
        (
            "SELECT l.target_event_id, l.correction_event_id, l.tx_seq, c.payload->>'reason' AS reason "
            "FROM correction_link l JOIN ledger_event c ON c.event_id = l.correction_event_id "
            "WHERE l.target_event_id = ANY(%(ids)s) AND l.tx_seq <= %(tx)s ORDER BY l.tx_seq"
        ),
        {"ids": list(event_ids), "tx": up_to_tx},
    )
    result: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        result.setdefault(row.target_event_id, []).append(
            {"event_id": row.correction_event_id, "tx_seq": row.tx_seq, "reason": row.reason}
        )
    return result


async def candidate_niks(
    session: AsyncSession,
    *,
    tx_seq: int,
    region_prefix: str | None,
    committee: str | None,
    after: str,
    limit: int,
) -> list[str]:
    """NIKs, in order after `after`, with a registration or enrolment in force at `tx_seq` in the
    region (or for the committee): the candidates a search then decides on."""
    rows = await raw.execute(
        session,
        """
        SELECT DISTINCT k.nik FROM event_knowledge k JOIN ledger_event e ON e.event_id = k.event_id
         WHERE k.tx_from <= %(tx)s AND (k.tx_to IS NULL OR k.tx_to > %(tx)s)
           AND k.type = ANY(%(types)s::text[]) AND k.nik > %(after)s
           AND (%(region)s::text IS NULL OR e.payload->>'region_code' = %(region)s
                OR e.payload->>'region_code' LIKE %(region_like)s)
           AND (%(committee)s::text IS NULL OR e.payload->>'committee' = %(committee)s)
         ORDER BY k.nik LIMIT %(limit)s
        """,
        {
            "tx": tx_seq,
            "types": ["officer.enrolled"]
            if committee
            else ["person.registered", "officer.enrolled", "informal.enrolled"],
            "after": after,
            "region": region_prefix,
            "region_like": f"{region_prefix}.%" if region_prefix else None,
            "committee": committee,
            "limit": limit,
        },
    )
    return [r.nik for r in rows]


async def head_tx_seq(session: AsyncSession) -> int:
    """The newest tx_seq, this transaction's own included."""
    return int(await raw.scalar(session, "SELECT coalesce(max(tx_seq), 0) FROM ledger_tx") or 0)


SpanRow = tuple[date, date, str, bool, bool]
"""(valid_from, valid_to, region_code, officer, informal)."""


async def open_spans(session: AsyncSession, *, niks: Sequence[str]) -> dict[str, list[SpanRow]]:
    """The current coverage spans of these persons."""
    rows = await raw.execute(
        session,
        "SELECT nik, valid_from, valid_to, region_code, officer, informal FROM coverage_span "
        "WHERE nik = ANY(%(niks)s) AND tx_to IS NULL",
        {"niks": list(niks)},
        prepare=False,
    )
    spans: dict[str, list[SpanRow]] = {}
    for row in rows:
        spans.setdefault(row.nik, []).append(
            (row.valid_from, row.valid_to, row.region_code, row.officer, row.informal)
        )
    return spans


async def close_spans(session: AsyncSession, *, keys: Sequence[tuple[str, date]], tx_seq: int) -> None:
    """End the current spans (nik, valid_from) at a tx."""
    if not keys:
        return
    await raw.execute(
        session,
        "UPDATE coverage_span s SET tx_to = %(tx)s "
        "FROM unnest(%(niks)s::text[], %(days)s::date[]) AS k(nik, day) "
        "WHERE s.nik = k.nik AND s.valid_from = k.day AND s.tx_to IS NULL",
        {"tx": tx_seq, "niks": [k[0] for k in keys], "days": [k[1] for k in keys]},
    )


async def open_new_spans(session: AsyncSession, *, spans: Sequence[tuple[str, SpanRow]], tx_seq: int) -> None:
    """Insert spans known from a tx on."""
    if not spans:
        return
    await raw.execute(
        session,
        "INSERT INTO coverage_span (nik, valid_from, tx_from, valid_to, region_code, officer, informal) "
        "SELECT n, f, %(tx)s, t, r, o, i FROM unnest(%(niks)s::text[], %(froms)s::date[], %(tos)s::date[], "
        "%(regions)s::text[], %(officer)s::bool[], %(informal)s::bool[]) AS x(n, f, t, r, o, i)",
        {
            "tx": tx_seq,
            "niks": [n for n, _ in spans],
            "froms": [s[0] for _, s in spans],
            "tos": [s[1] for _, s in spans],
            "regions": [s[2] for _, s in spans],
            "officer": [s[3] for _, s in spans],
            "informal": [s[4] for _, s in spans],
        },
    )
