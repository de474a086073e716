"""Property: the regional counts from the coverage deltas and checkpoints equal the plain scan
(every person decided as the coverage endpoint decides) for random histories of officer terms,
corrections and BPU payments, at random (valid_at, known_at) and for every segment; and the
projection equals its rebuild from the log."""

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from coverage_ledger.coverage import spans_repository
from coverage_ledger.coverage.spans import backfill_spans
from coverage_ledger.domain.access import SYSTEM
from coverage_ledger.domain.months import Month
from coverage_ledger.ledger.asof import AsOf
from coverage_ledger.ledger.rebuild import rebuild_check
from coverage_ledger.regions.service import region_coverage
from tests.support import append_in_savepoint, database_examples, nik, registered, rolled_back_session

START = date(2024, 1, 1)
REGIONS = ("16.71.01", "16.71.02", "16.72.01")


@pytest.fixture
def checkpoint_often(monkeypatch: pytest.MonkeyPatch) -> None:
    """Checkpoints after a few deltas, so reads go through checkpoints taken at random points."""
    monkeypatch.setattr(spans_repository, "CHECKPOINT_AFTER", 3)


officer_op = st.tuples(
    st.just("term"),
    st.integers(0, 3),
    st.sampled_from(REGIONS),
    st.integers(0, 300),
    st.integers(1, 90),
    st.integers(-20, 40),
    st.sampled_from([None, ["JKK"], ["JKM"]]),
)
"""(term, person, region, start day, length in days, registered this many days after the start,
programs: both by default, or one, so that two terms of one person may overlap)"""
member_op = st.tuples(st.just("member"), st.integers(0, 3), st.sampled_from(REGIONS), st.integers(0, 8))
pay_op = st.tuples(
    st.just("pay"), st.integers(0, 3), st.integers(0, 11), st.integers(1, 3), st.integers(-10, 100)
)
retract_op = st.tuples(st.just("retract"), st.integers(0, 40))
operations = st.lists(
    st.one_of(officer_op, officer_op, member_op, pay_op, pay_op, pay_op, retract_op), min_size=3, max_size=14
)


async def _history(session: AsyncSession, ops: list[tuple[Any, ...]]) -> list[int]:
    people = [nik(born=date(1980 + i, 2, 3)) for i in range(4)]
    txs: list[int] = []
    members = [
        {
            "event_id": f"start-member-{p}",
            "type": "informal.enrolled",
            "nik": p,
            "declared_income": 1_000_000,
            "region_code": REGIONS[i % 3],
            "valid_from": START.isoformat(),
            "registered_on": START.isoformat(),
            "payer": {"kind": "self"},
        }
        for i, p in enumerate(people)
        if i >= 2
    ]
    tx = await append_in_savepoint(
        session, [registered(p, region=REGIONS[i % 3]) for i, p in enumerate(people)] + members
    )
    assert tx is not None
    txs.append(tx)
    appended: list[str] = []
    for number, op in enumerate(ops):
        kind = op[0]
        event: dict[str, Any]
        if kind == "term":
            _, who, region, start, length, registered_after, programs = op
            first = START + timedelta(days=start)
            event = {
                "event_id": f"t{number}-{people[who]}",
                "type": "officer.enrolled",
                "nik": people[who],
                "role": "KPPS",
                "committee": "KPU-16.71",
                "region_code": region,
                "valid_from": first.isoformat(),
                "valid_to": (first + timedelta(days=length)).isoformat(),
            }
            if registered_after < 35:  # else covered from the day the tx is recorded
                event["registered_on"] = (first + timedelta(days=registered_after)).isoformat()
            if programs:
                event["programs"] = programs
        elif kind == "member":
            _, who, region, month = op
            first = Month.of(START).plus(month).first_day
            event = {
                "event_id": f"m{number}-{people[who]}",
                "type": "informal.enrolled",
                "nik": people[who],
                "declared_income": 1_000_000,
                "region_code": region,
                "valid_from": first.isoformat(),
                "registered_on": first.isoformat(),
                "payer": {"kind": "self"},
            }
        elif kind == "pay":
            _, who, month, length, paid_after = op
            first_month = Month.of(START).plus(month)
            event = {
                "event_id": f"p{number}-{people[who]}",
                "type": "contribution.paid",
                "nik": people[who],
                "months_from": str(first_month),
                "months_to": str(first_month.plus(length - 1)),
                "amount": 16_800 * length,
                "payer": {"kind": "self"},
                "paid_on": (first_month.first_day + timedelta(days=paid_after)).isoformat(),
            }
        else:
            if not appended:
                continue
            event = {
                "event_id": f"x{number}",
                "type": "event.corrected",
                "supersedes": [appended[op[1] % len(appended)]],
                "reason": "test",
            }
        tx = await append_in_savepoint(session, [event])
        if tx is not None:
            txs.append(tx)
            appended.append(event["event_id"])  # a retraction retracted restores its target
    return txs


@database_examples(40)
@example(  # a member of 16.72.01 (person 2) serving two overlapping terms of one program each elsewhere
    ops=[
        ("pay", 2, 0, 3, 5),
        ("term", 2, "16.71.01", 0, 60, 0, ["JKK"]),
        ("term", 2, "16.71.02", 9, 60, 0, ["JKM"]),
    ],
    probes=[(20, 3, "officer"), (20, 3, "informal"), (20, 3, "all"), (5, 3, "officer")],
)
@example(
    ops=[("pay", 2, 0, 3, 5), ("term", 0, "16.71.02", 20, 30, 0, None), ("pay", 3, 0, 1, 3), ("retract", 2)],
    probes=[(45, 20, "informal"), (45, 20, "officer"), (45, 20, "all"), (45, 2, "informal")],
)
@given(
    ops=operations,
    probes=st.lists(
        st.tuples(st.integers(-5, 300), st.integers(0, 20), st.sampled_from(["all", "officer", "informal"])),
        min_size=1,
        max_size=6,
    ),
)
async def test_regional_counts_equal_the_plain_scan(
    engine: AsyncEngine,
    ops: list[tuple[Any, ...]],
    probes: list[tuple[int, int, str]],
    checkpoint_often: None,
) -> None:
    async with rolled_back_session(engine) as session:
        txs = await _history(session, ops)
        for day_offset, which, segment in probes:
            as_of = AsOf(START + timedelta(days=day_offset), None, txs[which % len(txs)])
            for code in ("16", "16.71", "16.71.01"):
                fast = await region_coverage(
                    session, principal=SYSTEM, code=code, as_of=as_of, segment=segment
                )
                scan = await region_coverage(
                    session, principal=SYSTEM, code=code, as_of=as_of, segment=segment, by_scan=True
                )
                assert fast.region.covered == scan.region.covered, (code, as_of, segment)
                assert [c.covered for c in fast.children] == [c.covered for c in scan.children], (
                    code,
                    as_of,
                )
        assert await rebuild_check(session) == []


async def test_rebuild_check_reports_a_changed_delta_checkpoint_or_span(
    session: AsyncSession, checkpoint_often: None
) -> None:
    await _history(
        session, [("term", 0, "16.71.01", 10, 30, 0, None), ("term", 1, "16.71.02", 40, 30, 5, None)]
    )
    assert await rebuild_check(session) == []
    assert await session.scalar(text("SELECT count(*) FROM coverage_checkpoint")), "checkpoints were taken"
    for tamper, reported in (
        (
            "UPDATE coverage_delta SET delta = delta + 1 WHERE parent_code = '16.71'",
            "coverage_delta has extra",
        ),
        (
            "UPDATE coverage_checkpoint SET covered = covered + 1 WHERE parent_code = '16'",
            "coverage_checkpoint",
        ),
        ("UPDATE coverage_span SET valid_to = valid_to + 1 WHERE tx_to IS NULL", "coverage_span lacks"),
    ):
        async with session.begin_nested() as tampering:
            await session.execute(text(tamper))
            differences = await rebuild_check(session)
            assert any(d.startswith(reported) for d in differences), (tamper, differences)
            await tampering.rollback()


PROJECTION_TABLES = (
    "coverage_checkpoint_tx",
    "coverage_checkpoint",
    "coverage_delta_parent",
    "coverage_delta",
    "coverage_span",
)


async def test_a_ledger_from_before_the_projection_gets_it_by_replay_exactly_as_appends_wrote_it(
    session: AsyncSession, checkpoint_often: None
) -> None:
    await _history(
        session,
        [
            ("term", 0, "16.71.01", 10, 30, 0, None),
            ("pay", 2, 0, 3, 5),
            ("term", 1, "16.72.01", 40, 60, 50, None),
            ("member", 1, "16.71.02", 4),
            ("pay", 1, 4, 2, 3),
            ("retract", 0),
            ("retract", 5),  # the retraction itself: the first term is back
            ("pay", 3, 0, 2, 70),
        ],
    )
    spans = "SELECT * FROM coverage_span ORDER BY nik, valid_from, tx_from"
    deltas = "SELECT * FROM coverage_delta WHERE delta <> 0 ORDER BY parent_code, tx_seq, child_code, day"
    written = [(await session.execute(text(q))).all() for q in (spans, deltas)]
    assert written[0] and written[1]
    for table in PROJECTION_TABLES:
        await session.execute(text(f"DELETE FROM {table}"))
    assert await backfill_spans(session) > 0
    assert [(await session.execute(text(q))).all() for q in (spans, deltas)] == written
    assert await rebuild_check(session) == []
    assert await backfill_spans(session) == 0  # a projection that exists is left alone
