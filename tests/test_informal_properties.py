"""Property: for random BPU payment histories, the service's status at random (valid_at, known_at)
equals the small reference of test_informal_rules, fed with what was in force at that known_at."""

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from coverage_ledger.coverage.service import person_coverage
from coverage_ledger.domain.access import SYSTEM
from coverage_ledger.domain.months import Month
from coverage_ledger.ledger.asof import AsOf
from coverage_ledger.reference.rules import GRACE_MONTHS
from tests.support import append_in_savepoint, database_examples, nik, registered, rolled_back_session
from tests.test_informal_rules import reference_status

START = date(2025, 1, 1)

pay_op = st.tuples(st.just("pay"), st.integers(0, 4), st.integers(1, 3), st.integers(-20, 150))
"""(pay, months skipped after the last month paid so far, months paid, days after its first month)"""
react_op = st.tuples(st.just("react"), st.integers(0, 360))
retract_op = st.tuples(st.just("retract"), st.integers(0, 20))
operations = st.lists(st.one_of(pay_op, pay_op, pay_op, react_op, retract_op), min_size=4, max_size=12)


@dataclass
class Known:
    """What the test appended and what was in force after each tx."""

    payments: dict[str, dict[Month, date]] = field(default_factory=dict)
    """Each payment in force: the months it pays, each with its paid_on."""
    reactivations: dict[str, date] = field(default_factory=dict)
    states: list[tuple[int, dict[Month, date], list[date]]] = field(default_factory=list)

    def snapshot(self, tx: int) -> None:
        months = {month: on for paid in self.payments.values() for month, on in paid.items()}
        self.states.append((tx, months, list(self.reactivations.values())))


async def run(session: AsyncSession, person: str, ops: list[tuple[Any, ...]]) -> Known:
    enrolment = {
        "event_id": f"bpu-{person}",
        "type": "informal.enrolled",
        "nik": person,
        "declared_income": 1_000_000,
        "region_code": "16.71.01",
        "valid_from": START.isoformat(),
        "registered_on": START.isoformat(),
        "payer": {"kind": "self"},
    }
    tx = await append_in_savepoint(session, [registered(person), enrolment])
    assert tx is not None
    known = Known()
    known.snapshot(tx)
    next_month = Month.of(START)
    for number, op in enumerate(ops):
        if op[0] == "pay":
            _, skipped, length, paid_after = op
            first = next_month.plus(skipped)
            last = first.plus(length - 1)
            event_id = f"pay-{person}-{number}"
            paid_on = first.first_day + timedelta(days=paid_after)
            event = {
                "event_id": event_id,
                "type": "contribution.paid",
                "nik": person,
                "months_from": str(first),
                "months_to": str(last),
                "amount": 16_800 * length,
                "payer": {"kind": "self"},
                "paid_on": paid_on.isoformat(),
            }
            tx = await append_in_savepoint(session, [event])
            if tx is not None:
                known.payments[event_id] = {first.plus(i): paid_on for i in range(length)}
                next_month = last.plus(1)
        elif op[0] == "react":
            when = START + timedelta(days=op[1])
            event_id = f"react-{person}-{number}"
            event = {
                "event_id": event_id,
                "type": "membership.reactivated",
                "nik": person,
                "reason": "test",
                "reactivated_on": when.isoformat(),
            }
            tx = await append_in_savepoint(session, [event])
            if tx is not None:
                known.reactivations[event_id] = when
        else:
            if not known.payments:
                continue
            target = sorted(known.payments)[op[1] % len(known.payments)]
            tx = await append_in_savepoint(
                session,
                [
                    {
                        "event_id": f"undo-{person}-{number}",
                        "type": "event.corrected",
                        "supersedes": [target],
                        "reason": "bank reversal",
                    }
                ],
            )
            if tx is not None:
                del known.payments[target]
        if tx is not None:
            known.snapshot(tx)
    return known


@database_examples(20)
@given(
    ops=operations,
    probes=st.lists(st.tuples(st.integers(-10, 520), st.integers(0, 20)), min_size=1, max_size=8),
)
async def test_service_status_equals_the_reference(
    engine: AsyncEngine, ops: list[tuple[Any, ...]], probes: list[tuple[int, int]]
) -> None:
    async with rolled_back_session(engine) as session:
        person = nik(born=date(1990, 3, 9))
        known = await run(session, person, ops)
        for day_offset, which in probes:
            tx, months, reactivated = known.states[which % len(known.states)]
            day = START + timedelta(days=day_offset)
            answer = await person_coverage(session, principal=SYSTEM, nik=person, as_of=AsOf(day, None, tx))
            expected = reference_status(START, months, reactivated, day, GRACE_MONTHS)
            assert answer.answer.status is expected, (day, tx, sorted(months), reactivated)
