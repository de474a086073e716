"""Property tests of claims: whatever the order of filings, decisions, payments, reversals,
retroactive enrolments and corrections (of corrections), the projections equal a fresh review
of the log at every tx, no claim is ever paid more than approved or paid unapproved, an answer
once given for a tx never changes, and `rebuild --check` finds nothing."""

from datetime import date, timedelta
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from coverage_ledger.claims import repository
from coverage_ledger.claims.projection import record_of
from coverage_ledger.claims.review import review_claims
from coverage_ledger.ledger.rebuild import rebuild_check
from tests.support import (
    append_in_savepoint,
    database_examples,
    enrolled,
    nik,
    registered,
    rolled_back_session,
)

CLAIMS = ("K-0", "K-1", "K-2")
TODAY = date(2024, 6, 1)

claim = st.integers(0, len(CLAIMS) - 1)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("file"), claim, st.integers(0, 1), st.integers(0, 40), st.booleans()),
        st.tuples(st.just("approve"), claim),
        st.tuples(st.just("reject"), claim),
        st.tuples(st.just("pay"), claim, st.sampled_from([10_000_000, 20_000_000, 42_000_000, 79_600_000])),
        st.tuples(st.just("reverse"), claim, st.booleans()),
        st.tuples(st.just("enrol"), st.integers(0, 1)),
        st.tuples(st.just("retract"), st.integers(0, 50)),
    ),
    min_size=1,
    max_size=14,
)


def _event(number: int, op: tuple[Any, ...], people: list[str], appended: list[str]) -> dict[str, Any] | None:
    kind = op[0]
    if kind == "enrol":
        return enrolled(
            people[op[1]],
            event_id=f"e{number}",
            valid_from="2024-01-25",
            valid_to="2024-02-24",
            registered_on="2024-01-20",
        )
    if kind == "retract":
        if not appended:
            return None
        return {
            "event_id": f"x{number}",
            "type": "event.corrected",
            "supersedes": [appended[op[1] % len(appended)]],
            "reason": "test",
        }
    base = {"event_id": f"c{number}", "claim_id": CLAIMS[op[1]]}
    if kind == "file":
        _, _, who, offset, accident = op
        return base | {
            "type": "claim.filed",
            "nik": people[who],
            "benefit": "JKK_DEATH" if accident else "JKM",
            "incident_date": (date(2024, 1, 20) + timedelta(days=offset)).isoformat(),
            "filed_on": "2024-03-01",
            "wage": 1_200_000,
        }
    if kind == "approve":
        return base | {"type": "claim.approved", "decided_on": "2024-03-04"}
    if kind == "reject":
        return base | {"type": "claim.rejected", "decided_on": "2024-03-04", "reason": "test"}
    if kind == "pay":
        return base | {"type": "claim.paid", "amount": op[2], "paid_on": "2024-03-06"}
    payment = next((e for e in reversed(appended) if e.startswith("c")), None) if op[2] else None
    return (
        base
        | {"type": "claim.reversed", "reason": "test"}
        | ({"payment_event_id": payment} if payment else {})
    )


async def _snapshot(session: AsyncSession, tx: int) -> dict[str, Any]:
    """Reviews (the oracle) and projections (the fast path) at one tx."""
    reviews = await review_claims(session, claim_ids=CLAIMS, tx_seq=tx, today=TODAY)
    projected = await repository.records_as_of(
        session,
        tx_seq=tx,
        region_prefix=None,
        statuses=None,
        day=TODAY,
        overdue_candidates=False,
        after="",
        limit=100,
    )
    groups, total = await repository.payout_groups(
        session, tx_seq=tx, region_prefix=None, paid_from=None, paid_to=None, group_by="month"
    )
    assert (
        sum(g.claims for g in groups) == total.claims
        and sum(g.paid_amount for g in groups) == total.paid_amount
    )
    return {"reviews": reviews, "projected": projected, "total": total}


@database_examples(30)
@example(
    ops=[
        ("file", 0, 0, 20, False),
        ("approve", 0),
        ("pay", 0, 42_000_000),
        ("retract", 0),  # the enrolment leaves: the decision stands
        ("reverse", 0, True),
        ("retract", 4),  # the reversal is withdrawn: paid again
    ]
)
@given(ops=operations)
async def test_claim_projections_equal_a_fresh_review_at_every_tx(
    engine: AsyncEngine, ops: list[tuple[Any, ...]]
) -> None:
    async with rolled_back_session(engine) as session:
        people = [nik(), nik()]
        first = await append_in_savepoint(
            session,
            [
                registered(people[0]),
                registered(people[1]),
                enrolled(
                    people[0],
                    event_id="kpps-0",
                    valid_from="2024-01-25",
                    valid_to="2024-02-24",
                    registered_on="2024-01-20",
                ),
            ],
        )
        assert first is not None
        appended: list[str] = ["kpps-0"]
        seen: dict[int, dict[str, Any]] = {}
        for number, op in enumerate(ops):
            event = _event(number, op, people, appended)
            if event is None:
                continue
            tx = await append_in_savepoint(session, [event])
            if tx is None:
                continue
            appended.append(event["event_id"])
            seen[tx] = await _snapshot(session, tx)
        for tx, then in seen.items():
            reviews = then["reviews"]
            assert sorted(then["projected"], key=lambda r: r.claim_id) == [
                record_of(reviews[c]) for c in sorted(reviews)
            ], tx
            kept = [
                p
                for r in reviews.values()
                for p in r.state.payments
                if p.event_id not in {x.payment_event_id for x in r.state.reversals}
            ]
            assert then["total"].paid_amount == sum(p.amount for p in kept)
            for review in reviews.values():
                decision = review.state.decision
                if review.state.payments:
                    assert decision is not None and decision.approved and decision.amount is not None
                    assert review.state.paid <= decision.amount
            again = await _snapshot(session, tx)
            assert again["projected"] == then["projected"] and again["total"] == then["total"], tx
        assert await rebuild_check(session) == []
