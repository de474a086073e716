"""All SQL of the projections: event force intervals, correction links, regions, the vault."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.domain.supersession import EventLinks
from coverage_ledger.ledger.repository import driver_connection


async def open_intervals(session: AsyncSession, *, tx_seq: int, event_ids: Sequence[str]) -> None:
    """Events entering force at `tx_seq` (new ones, written earlier in this transaction, or restored)."""
    if not event_ids:
        return
    await session.execute(
        text(
            "INSERT INTO event_knowledge (event_id, tx_from, nik, type) "
            "SELECT event_id, :tx, nik, type FROM ledger_event WHERE event_id = ANY(:ids)"
        ),
        {"tx": tx_seq, "ids": list(event_ids)},
    )


async def close_intervals(
    session: AsyncSession, *, tx_seq: int, closing: Sequence[tuple[str, str | None]]
) -> None:
    """Events leaving force at `tx_seq`, each with the correction that caused it."""
    if not closing:
        return
    await session.execute(
        text(
            "UPDATE event_knowledge k SET tx_to = :tx, superseded_by = c.cause "
            "FROM unnest(CAST(:ids AS text[]), CAST(:causes AS text[])) AS c(event_id, cause) "
            "WHERE k.event_id = c.event_id AND k.tx_to IS NULL"
        ),
        {"tx": tx_seq, "ids": [c[0] for c in closing], "causes": [c[1] for c in closing]},
    )


async def write_correction_links(
    session: AsyncSession, *, tx_seq: int, links: Sequence[tuple[str, str]]
) -> None:
    """(target, correction) edges of the corrections in this tx."""
    if not links:
        return
    await session.execute(
        text(
            "INSERT INTO correction_link (target_event_id, correction_event_id, tx_seq) "
            "SELECT t, c, :tx FROM unnest(CAST(:targets AS text[]), CAST(:corrections AS text[])) "
            "AS l(t, c)"
        ),
        {"tx": tx_seq, "targets": [t for t, _ in links], "corrections": [c for _, c in links]},
    )


async def load_links(
    session: AsyncSession, start: Iterable[str]
) -> tuple[dict[str, EventLinks], dict[str, bool]]:
    """The supersession graph downstream of `start`, with each node's current force.

    Downstream = the events named by corrections, and the replacements of corrections,
    transitively; plus every correction that points at a node (to evaluate its force).
    """
    ids = list(set(start))
    if not ids:
        return {}, {}
    rows = await session.execute(
        text(
            """
            WITH RECURSIVE reach(event_id) AS (
                SELECT unnest(CAST(:ids AS text[]))
              UNION
                SELECT nxt.event_id FROM reach r
                CROSS JOIN LATERAL (
                    SELECT l.target_event_id AS event_id FROM correction_link l
                     WHERE l.correction_event_id = r.event_id
                    UNION ALL
                    SELECT e.event_id FROM ledger_event e WHERE e.carried_by = r.event_id
                ) nxt
            ),
            nodes AS (
                SELECT event_id FROM reach
              UNION
                SELECT l.correction_event_id FROM correction_link l
                  JOIN reach r ON r.event_id = l.target_event_id
            )
            SELECT n.event_id,
                   e.carried_by,
                   EXISTS (SELECT 1 FROM event_knowledge k
                            WHERE k.event_id = n.event_id AND k.tx_to IS NULL) AS in_force,
                   ARRAY(SELECT l.correction_event_id FROM correction_link l
                          WHERE l.target_event_id = n.event_id
                          ORDER BY l.tx_seq, l.correction_event_id) AS corrected_by,
                   ARRAY(SELECT l.target_event_id FROM correction_link l
                          WHERE l.correction_event_id = n.event_id
                          ORDER BY l.target_event_id) AS supersedes,
                   (SELECT r.event_id FROM ledger_event r WHERE r.carried_by = n.event_id)
                       AS replacement
              FROM nodes n JOIN ledger_event e ON e.event_id = n.event_id
            """
        ),
        {"ids": ids},
    )
    links: dict[str, EventLinks] = {}
    force: dict[str, bool] = {}
    for row in rows:
        links[row.event_id] = EventLinks(
            event_id=row.event_id,
            carried_by=row.carried_by,
            corrected_by=list(row.corrected_by),
            supersedes=tuple(row.supersedes),
            replacement=row.replacement,
        )
        force[row.event_id] = bool(row.in_force)
    return links, force


async def niks_of(session: AsyncSession, event_ids: Sequence[str], *, event_type: str) -> set[str]:
    """The persons that events of one type among `event_ids` are about."""
    if not event_ids:
        return set()
    rows = await session.execute(
        text("SELECT DISTINCT nik FROM ledger_event WHERE event_id = ANY(:ids) AND type = :type"),
        {"ids": list(event_ids), "type": event_type},
    )
    return {r.nik for r in rows if r.nik is not None}


@dataclass(frozen=True, slots=True)
class InForceEvent:
    """A person event in force, with when the ledger learned it."""

    event_id: str
    type: str
    payload: dict[str, Any]
    tx_seq: int | None
    """None for an event of the tx being appended."""
    recorded_at: datetime | None


async def in_force_events_of(
    session: AsyncSession, *, niks: Iterable[str], types: Sequence[str], tx_seq: int | None = None
) -> list[InForceEvent]:
    """Person events in force at a tx (None = current knowledge, including the tx being appended)."""
    nik_list = list(set(niks))
    if not nik_list:
        return []
    if tx_seq is None:
        condition = "k.tx_to IS NULL"
    else:
        condition = "k.tx_from <= :tx AND (k.tx_to IS NULL OR k.tx_to > :tx)"
    rows = await session.execute(
        text(
            "SELECT k.event_id, k.type, e.payload, t.tx_seq, t.recorded_at FROM event_knowledge k "
            "JOIN ledger_event e ON e.event_id = k.event_id "
            "LEFT JOIN ledger_tx t ON t.tx_id = e.tx_id "
            f"WHERE k.nik = ANY(:niks) AND k.type = ANY(:types) AND {condition} "
            "ORDER BY t.tx_seq NULLS LAST, e.position"
        ),
        {"niks": nik_list, "types": list(types), "tx": tx_seq},
    )
    return [InForceEvent(r.event_id, r.type, r.payload, r.tx_seq, r.recorded_at) for r in rows]


async def sync_regions(
    session: AsyncSession, *, tx_seq: int, entering: Sequence[str], leaving: Sequence[str]
) -> None:
    """Mirror region definitions entering or leaving force into the region projection."""
    if leaving:
        await session.execute(
            text("UPDATE region SET tx_to = :tx WHERE event_id = ANY(:ids) AND tx_to IS NULL"),
            {"tx": tx_seq, "ids": list(leaving)},
        )
    if entering:
        await session.execute(
            text(
                "INSERT INTO region (event_id, tx_from, code, parent_code, name, level, decree, "
                "valid_from, valid_to) SELECT e.event_id, :tx, e.payload->>'code', "
                "e.payload->>'parent_code', e.payload->>'name', (e.payload->>'level')::int, "
                "e.payload->>'decree', (e.payload->>'valid_from')::date, "
                "(e.payload->>'valid_to')::date FROM ledger_event e "
                "WHERE e.event_id = ANY(:ids) AND e.type = 'region.defined'"
            ),
            {"tx": tx_seq, "ids": list(entering)},
        )


async def region_codes_in_force(session: AsyncSession, codes: Iterable[str]) -> set[str]:
    """Which of these region codes are defined in current knowledge."""
    wanted = list(set(codes))
    if not wanted:
        return set()
    rows = await session.execute(
        text("SELECT DISTINCT code FROM region WHERE code = ANY(:codes) AND tx_to IS NULL"),
        {"codes": wanted},
    )
    return {r.code for r in rows}


async def known_district_codes(session: AsyncSession, codes: Iterable[str]) -> set[str]:
    """Which of these district codes any decree ever defined (a NIK keeps its issuing code)."""
    wanted = list(set(codes))
    if not wanted:
        return set()
    rows = await session.execute(
        text("SELECT DISTINCT code FROM region WHERE level = 3 AND code = ANY(:codes)"),
        {"codes": wanted},
    )
    return {r.code for r in rows}


async def write_vault(
    session: AsyncSession, entries: Sequence[tuple[str, str, bytes, dict[str, Any]]]
) -> None:
    """(event_id, nik, salt, fields) of new person registrations."""
    if not entries:
        return
    conn = await driver_connection(session)
    async with (
        conn.cursor() as cursor,
        cursor.copy("COPY person_vault (event_id, nik, salt, fields) FROM STDIN") as copy,
    ):
        for event_id, nik, salt, fields in entries:
            await copy.write_row((event_id, nik, salt, Jsonb(fields)))


async def vault_entries(
    session: AsyncSession, event_ids: Iterable[str]
) -> dict[str, tuple[bytes, dict[str, Any]]]:
    """Salt and personal fields by registration event id (erased entries are absent)."""
    ids = list(set(event_ids))
    if not ids:
        return {}
    rows = await session.execute(
        text("SELECT event_id, salt, fields FROM person_vault WHERE event_id = ANY(:ids)"),
        {"ids": ids},
    )
    return {r.event_id: (bytes(r.salt), r.fields) for r in rows}
