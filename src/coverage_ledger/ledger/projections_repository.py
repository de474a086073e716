"""All SQL of the projections: event force intervals, correction links, regions, the vault."""

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.database import raw
from coverage_ledger.database.raw import driver_connection
from coverage_ledger.domain.supersession import EventLinks

_NODES = """
    SELECT e.event_id,
           e.type,
           e.nik,
           e.carried_by,
           coalesce((SELECT true FROM event_knowledge k
                      WHERE k.event_id = e.event_id AND k.tx_to IS NULL LIMIT 1), false) AS in_force,
           ARRAY(SELECT l.correction_event_id FROM correction_link l
                  WHERE l.target_event_id = e.event_id
                  ORDER BY l.tx_seq, l.correction_event_id) AS corrected_by,
           ARRAY(SELECT l.target_event_id FROM correction_link l
                  WHERE l.correction_event_id = e.event_id
                  ORDER BY l.target_event_id) AS supersedes,
           (SELECT r.event_id FROM ledger_event r WHERE r.carried_by = e.event_id) AS replacement
      FROM ledger_event e
     WHERE e.event_id = ANY(%(ids)s)
    """


@dataclass(slots=True)
class Subgraph:
    """The part of the supersession graph an append can change."""

    links: dict[str, EventLinks]
    force: dict[str, bool]
    """Current force of every node, of every correction pointing at one, and of their carriers."""
    kinds: dict[str, tuple[str, str | None]]
    """(type, nik) of every node."""


async def extend_subgraph(session: AsyncSession, graph: Subgraph, start: set[str]) -> None:
    """Add the nodes downstream of `start` to `graph`, and the force of what points at them.

    Downstream = the events named by corrections and the replacements of corrections,
    transitively. The walk is level by level with indexed lookups: chains are short, and a
    recursive CTE let the planner guess thousands of rows and scan the whole log.
    """
    links, force, kinds = graph.links, graph.force, graph.kinds
    frontier = start - links.keys()
    while frontier:
        rows = await raw.execute(session, _NODES, {"ids": list(frontier)})
        following: set[str] = set()
        for row in rows:
            kinds[row.event_id] = (row.type, row.nik)
            links[row.event_id] = EventLinks(
                event_id=row.event_id,
                carried_by=row.carried_by,
                corrected_by=list(row.corrected_by),
                supersedes=tuple(row.supersedes),
                replacement=row.replacement,
            )
            force[row.event_id] = bool(row.in_force)
            following.update(row.supersedes)
            if row.replacement is not None:
                following.add(row.replacement)
        frontier = following - links.keys()
    outside = {c for node in links.values() for c in node.corrected_by}
    outside |= {node.carried_by for node in links.values() if node.carried_by is not None}
    outside -= links.keys() | force.keys()
    if outside:
        rows = await raw.execute(
            session,
            "SELECT DISTINCT event_id FROM event_knowledge WHERE event_id = ANY(%(ids)s) AND tx_to IS NULL",
            {"ids": list(outside)},
        )
        in_force = {r.event_id for r in rows}
        force.update({c: c in in_force for c in outside})


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
    session: raw.Db, *, niks: Iterable[str], types: Sequence[str], tx_seq: int | None = None
) -> list[InForceEvent]:
    """Person events in force at a tx (None = current knowledge, including the tx being appended)."""
    nik_list = list(set(niks))
    if not nik_list:
        return []
    if tx_seq is None:
        condition = "k.tx_to IS NULL"
    else:
        condition = "k.tx_from <= %(tx)s AND (k.tx_to IS NULL OR k.tx_to > %(tx)s)"
    rows = await raw.execute(
        session,
        "SELECT k.event_id, k.type, e.payload, t.tx_seq, t.recorded_at FROM event_knowledge k "
        "JOIN ledger_event e ON e.event_id = k.event_id "
        "LEFT JOIN ledger_tx t ON t.tx_id = e.tx_id "
        # the arrays binary (see raw.execute)
        f"WHERE k.nik = ANY(%(niks)b::text[]) AND k.type = ANY(%(types)b::text[]) AND {condition} "
        "ORDER BY t.tx_seq NULLS LAST, e.position",
        {"niks": nik_list, "types": list(types), "tx": tx_seq},
        prepare=None if len(nik_list) <= 64 else False,  # see raw.execute: plans for key counts
    )
    return [InForceEvent(r.event_id, r.type, r.payload, r.tx_seq, r.recorded_at) for r in rows]


async def events_ever_of(session: raw.Db, *, niks: Iterable[str], types: Sequence[str]) -> list[InForceEvent]:
    """Person events ever recorded, in force or not (each once), in the order they were written."""
    rows = await raw.execute(
        session,
        "SELECT e.event_id, e.type, e.payload, t.tx_seq, t.recorded_at FROM ledger_event e "
        "JOIN ledger_tx t ON t.tx_id = e.tx_id "
        "WHERE e.nik = ANY(%(niks)s) AND e.type = ANY(%(types)s) ORDER BY t.tx_seq, e.position",
        {"niks": sorted(set(niks)), "types": list(types)},
        prepare=False,
    )
    return [InForceEvent(r.event_id, r.type, r.payload, r.tx_seq, r.recorded_at) for r in rows]


async def replacements_of(session: raw.Db, event_ids: Iterable[str]) -> dict[str, str]:
    """For each of these events that a correction with a replacement superseded (the latest time
    it left force), that replacement's id."""
    ids = sorted(set(event_ids))
    if not ids:
        return {}
    rows = await raw.execute(
        session,
        "SELECT DISTINCT ON (k.event_id) k.event_id, c.payload->>'replacement_event_id' AS replacement "
        "FROM event_knowledge k JOIN ledger_event c ON c.event_id = k.superseded_by "
        "WHERE k.event_id = ANY(%(ids)s) AND k.superseded_by IS NOT NULL "
        "ORDER BY k.event_id, k.tx_from DESC",
        {"ids": ids},
        prepare=False,
    )
    return {r.event_id: r.replacement for r in rows if r.replacement is not None}


async def rule_definitions(session: raw.Db, *, tx_seq: int) -> list[dict[str, Any]]:
    """The `rule.defined` payloads in force at a tx, in the order they entered force (then by
    event id): where two give the same thing (two grace lengths, which a ledger before 0.9.0 could
    hold), the newer is read the same way every time (found by a probe: the row order followed
    the table's physical order, and an answer at a fixed tx changed)."""
    rows = await raw.execute(
        session,
        "SELECT e.payload FROM event_knowledge k JOIN ledger_event e ON e.event_id = k.event_id "
        "WHERE k.type = 'rule.defined' AND k.tx_from <= %(tx)s AND (k.tx_to IS NULL OR k.tx_to > %(tx)s) "
        "ORDER BY k.tx_from, e.event_id",
        {"tx": tx_seq},
    )
    return [r.payload for r in rows]


async def rules_in_force_now(session: raw.Db) -> dict[str, dict[str, Any]]:
    """The `rule.defined` events in current knowledge: event_id → payload."""
    rows = await raw.execute(
        session,
        "SELECT e.event_id, e.payload FROM event_knowledge k JOIN ledger_event e ON e.event_id = k.event_id "
        "WHERE k.type = 'rule.defined' AND k.tx_to IS NULL",
    )
    return {r.event_id: r.payload for r in rows}


async def rules_state(session: raw.Db, *, tx_seq: int) -> tuple[int, str]:
    """The last tx up to `tx_seq` in which a rule definition entered or left force, and its hash:
    the rules in force at `tx_seq` are those in force after it, and the hash names the history up
    to it in whichever database holds it (tests clone many ledgers from one). (0, "") before any."""
    row = (
        await raw.execute(
            session,
            """
            SELECT t.tx_seq, t.hash FROM ledger_tx t
             WHERE t.tx_seq = (
                   SELECT max(changed) FROM (
                          SELECT max(k.tx_from) AS changed FROM event_knowledge k
                           WHERE k.type = 'rule.defined' AND k.tx_from <= %(tx)s
                          UNION ALL
                          SELECT max(k.tx_to) FROM event_knowledge k
                           WHERE k.type = 'rule.defined' AND k.tx_to <= %(tx)s) AS changes)
            """,
            {"tx": tx_seq},
        )
    ).one_or_none()
    return (row.tx_seq, row.hash) if row is not None else (0, "")


async def rules_changed_since(session: raw.Db, *, since_tx: int) -> bool:
    """Whether a `rule.defined` event entered or left force after tx `since_tx`."""
    return bool(
        await raw.scalar(
            session,
            "SELECT EXISTS (SELECT 1 FROM event_knowledge k WHERE k.nik IS NULL "
            "AND k.type = 'rule.defined' AND (k.tx_from > %(tx)s OR k.tx_to > %(tx)s))",
            {"tx": since_tx},
        )
    )


async def persons_touched_since(session: raw.Db, *, niks: Collection[str], since_tx: int) -> bool:
    """Whether an event of one of these persons entered or left force after tx `since_tx`."""
    if not niks:
        return False
    return bool(
        await raw.scalar(
            session,
            "SELECT EXISTS (SELECT 1 FROM event_knowledge k WHERE k.nik = ANY(%(niks)s) "
            "AND (k.tx_from > %(tx)s OR k.tx_to > %(tx)s))",
            {"niks": list(niks), "tx": since_tx},
        )
    )


async def rules_in_force(session: raw.Db, *, kind: str) -> dict[str, dict[str, Any]]:
    """The `rule.defined` events of one kind in current knowledge: event_id → payload."""
    rows = await raw.execute(
        session,
        "SELECT e.event_id, e.payload FROM event_knowledge k JOIN ledger_event e ON e.event_id = k.event_id "
        "WHERE k.type = 'rule.defined' AND k.tx_to IS NULL AND e.payload ->> 'kind' = %(kind)s",
        {"kind": kind},
    )
    return {r.event_id: r.payload for r in rows}


async def holiday_rules_in_force(session: raw.Db, *, years: Sequence[int]) -> dict[str, int]:
    """The `public_holidays` rules in current knowledge for these years: event_id → year."""
    rows = await raw.execute(
        session,
        "SELECT e.event_id, (e.payload -> 'parameters' ->> 'year')::int AS year "
        "FROM event_knowledge k JOIN ledger_event e ON e.event_id = k.event_id "
        "WHERE k.type = 'rule.defined' AND k.tx_to IS NULL AND e.payload ->> 'kind' = 'public_holidays' "
        "AND (e.payload -> 'parameters' ->> 'year')::int = ANY(%(years)s)",
        {"years": list(years)},
    )
    return {r.event_id: r.year for r in rows}


async def region_codes_in_force(session: AsyncSession, codes: Iterable[str]) -> set[str]:
    """Which of these region codes are defined in current knowledge."""
    wanted = list(set(codes))
    if not wanted:
        return set()
    rows = await raw.execute(
        session,
        "SELECT DISTINCT code FROM region WHERE code = ANY(%(codes)s) AND tx_to IS NULL",
        {"codes": wanted},
    )
    return {r.code for r in rows}


async def registration_birth_dates(
    session: raw.Db, *, niks: Collection[str], event_ids: Collection[str]
) -> dict[str, tuple[str, date | None]]:
    """Of the registrations in force of `niks`, and of the registrations `event_ids` (in force or
    not): event id to (NIK, the birth date its vault entry gives, None when it gives none or the
    person was erased)."""
    rows = await raw.execute(
        session,
        "SELECT k.event_id, k.nik, (v.fields ->> 'birth_date')::date AS born FROM event_knowledge k "
        "LEFT JOIN person_vault v ON v.event_id = k.event_id "
        "WHERE k.nik = ANY(%(niks)b::text[]) AND k.type = 'person.registered' AND k.tx_to IS NULL "
        "UNION "
        "SELECT e.event_id, e.nik, (v.fields ->> 'birth_date')::date FROM ledger_event e "
        "LEFT JOIN person_vault v ON v.event_id = e.event_id WHERE e.event_id = ANY(%(ids)b::text[])",
        {"niks": list(niks), "ids": list(event_ids)},
        prepare=None if len(niks) <= 64 else False,  # see raw.execute: plans for key counts
    )
    return {row.event_id: (row.nik, row.born) for row in rows}


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


async def erase_vault(session: AsyncSession, niks: Sequence[str]) -> int:
    """Delete the personal fields and salts of these persons: every vault entry under their NIKs,
    and those of the registrations their registrations replaced by correction, however far back
    (one typed under a mistyped NIK keeps the same name and phone); how many entries went."""
    if not niks:
        return 0
    # backwards only: from a registration to what the correction carrying it superseded. Forwards,
    # from a mistyped NIK's registration to its replacement, would reach another person: whoever
    # was erased under the NIK the typo happened to be
    replaced = await raw.execute_count(
        session,
        """
        WITH RECURSIVE linked(event_id) AS (
            SELECT e.event_id FROM ledger_event e
             WHERE e.nik = ANY(%(niks)s) AND e.type = 'person.registered'
            UNION
            SELECT t.event_id
              FROM linked x
              JOIN ledger_event c ON c.event_id = x.event_id AND c.carried_by IS NOT NULL
              JOIN correction_link l ON l.correction_event_id = c.carried_by
              JOIN ledger_event t ON t.event_id = l.target_event_id AND t.type = 'person.registered'
        )
        DELETE FROM person_vault v USING linked WHERE v.event_id = linked.event_id
        """,
        {"niks": list(niks)},
    )
    own = await raw.execute_count(
        session, "DELETE FROM person_vault WHERE nik = ANY(%(niks)s)", {"niks": list(niks)}
    )
    return replaced + own


async def vault_entries(
    session: AsyncSession, event_ids: Iterable[str]
) -> dict[str, tuple[bytes, dict[str, Any]]]:
    """Salt and personal fields by registration event id (erased entries are absent)."""
    ids = list(set(event_ids))
    if not ids:
        return {}
    rows = await raw.execute(
        session,
        "SELECT event_id, salt, fields FROM person_vault WHERE event_id = ANY(%(ids)s)",
        {"ids": ids},
    )
    return {r.event_id: (bytes(r.salt), r.fields) for r in rows}


async def pending_reprojections(session: raw.Db) -> list[str]:
    """Projections a migration left to rebuild from the log at the next `db upgrade`."""
    rows = await raw.execute(session, "SELECT projection FROM pending_reprojection ORDER BY projection")
    return [row[0] for row in rows]


async def reprojection_done(session: raw.Db, *, projection: str) -> None:
    """Clear a rebuilt projection from the pending list."""
    await raw.execute(session, "DELETE FROM pending_reprojection WHERE projection = %(p)s", {"p": projection})


async def in_force_events_in_regions(
    session: raw.Db, *, codes: Iterable[str], types: Sequence[str]
) -> list[InForceEvent]:
    """Events in force that name one of these region codes (the codes themselves, not those
    under them), through the log's regency index."""
    code_list = sorted(set(codes))
    if not code_list:
        return []
    rows = await raw.execute(
        session,
        "SELECT e.event_id, e.type, e.payload, NULL AS tx_seq, NULL AS recorded_at FROM ledger_event e "
        "JOIN event_knowledge k ON k.event_id = e.event_id AND k.tx_to IS NULL "
        "WHERE left(e.payload ->> 'region_code', 5) = ANY(%(regencies)b::text[]) "
        "  AND e.payload ->> 'region_code' = ANY(%(codes)b::text[]) AND e.type = ANY(%(types)b::text[]) "
        "ORDER BY e.event_id",
        {"regencies": sorted({code[:5] for code in code_list}), "codes": code_list, "types": list(types)},
        prepare=False,
    )
    return [InForceEvent(r.event_id, r.type, r.payload, None, None) for r in rows]


async def region_definitions_in_force(session: raw.Db, *, codes: Iterable[str]) -> list[Any]:
    """The definitions in force of these codes: code, event_id, valid_from, valid_to."""
    return list(
        await raw.execute(
            session,
            "SELECT code, event_id, valid_from, valid_to FROM region "
            "WHERE code = ANY(%(codes)b::text[]) AND tx_to IS NULL ORDER BY code, event_id",
            {"codes": sorted(set(codes))},
        )
    )


async def child_definitions_in_force(session: raw.Db, *, codes: Iterable[str]) -> list[Any]:
    """The definitions in force of the regions directly under these codes: parent_code, code, event_id."""
    return list(
        await raw.execute(
            session,
            "SELECT parent_code, code, event_id FROM region "
            "WHERE parent_code = ANY(%(codes)b::text[]) AND tx_to IS NULL ORDER BY code, event_id",
            {"codes": sorted(set(codes))},
        )
    )
