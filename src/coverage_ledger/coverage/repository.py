"""SQL of person reads beyond the raw log: force intervals and the corrections naming events."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def force_intervals(
    session: AsyncSession, event_ids: Sequence[str], *, up_to_tx: int
) -> dict[str, list[tuple[int, int | None, str | None]]]:
    """Known-time intervals of force per event, as known at `up_to_tx`."""
    rows = await session.execute(
        text(
            "SELECT event_id, tx_from, CASE WHEN tx_to <= :tx THEN tx_to END AS tx_to, "
            "CASE WHEN tx_to <= :tx THEN superseded_by END AS superseded_by "
            "FROM event_knowledge WHERE event_id = ANY(:ids) AND tx_from <= :tx "
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
    rows = await session.execute(
        text(
            "SELECT l.target_event_id, l.correction_event_id, l.tx_seq, c.payload->>'reason' AS reason "
            "FROM correction_link l JOIN ledger_event c ON c.event_id = l.correction_event_id "
            "WHERE l.target_event_id = ANY(:ids) AND l.tx_seq <= :tx ORDER BY l.tx_seq"
        ),
        {"ids": list(event_ids), "tx": up_to_tx},
    )
    result: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        result.setdefault(row.target_event_id, []).append(
            {"event_id": row.correction_event_id, "tx_seq": row.tx_seq, "reason": row.reason}
        )
    return result
