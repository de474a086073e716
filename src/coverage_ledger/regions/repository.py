"""All SQL of region reads: the hierarchy as known at a tx, the estimates in force, and the
persons whose enrolment or domicile lies inside a region."""

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.database import raw
from coverage_ledger.database.raw import driver_connection
from coverage_ledger.domain.potential import Estimate

_IN_FORCE_AT = "k.tx_from <= %(tx)s AND (k.tx_to IS NULL OR k.tx_to > %(tx)s)"
_REGION_AT = (
    "r.tx_from <= %(tx)s AND (r.tx_to IS NULL OR r.tx_to > %(tx)s) "
    "AND (r.valid_from IS NULL OR r.valid_from <= %(day)s) AND (r.valid_to IS NULL OR r.valid_to > %(day)s)"
)


@dataclass(frozen=True, slots=True)
class RegionRow:
    """A region as known at a tx and valid on a date."""

    code: str
    name: str
    level: int
    parent_code: str | None


async def region_at(session: AsyncSession, *, code: str, tx_seq: int, valid_at: date) -> RegionRow | None:
    """The region with this code, if it existed then as the ledger knew it."""
    row = (
        await raw.execute(
            session,
            f"SELECT r.code, r.name, r.level, r.parent_code FROM region r "
            f"WHERE r.code = %(code)s AND {_REGION_AT} ORDER BY r.tx_from DESC LIMIT 1",
            {"code": code, "tx": tx_seq, "day": valid_at},
        )
    ).one_or_none()
    return RegionRow(row.code, row.name, row.level, row.parent_code) if row else None


async def children_at(session: AsyncSession, *, code: str, tx_seq: int, valid_at: date) -> list[RegionRow]:
    """The direct children of a region, by code."""
    found = await children_of_many(session, parents=[code], tx_seq=tx_seq, valid_at=valid_at)
    return found.get(code, [])


async def children_of_many(
    session: AsyncSession, *, parents: Sequence[str], tx_seq: int, valid_at: date
) -> dict[str, list[RegionRow]]:
    """Parent → its direct children by code, for each of `parents` that has any."""
    rows = await raw.execute(
        session,
        f"SELECT DISTINCT ON (r.code) r.code, r.name, r.level, r.parent_code FROM region r "
        f"WHERE r.parent_code = ANY(%(parents)b::text[]) AND {_REGION_AT} ORDER BY r.code, r.tx_from DESC",
        {"parents": list(parents), "tx": tx_seq, "day": valid_at},
    )
    children: dict[str, list[RegionRow]] = {}
    for r in rows:
        children.setdefault(r.parent_code, []).append(RegionRow(r.code, r.name, r.level, r.parent_code))
    return children


async def provinces_at(session: AsyncSession, *, tx_seq: int, valid_at: date) -> list[RegionRow]:
    """The provinces, by code."""
    rows = await raw.execute(
        session,
        f"SELECT DISTINCT ON (r.code) r.code, r.name, r.level, r.parent_code FROM region r "
        f"WHERE r.level = 1 AND {_REGION_AT} ORDER BY r.code, r.tx_from DESC",
        {"tx": tx_seq, "day": valid_at},
    )
    return [RegionRow(r.code, r.name, r.level, r.parent_code) for r in rows]


async def estimates_within(
    session: AsyncSession, *, code: str, tx_seq: int, valid_at: date
) -> list[Estimate]:
    """For each region inside `code` (itself included) and segment, the estimate in force as
    known at the tx with the latest `valid_from` on or before `valid_at`."""
    rows = await raw.execute(
        session,
        f"""
        SELECT DISTINCT ON (e.payload->>'region_code', e.payload->>'segment')
               e.event_id, e.payload->>'region_code' AS region_code, e.payload->>'segment' AS segment,
               (e.payload->>'valid_from')::date AS valid_from, (e.payload->>'count')::bigint AS count
          FROM event_knowledge k JOIN ledger_event e ON e.event_id = k.event_id
         WHERE k.type = 'potential.estimated' AND {_IN_FORCE_AT}
           AND (e.payload->>'region_code' = %(code)s OR e.payload->>'region_code' LIKE %(like)s)
           AND (e.payload->>'valid_from')::date <= %(day)s
         ORDER BY e.payload->>'region_code', e.payload->>'segment', (e.payload->>'valid_from')::date DESC,
                  k.tx_from DESC, e.event_id COLLATE "C"
        """,
        {"code": code, "like": f"{code}.%", "tx": tx_seq, "day": valid_at},
    )
    return [Estimate(r.event_id, r.region_code, r.segment, r.valid_from, int(r.count)) for r in rows]


async def persons_within(
    session: AsyncSession, *, code: str, tx_seq: int, batch: int = 10_000
) -> AsyncIterator[list[str]]:
    """NIKs with a registration or enrolment in force at the tx whose region lies inside `code`,
    in batches (the plain scan: every such event is read)."""
    conn = await driver_connection(session)
    async with conn.cursor(name="persons_within") as cursor:
        await cursor.execute(
            f"""
            SELECT DISTINCT k.nik
              FROM event_knowledge k JOIN ledger_event e ON e.event_id = k.event_id
             WHERE k.type IN ('person.registered', 'officer.enrolled', 'informal.enrolled') AND {_IN_FORCE_AT}
               AND (e.payload->>'region_code' = %(code)s OR e.payload->>'region_code' LIKE %(like)s)
             ORDER BY k.nik
            """,
            {"code": code, "like": f"{code}.%", "tx": tx_seq},
        )
        while rows := await cursor.fetchmany(batch):
            yield [r[0] for r in rows]


@dataclass(frozen=True, slots=True)
class RegionVersion:
    """A definition of a code under one decree, as known at a tx."""

    code: str
    name: str
    level: int
    parent_code: str | None
    decree: str
    valid_from: date | None
    valid_to: date | None
    successors: list[str]


async def region_versions(session: AsyncSession, *, code: str, tx_seq: int) -> list[RegionVersion]:
    """Every definition of the code in force at the tx, whatever its valid time, newest first."""
    rows = await raw.execute(
        session,
        "SELECT r.code, r.name, r.level, r.parent_code, r.decree, r.valid_from, r.valid_to, "
        "coalesce(e.payload->'successors', '[]'::jsonb) AS successors "
        "FROM region r JOIN ledger_event e ON e.event_id = r.event_id "
        "WHERE r.code = %(code)s AND r.tx_from <= %(tx)s AND (r.tx_to IS NULL OR r.tx_to > %(tx)s) "
        "ORDER BY r.valid_to DESC NULLS FIRST, r.tx_from DESC",
        {"code": code, "tx": tx_seq},
    )
    return [
        RegionVersion(
            r.code, r.name, r.level, r.parent_code, r.decree, r.valid_from, r.valid_to, list(r.successors)
        )
        for r in rows
    ]


async def covered_counts(
    session: AsyncSession, *, code: str, tx_seq: int, days: Sequence[date], segment: str
) -> dict[date, dict[str, int]]:
    """Persons covered on each day as known at the tx, per child of `code` ('': counted at `code`
    itself): the parent's newest checkpoint at or before the tx plus the deltas after it."""
    flag = {"all": "x.in_all", "officer": "x.officer", "informal": "x.informal"}[segment]
    rows = await raw.execute(
        session,
        f"""
        WITH checkpoint AS (
            SELECT coalesce(max(tx_seq), 0) AS tx FROM coverage_checkpoint_tx
             WHERE parent_code = %(code)s AND tx_seq <= %(tx)s
        ), changes AS (
            SELECT c.child_code, c.day, c.officer, c.informal, c.in_all, c.covered AS n
              FROM coverage_checkpoint c, checkpoint
             WHERE c.parent_code = %(code)s AND c.tx_seq = checkpoint.tx AND c.day <= %(last)s
            UNION ALL
            SELECT d.child_code, d.day, d.officer, d.informal, d.in_all, d.delta
              FROM coverage_delta d, checkpoint
             WHERE d.parent_code = %(code)s AND d.tx_seq > checkpoint.tx AND d.tx_seq <= %(tx)s
               AND d.day <= %(last)s
        )
        , per_day AS (
            SELECT x.child_code, x.day, sum(x.n) AS n FROM changes x WHERE {flag} GROUP BY 1, 2
        )
        SELECT q.day AS asked, p.child_code, sum(p.n) AS covered
          FROM per_day p JOIN unnest(%(days)s::date[]) AS q(day) ON p.day <= q.day
         GROUP BY 1, 2
        """,
        {"code": code, "tx": tx_seq, "days": list(days), "last": max(days)},
    )
    counts: dict[date, dict[str, int]] = {day: {} for day in days}
    for row in rows:
        counts[row.asked][row.child_code] = int(row.covered)
    return counts
