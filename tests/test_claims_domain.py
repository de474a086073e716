"""A claim's state from its events and whether it is payable (domain only, no database)."""

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from coverage_ledger.domain.benefit_table import ClaimDeadline
from coverage_ledger.domain.claims import (
    COVER_RECORDED_AFTER_INCIDENT,
    FILED_AFTER_DEADLINE,
    PAID_MORE_THAN_APPROVED,
    ClaimPayment,
    ClaimStatus,
    Decision,
    Eligibility,
    PaymentReversal,
    claim_state,
    eligibility,
    review_flags,
)
from coverage_ledger.domain.coverage import CoverageAnswer, CoverageSource, CoverageStatus
from coverage_ledger.domain.service_time import is_working_day, working_days_between

APPROVED = Decision("approve-1", True, date(2024, 3, 1), 10, 42_000_000)
JKK_DEADLINE = ClaimDeadline("claim-deadline-jkk", "JKK", 2, "PP 44/2015 Pasal 26")


def _answer(
    status: CoverageStatus,
    programs: tuple[str, ...],
    evidence: tuple[str, ...],
    sources: tuple[CoverageSource, ...] = (),
) -> CoverageAnswer:
    return CoverageAnswer(status, programs, sources, None, f"status {status}", evidence)


def test_a_claim_moves_from_filed_to_paid_in_parts() -> None:
    assert claim_state(decisions=[], payments=[], reversals=[]).status is ClaimStatus.FILED
    assert claim_state(decisions=[APPROVED], payments=[], reversals=[]).status is ClaimStatus.APPROVED
    part = ClaimPayment("pay-1", 30_000_000, date(2024, 3, 4))
    state = claim_state(decisions=[APPROVED], payments=[part], reversals=[])
    assert (state.status, state.paid, state.outstanding) == (
        ClaimStatus.PARTIALLY_PAID,
        30_000_000,
        12_000_000,
    )
    rest = ClaimPayment("pay-2", 12_000_000, date(2024, 3, 5))
    state = claim_state(decisions=[APPROVED], payments=[part, rest], reversals=[])
    assert (state.status, state.paid, state.outstanding) == (ClaimStatus.PAID, 42_000_000, 0)


def test_a_reversed_payment_no_longer_counts_as_paid() -> None:
    payment = ClaimPayment("pay-1", 42_000_000, date(2024, 3, 4))
    paid = claim_state(decisions=[APPROVED], payments=[payment], reversals=[])
    assert paid.status is ClaimStatus.PAID
    reversal = PaymentReversal("rev-1", "pay-1", date(2024, 4, 1), "paid to the wrong account")
    state = claim_state(decisions=[APPROVED], payments=[payment], reversals=[reversal])
    assert (state.status, state.paid, state.reversed, state.outstanding) == (
        ClaimStatus.REVERSED,
        0,
        42_000_000,
        42_000_000,
    )


def test_the_latest_decision_in_force_decides() -> None:
    rejected = Decision("reject-1", False, date(2024, 3, 1), 9, None, "not covered")
    state = claim_state(decisions=[rejected, APPROVED], payments=[], reversals=[])
    assert (state.status, state.decision) == (ClaimStatus.APPROVED, APPROVED)
    assert claim_state(decisions=[rejected], payments=[], reversals=[]).outstanding == 0


def test_a_person_not_covered_on_the_incident_date_is_not_payable() -> None:
    result = eligibility(
        program="JKM",
        incident_on=date(2024, 2, 14),
        filed_on=date(2024, 2, 20),
        coverage=_answer(CoverageStatus.NOT_STARTED, (), ("enrol-1",)),
        evidence_recorded_on={},
        deadline=None,
    )
    assert not result.payable
    assert "not covered for JKM on the incident date 14 Feb 2024" in result.reason


def _source(kind: str, event_id: str, programs: tuple[str, ...]) -> CoverageSource:
    day = date(2025, 9, 1)
    return CoverageSource(
        kind, event_id, programs, day, day + timedelta(days=30), day, "16.71.01", CoverageStatus.COVERED
    )


def test_cover_recorded_after_the_incident_is_payable_and_flagged() -> None:
    membership = _source("informal", "enrol-1", ("JKK", "JKM"))
    recorded_on = {"enrol-1": date(2025, 1, 5), "pay-arrears": date(2025, 12, 17), "term-1": date(2025, 8, 1)}
    result = eligibility(
        program="JKM",
        incident_on=date(2025, 9, 10),
        filed_on=date(2025, 12, 18),
        coverage=_answer(CoverageStatus.COVERED, ("JKK", "JKM"), ("enrol-1", "pay-arrears"), (membership,)),
        evidence_recorded_on=recorded_on,
        deadline=None,
    )
    assert result.payable
    assert result.flags == (COVER_RECORDED_AFTER_INCIDENT,)
    assert "pay-arrears" in result.reason and "enrol-1" not in result.reason
    # a term made in time covers the program on its own: nothing rests on the late payment
    for term_programs, flagged in ((("JKM",), False), (("JKK",), True)):
        term = _source("officer", "term-1", term_programs)
        both = _answer(
            CoverageStatus.COVERED, ("JKK", "JKM"), ("term-1", "enrol-1", "pay-arrears"), (term, membership)
        )
        verdict = eligibility(
            program="JKM",
            incident_on=date(2025, 9, 10),
            filed_on=date(2025, 12, 18),
            coverage=both,
            evidence_recorded_on=recorded_on,
            deadline=None,
        )
        assert verdict.payable and (verdict.flags == (COVER_RECORDED_AFTER_INCIDENT,)) is flagged


def test_a_jkk_claim_after_two_years_is_refused_and_jkm_has_no_limit() -> None:
    covered = _answer(CoverageStatus.COVERED, ("JKK", "JKM"), ("enrol-1",))
    late = eligibility(
        program="JKK",
        incident_on=date(2024, 2, 29),
        filed_on=date(2026, 3, 1),
        coverage=covered,
        evidence_recorded_on={"enrol-1": date(2024, 1, 15)},
        deadline=JKK_DEADLINE,
    )
    assert (late.payable, late.flags) == (False, (FILED_AFTER_DEADLINE,))
    assert "last day 28 Feb 2026" in late.reason
    in_time = eligibility(
        program="JKK",
        incident_on=date(2024, 2, 29),
        filed_on=date(2026, 2, 28),
        coverage=covered,
        evidence_recorded_on={"enrol-1": date(2024, 1, 15)},
        deadline=JKK_DEADLINE,
    )
    assert in_time.payable and in_time.flags == ()
    jkm = eligibility(
        program="JKM",
        incident_on=date(2014, 2, 1),
        filed_on=date(2026, 1, 1),
        coverage=covered,
        evidence_recorded_on={},
        deadline=ClaimDeadline("claim-deadline-jkm", "JKM", None, "PP 44/2015"),
    )
    assert jkm.payable


@given(
    after=st.dates(min_value=date(2019, 1, 1), max_value=date(2027, 12, 31)),
    span=st.integers(-10, 2_000),
    holidays=st.sets(st.dates(min_value=date(2019, 1, 1), max_value=date(2033, 12, 31)), max_size=8),
)
def test_working_days_between_counts_like_walking_day_by_day(
    after: date, span: int, holidays: set[date]
) -> None:
    until = after + timedelta(days=span)
    walked, day = 0, after
    while day < until:
        day += timedelta(days=1)
        walked += is_working_day(day, holidays)
    assert working_days_between(after, until, holidays) == walked


def test_money_paid_beyond_the_approval_is_flagged() -> None:
    """Found by a downgrade probe: a claim 0.10.0 approved for Rp10 million, paid Rp42 million by
    0.9.0 (which read the approval for that), read back as plainly `paid`."""
    approval = Decision("approve-1", True, date(2024, 3, 1), 10, 10_000_000)
    covered = Eligibility(True, "covered")
    for paid, flagged in ((10_000_000, False), (42_000_000, True)):
        state = claim_state(
            decisions=[approval], payments=[ClaimPayment("pay-1", paid, date(2024, 3, 4))], reversals=[]
        )
        flags = review_flags(
            state=state,
            eligibility_then=covered,
            eligibility_now=covered,
            amount_now=10_000_000,
            overdue=False,
            late=False,
        )
        assert (PAID_MORE_THAN_APPROVED in flags) is flagged, flags
