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


REGENCY_CODE_LENGTH = len("16.71")
"""Length of a regency's code: the key of the region index the searches walk (migration 0022)."""

_IN_FORCE = "k.tx_from <= %(tx)s AND (k.tx_to IS NULL OR k.tx_to > %(tx)s)"
_IN_REGION = raw.within_region("e.payload->>'region_code'")


_REGION_WALK = (
    "SELECT c.nik FROM unnest(%(regencies)s::text[]) AS r(code) CROSS JOIN LATERAL ("
    "SELECT DISTINCT e.nik FROM ledger_event e JOIN event_knowledge k ON k.event_id = e.event_id "
    "WHERE (e.payload->>'region_code') IS NOT NULL "
    "AND left(e.payload->>'region_code', 5) = r.code "
    f"AND {_IN_REGION} AND e.type = ANY(%(types)s::text[]) {{extra}}AND e.nik > %(after)s "
    f"AND {_IN_FORCE} ORDER BY e.nik LIMIT %(limit)s) c "
    "GROUP BY c.nik ORDER BY c.nik LIMIT %(limit)s"
)
"""Each regency key's events in NIK order (the index of migration 0022), merged; `extra`: more
conditions on the event."""


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
    params: dict[str, object] = {
        "tx": tx_seq,
        "after": after,
        "limit": limit,
        "region": region_prefix,
        "committee": committee,
        "types": ["person.registered", "officer.enrolled", "informal.enrolled"],
    }
    # Each filter walks its own index in NIK order, so that a page reads about as many events as
    # it returns: walking every person's events and dropping those elsewhere took 0.9 s a page
    # for a small regency on a ledger of 200,000 officers in another one. Only the filters asked
    # for go into the statement: with `%(region)s IS NULL OR …` the generic plan scanned everyone.
    if committee is not None:
        # the committee's officers in each of its regencies that lies in the region: a committee
        # of another region is found to have none there without reading its officers (a walk of
        # all of them, then dropping those elsewhere, took 54 ms for 20,000 against 9 ms for an
        # unknown committee, which told a key the size of a committee it may not see)
        query = _COMMITTEE_WALK.format(
            regencies=_UNDER_REGION if region_prefix is not None else "",
            region=f" AND {_IN_REGION}" if region_prefix is not None else "",
        )
    elif region_prefix is not None:  # the region's regencies walked side by side, then merged
        params["regencies"] = await _regency_keys(session, region_prefix)
        query = _REGION_WALK.format(extra="")
    else:  # the whole nation: every person's events, in NIK order
        query = (
            "SELECT DISTINCT k.nik FROM event_knowledge k "
            f"WHERE {_IN_FORCE} AND k.type = ANY(%(types)s::text[]) AND k.nik > %(after)s "
            "ORDER BY k.nik LIMIT %(limit)s"
        )
    rows = await raw.execute(session, query, params)
    return [r.nik for r in rows]


_COMMITTEE_EVENTS = "e.type = 'officer.enrolled' AND e.payload->>'committee' = %(committee)s"
_COMMITTEE_WALK = (
    "WITH RECURSIVE regency(code) AS ("
    f"SELECT min(left(e.payload->>'region_code', 5)) FROM ledger_event e WHERE {_COMMITTEE_EVENTS} "
    "UNION ALL "
    "SELECT (SELECT min(left(e.payload->>'region_code', 5)) FROM ledger_event e "
    f"WHERE {_COMMITTEE_EVENTS} AND left(e.payload->>'region_code', 5) > r.code) "
    "FROM regency r WHERE r.code IS NOT NULL) "
    "SELECT c.nik FROM regency r CROSS JOIN LATERAL ("
    "SELECT DISTINCT e.nik FROM ledger_event e JOIN event_knowledge k ON k.event_id = e.event_id "
    f"WHERE {_COMMITTEE_EVENTS} AND left(e.payload->>'region_code', 5) = r.code "
    f"AND e.nik > %(after)s AND {_IN_FORCE}{{region}} ORDER BY e.nik LIMIT %(limit)s) c "
    "WHERE r.code IS NOT NULL{regencies} "
    "GROUP BY c.nik ORDER BY c.nik LIMIT %(limit)s"
)
"""A committee's officers: the regencies it has officers in, found one index probe each (the
index of migration 0024 is keyed by committee, regency, NIK), then each regency's in NIK order,
merged; `regencies` keeps to those a region's events can lie in, `region` to the region itself."""
_UNDER_REGION = " AND (r.code = left(%(region)s, 5) OR starts_with(r.code, %(region)s || '.'))"
"""A regency key under the asked region, or the one the asked district or village lies in."""


async def _regency_keys(session: AsyncSession, region_prefix: str) -> list[str]:
    """The keys of the region index an event in the region can have: the regency the prefix lies
    in, or for a province, itself and each regency it ever had."""
    if len(region_prefix) >= REGENCY_CODE_LENGTH:
        return [region_prefix[:REGENCY_CODE_LENGTH]]
    rows = await raw.execute(
        session,
        "SELECT DISTINCT code FROM region WHERE parent_code = %(province)s",
        {"province": region_prefix},
    )
    return [region_prefix, *(r.code for r in rows)]
