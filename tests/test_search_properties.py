"""Property: whatever registrations, enrolments, moves and retractions a ledger holds, at every tx
and for every region prefix and committee, the person search's candidates read page by page
through the region and committee indexes (migration 0022) are the persons a plain scan of every
event in force finds, in NIK order."""

from datetime import date, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from coverage_ledger.coverage.repository import candidate_niks
from tests.support import (
    append_in_savepoint,
    corrected,
    database_examples,
    enrolled,
    nik,
    registered,
    rolled_back_session,
)

DISTRICTS = ("16.01.07", "16.71.01", "16.71.02", "16.72.01", "32.01.01")
"""Where officers serve (an officer serves in a district or a village)."""
REGIONS = ("16", "16.01", *DISTRICTS)
"""Where persons are registered (any level)."""
PREFIXES = (*REGIONS, "16.71", "32", "32.01")
COMMITTEES = ("KPU-A", "KPU-B")
PERSONS = 6
TYPES = ["person.registered", "officer.enrolled", "informal.enrolled"]

_district, _committee = st.sampled_from(DISTRICTS), st.sampled_from(COMMITTEES)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("enrol"), st.integers(0, PERSONS - 1), _district, _committee),
        st.tuples(st.just("move"), st.integers(0, 20), _district, _committee),
        st.tuples(st.just("retract"), st.integers(0, 20)),
        st.tuples(st.just("reregister"), st.integers(0, PERSONS - 1), st.sampled_from(REGIONS)),
    ),
    min_size=1,
    max_size=8,
)


async def _plain_scan(session: AsyncSession, *, tx: int, region: str, committee: str | None) -> list[str]:
    """Every event in force at the tx, filtered by its payload (the search before the indexes)."""
    rows = await session.execute(
        text(
            "SELECT DISTINCT k.nik FROM event_knowledge k JOIN ledger_event e ON e.event_id = k.event_id "
            "WHERE k.tx_from <= :tx AND (k.tx_to IS NULL OR k.tx_to > :tx) AND k.type = ANY(:types) "
            "AND (e.payload->>'region_code' = :region OR e.payload->>'region_code' LIKE :region || '.%') "
            "AND (CAST(:committee AS text) IS NULL OR e.payload->>'committee' = :committee) "
            "ORDER BY k.nik"
        ),
        {
            "tx": tx,
            "types": ["officer.enrolled"] if committee else TYPES,
            "region": region,
            "committee": committee,
        },
    )
    return [r.nik for r in rows]


async def _paged(session: AsyncSession, *, tx: int, region: str, committee: str | None) -> list[str]:
    """The search's candidates, two at a time."""
    found: list[str] = []
    while page := await candidate_niks(
        session,
        tx_seq=tx,
        region_prefix=region,
        committee=committee,
        after=found[-1] if found else "",
        limit=2,
    ):
        found += page
    return found


async def _history(session: AsyncSession, ops: list[tuple[Any, ...]]) -> list[int]:
    """Append the operations (those the ledger refuses are skipped); the txs written."""
    people = [nik(district=("167101", "160107", "320101")[i % 3]) for i in range(PERSONS)]
    start = date(2024, 1, 1)
    tx = await append_in_savepoint(
        session, [registered(p, region=REGIONS[i % len(REGIONS)]) for i, p in enumerate(people)]
    )
    assert tx is not None
    txs, terms, registrations = [tx], [], {p: f"reg-{p}" for p in people}
    for index, op in enumerate(ops):
        term: dict[str, Any] = {
            "valid_from": (start + timedelta(days=40 * index)).isoformat(),
            "valid_to": (start + timedelta(days=40 * index + 30)).isoformat(),
            "registered_on": "2023-12-01",
        }
        events: list[dict[str, Any]] = []
        if op[0] == "enrol":
            person = people[op[1]]
            terms.append((f"t{index}", person, term))
            events = [enrolled(person, event_id=f"t{index}", region=op[2], committee=op[3], **term)]
        elif op[0] == "move" and terms:
            target, person, kept = terms[op[1] % len(terms)]
            moved = enrolled(person, event_id=f"t{index}", region=op[2], committee=op[3], **kept)
            events = [corrected(f"c{index}", [target], replacement=moved)]
            terms.append((f"t{index}", person, kept))
        elif op[0] == "retract" and terms:
            events = [corrected(f"c{index}", [terms[op[1] % len(terms)][0]])]
        elif op[0] == "reregister":
            person = people[op[1]]
            again = registered(person, event_id=f"r{index}", region=op[2])
            events = [corrected(f"c{index}", [registrations[person]], replacement=again)]
            registrations[person] = f"r{index}"
        if events and (written := await append_in_savepoint(session, events)) is not None:
            txs.append(written)
    return txs


@database_examples(12)
@given(ops=operations)
async def test_the_search_walks_find_what_a_plain_scan_finds(
    engine: AsyncEngine, ops: list[tuple[Any, ...]]
) -> None:
    async with rolled_back_session(engine) as session:
        txs = await _history(session, ops)
        for tx in txs:
            for region in PREFIXES:
                for committee in (None, *COMMITTEES):
                    expected = await _plain_scan(session, tx=tx, region=region, committee=committee)
                    found = await _paged(session, tx=tx, region=region, committee=committee)
                    assert found == expected, (tx, region, committee)
