"""SQL of person reads beyond the raw log: force intervals and the corrections naming events."""

from collections.abc import Sequence

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
    # Only the filters asked for go into the statement: with `%(region)s IS NULL OR …` the
    # session's generic plans scanned every person for each page (100 ms a page, 20 s for a
    # status filter that matched nobody); with the filter left out, the `(nik, tx_from)` index
    # is walked in order and the page costs under a millisecond.
    filters = ""
    if region_prefix is not None:
        filters += (
            " AND (e.payload->>'region_code' = %(region)s OR e.payload->>'region_code' LIKE %(region_like)s)"
        )
    if committee is not None:
        filters += " AND e.payload->>'committee' = %(committee)s"
    rows = await raw.execute(
        session,
        "SELECT DISTINCT k.nik FROM event_knowledge k JOIN ledger_event e ON e.event_id = k.event_id "
        "WHERE k.tx_from <= %(tx)s AND (k.tx_to IS NULL OR k.tx_to > %(tx)s) "
        f"AND k.type = ANY(%(types)s::text[]) AND k.nik > %(after)s{filters} "
        "ORDER BY k.nik LIMIT %(limit)s",
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
