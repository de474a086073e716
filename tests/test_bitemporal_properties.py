"""Property-based tests of the bitemporal invariants over random enrolments and corrections.

(a) an answer given at a past known_at never changes when more events are appended;
(b) the projections equal a from-scratch replay of the log, checked against an independent,
    obviously correct evaluation of "in force" written here, and by `rebuild --check`;
(c) no two current officer enrolments of a person overlap for a program.
"""

import functools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from coverage_ledger.coverage.service import person_coverage
from coverage_ledger.domain.access import SYSTEM
from coverage_ledger.ledger.asof import AsOf
from coverage_ledger.ledger.rebuild import rebuild_check
from tests.support import (
    append_in_savepoint,
    corrected,
    database_examples,
    enrolled,
    nik,
    registered,
    rolled_back_session,
)

BASE = date(2024, 1, 1)
PROBE_DAYS = [BASE + timedelta(days=d) for d in (0, 10, 20, 35, 50, 70)]

enrol_op = st.tuples(
    st.just("enrol"),
    st.integers(0, 60),
    st.integers(1, 30),
    st.sampled_from([("JKK", "JKM"), ("JKK",), ("JKM",)]),
)
correct_op = st.tuples(
    st.just("correct"),
    st.integers(0, 50),  # which known event to supersede (modulo)
    st.booleans(),  # with a replacement?
    st.integers(0, 60),
    st.integers(1, 30),
)
# a correction and, in the same batch, a correction of it: the first is born out of force
correct_and_undo_op = st.tuples(st.just("correct_and_undo"), st.integers(0, 50))
operations = st.lists(st.one_of(enrol_op, correct_op, correct_and_undo_op), min_size=1, max_size=12)


@dataclass
class History:
    """What the test appended, to replay it independently."""

    person: str
    events: list[str] = field(default_factory=list)
    log: list[tuple[int, str, str | None, tuple[str, ...]]] = field(default_factory=list)
    snapshots: list[tuple[date, int, Any]] = field(default_factory=list)
    counter: int = 0

    def next_id(self, kind: str) -> str:
        self.counter += 1
        return f"{kind}-{self.person}-{self.counter}"


def period(start: int, length: int) -> tuple[str, str]:
    return (BASE + timedelta(days=start)).isoformat(), (BASE + timedelta(days=start + length)).isoformat()


def oracle_in_force(log: list[tuple[int, str, str | None, tuple[str, ...]]], tx: int) -> set[str]:
    """The definition, evaluated from scratch: in force unless an in-force correction supersedes
    it or its carrying correction is not in force."""
    known = {event_id: (carried_by, supersedes) for seq, event_id, carried_by, supersedes in log if seq <= tx}
    correctors: dict[str, list[str]] = defaultdict(list)
    for event_id, (_, supersedes) in known.items():
        for target in supersedes:
            correctors[target].append(event_id)

    @functools.cache
    def in_force(event_id: str) -> bool:
        carried_by = known[event_id][0]
        if carried_by is not None and not in_force(carried_by):
            return False
        return not any(in_force(c) for c in correctors[event_id])

    return {event_id for event_id in known if in_force(event_id)}


async def projected_in_force(session: AsyncSession, ids: list[str], tx: int) -> set[str]:
    rows = await session.execute(
        text(
            "SELECT event_id FROM event_knowledge WHERE event_id = ANY(:ids) "
            "AND tx_from <= :tx AND (tx_to IS NULL OR tx_to > :tx)"
        ),
        {"ids": ids, "tx": tx},
    )
    return {r.event_id for r in rows}


async def run_history(session: AsyncSession, ops: list[tuple[Any, ...]]) -> History:
    history = History(person=nik())
    reg_id = f"reg-{history.person}"
    tx = await append_in_savepoint(session, [registered(history.person, event_id=reg_id)])
    assert tx is not None
    history.log.append((tx, reg_id, None, ()))
    for op in ops:
        if op[0] == "enrol":
            _, start, length, programs = op
            event_id = history.next_id("enrol")
            valid_from, valid_to = period(start, length)
            batch = [
                enrolled(
                    history.person,
                    event_id=event_id,
                    valid_from=valid_from,
                    valid_to=valid_to,
                    programs=list(programs),
                    registered_on="2023-12-01",
                )
            ]
            tx = await append_in_savepoint(session, batch)
            if tx is not None:
                history.events.append(event_id)
                history.log.append((tx, event_id, None, ()))
        elif op[0] == "correct_and_undo":
            if not history.events:
                continue
            target = history.events[op[1] % len(history.events)]
            first, second = history.next_id("fix"), history.next_id("fix")
            tx = await append_in_savepoint(session, [corrected(first, [target]), corrected(second, [first])])
            if tx is not None:
                history.events += [first, second]
                history.log += [(tx, first, None, (target,)), (tx, second, None, (first,))]
        else:
            _, which, with_replacement, start, length = op
            if not history.events:
                continue
            target = history.events[which % len(history.events)]
            correction_id = history.next_id("fix")
            replacement = None
            if with_replacement:
                valid_from, valid_to = period(start, length)
                replacement = enrolled(
                    history.person,
                    event_id=history.next_id("repl"),
                    valid_from=valid_from,
                    valid_to=valid_to,
                    registered_on="2023-12-01",
                )
            tx = await append_in_savepoint(
                session, [corrected(correction_id, [target], replacement=replacement)]
            )
            if tx is not None:
                history.events.append(correction_id)
                history.log.append((tx, correction_id, None, (target,)))
                if replacement is not None:
                    history.events.append(replacement["event_id"])
                    history.log.append((tx, replacement["event_id"], correction_id, ()))
        if tx is not None:
            for day in PROBE_DAYS:
                answer = await person_coverage(
                    session, principal=SYSTEM, nik=history.person, as_of=AsOf(day, None, tx)
                )
                history.snapshots.append((day, tx, answer.answer))
    return history


@database_examples(25)
@given(ops=operations)
async def test_bitemporal_invariants(engine: AsyncEngine, ops: list[tuple[Any, ...]]) -> None:
    async with rolled_back_session(engine) as session:
        history = await run_history(session, ops)
        # (a) past answers are stable
        for day, tx, answer in history.snapshots:
            again = await person_coverage(
                session, principal=SYSTEM, nik=history.person, as_of=AsOf(day, None, tx)
            )
            assert again.answer == answer
        # (b) the projection equals an independent replay at every tx, and rebuild agrees
        ids = [event_id for _, event_id, _, _ in history.log]
        for tx in sorted({seq for seq, *_ in history.log}):
            assert await projected_in_force(session, ids, tx) == oracle_in_force(history.log, tx)
        assert await rebuild_check(session) == []
        # (c) no two current enrolments overlap for a program
        rows = await session.execute(
            text(
                "SELECT e.payload FROM event_knowledge k JOIN ledger_event e ON e.event_id = k.event_id "
                "WHERE k.nik = :nik AND k.type = 'officer.enrolled' AND k.tx_to IS NULL"
            ),
            {"nik": history.person},
        )
        terms = [r.payload for r in rows]
        for i, a in enumerate(terms):
            for b in terms[i + 1 :]:
                shares = set(a["programs"]) & set(b["programs"])
                assert not (shares and a["valid_from"] < b["valid_to"] and b["valid_from"] < a["valid_to"]), (
                    a,
                    b,
                )
