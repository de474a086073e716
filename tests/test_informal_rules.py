"""The BPU rules in the words of the domain: contributions, grace, lapse, reactivation."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coverage_ledger.domain.contributions import contribution_due
from coverage_ledger.domain.coverage import CoverageAnswer, CoverageStatus
from coverage_ledger.domain.informal import (
    InformalEnrolment,
    Payment,
    Reactivation,
    informal_coverage,
    informal_status,
)
from coverage_ledger.domain.informal_payments import refuse_payment
from coverage_ledger.domain.money import percent_of
from coverage_ledger.domain.months import Month
from coverage_ledger.reference.rules import BPU_RATES, GRACE_MONTHS, RELIEFS
from tests.informal_support import ENROLMENT, paid_months


def status_on(
    day: date, payments: list[Payment], reactivations: tuple[Reactivation, ...] = ()
) -> CoverageStatus:
    answer = informal_status(
        enrolments=[ENROLMENT],
        payments=payments,
        reactivations=reactivations,
        valid_at=day,
        grace_months=GRACE_MONTHS,
    )
    assert answer is not None
    return answer.status


def due(
    month: str,
    *,
    sector: str = "other",
    budget: str | None = None,
    joined: str = "2019-01",
    paid_through: tuple[str, ...] = ("2020-07",),
    income: int = 1_000_000,
) -> int:
    return contribution_due(
        months=[Month.parse(month)],
        programs=["JKK", "JKM"],
        declared_income=income,
        sector=sector,
        budget=budget,
        joined=Month.parse(joined),
        paid_before=frozenset(Month.parse(m) for m in paid_through),
        rates=BPU_RATES,
        reliefs=RELIEFS,
    ).amount


def test_rounding_is_half_up_to_the_rupiah() -> None:
    assert percent_of(16_800, 100) == 168
    assert percent_of(150, 5_000) == 75
    assert percent_of(1_050, 5) == 1  # 0.525 rounds up
    assert percent_of(1_000, 5) == 1  # 0.5 rounds up
    assert percent_of(999, 5) == 0  # 0.4995 rounds down


def test_full_contribution_is_jkk_one_percent_with_floor_plus_jkm() -> None:
    assert due("2025-03") == 16_800  # 1% of 1,000,000 is under the Rp10,000 floor
    assert due("2025-03", income=3_000_000) == 30_000 + 6_800
    assert due("2025-03", income=50_000_000) == 207_000 + 6_800  # JKK ceiling of the rule table


def test_pp49_2020_relief_september_2020_is_168() -> None:
    assert due("2020-09") == 168
    assert due("2020-07") == 16_800  # before the relief months
    assert due("2021-02") == 16_800  # after them


def test_pp49_2020_needs_july_2020_paid_or_two_full_months_for_new_members() -> None:
    assert due("2020-09", paid_through=()) == 16_800  # joined earlier, July 2020 unpaid
    assert due("2020-09", joined="2020-08", paid_through=()) == 16_800  # second month of a new member
    assert due("2020-10", joined="2020-08", paid_through=()) == 168  # third month


def test_pp50_2025_relief_by_sector_and_budget() -> None:
    assert due("2026-05", sector="other") == 8_400
    assert due("2026-05", sector="other", budget="APBD") == 16_800
    assert due("2026-05", sector="other", budget="APBN") == 16_800
    assert due("2026-05", sector="other", budget="APBDes") == 8_400
    assert due("2026-02", sector="other") == 16_800  # non-transport relief starts in April
    assert due("2026-02", sector="transport") == 8_400
    assert due("2027-03", sector="transport") == 8_400
    assert due("2027-04", sector="transport") == 16_800


def test_paid_january_to_march_covered_march_in_arrears_april() -> None:
    payments = [paid_months("p1", "2025-01", "2025-03", date(2025, 1, 5))]
    assert status_on(date(2025, 3, 15), payments) is CoverageStatus.COVERED
    assert status_on(date(2025, 4, 15), payments) is CoverageStatus.IN_ARREARS


def test_late_payment_for_april_then_lapse_from_1_august() -> None:
    payments = [paid_months("p1", "2025-01", "2025-03", date(2025, 1, 5))]
    april = paid_months("p2", "2025-04", "2025-04", date(2025, 5, 20))
    assert (
        refuse_payment(
            payment=april,
            enrolments=[ENROLMENT],
            payments=payments,
            reactivations=(),
            grace_months=GRACE_MONTHS,
        )
        is None
    )
    payments.append(april)
    assert status_on(date(2025, 4, 15), payments) is CoverageStatus.COVERED
    assert status_on(date(2025, 7, 31), payments) is CoverageStatus.IN_ARREARS
    assert status_on(date(2025, 8, 1), payments) is CoverageStatus.LAPSED
    august = paid_months("p3", "2025-08", "2025-08", date(2025, 8, 5))
    refusal = refuse_payment(
        payment=august, enrolments=[ENROLMENT], payments=payments, reactivations=(), grace_months=GRACE_MONTHS
    )
    assert refusal is not None
    assert refusal.code == "membership_lapsed"


def test_reactivation_reopens_a_lapsed_membership_sidoarjo() -> None:
    """Paid through July, lapsed, reactivated on 17 December, arrears paid the same day."""
    enrolment = InformalEnrolment(
        "bpu-s", ("JKK", "JKM"), 1_000_000, "35.15", date(2025, 1, 1), date(2025, 1, 1), "other", None
    )
    payments = [Payment("s1", ("JKK", "JKM"), Month(2025, 1), Month(2025, 7), 7 * 16_800, date(2025, 1, 10))]
    arrears = Payment("s2", ("JKK", "JKM"), Month(2025, 8), Month(2025, 12), 5 * 16_800, date(2025, 12, 17))
    before = refuse_payment(
        payment=arrears, enrolments=[enrolment], payments=payments, reactivations=(), grace_months=3
    )
    assert before is not None
    reopened = (Reactivation("r1", date(2025, 12, 17)),)
    assert (
        refuse_payment(
            payment=arrears, enrolments=[enrolment], payments=payments, reactivations=reopened, grace_months=3
        )
        is None
    )
    answer = informal_status(
        enrolments=[enrolment],
        payments=[*payments, arrears],
        reactivations=reopened,
        valid_at=date(2025, 9, 20),
        grace_months=3,
    )
    assert answer is not None
    assert (
        answer.status is CoverageStatus.COVERED
    )  # the September death is covered as known after the late payment


def test_arrears_paid_after_a_reactivation_do_not_undo_the_lapse_sidoarjo() -> None:
    """Paid through July on 5 January, lapsed from 1 November, reactivated on 17 December and
    August to September paid that day: as known after it, 1 November to 16 December stay lapsed
    (a payment then was refused), August and September are covered, October is in arrears."""
    enrolment = InformalEnrolment(
        "bpu-s", ("JKK", "JKM"), 1_000_000, "35.15", date(2025, 1, 1), date(2025, 1, 1), "other", None
    )
    payments = [
        Payment("s1", ("JKK", "JKM"), Month(2025, 1), Month(2025, 7), 7 * 16_800, date(2025, 1, 5)),
        Payment("s2", ("JKK", "JKM"), Month(2025, 8), Month(2025, 9), 2 * 16_800, date(2025, 12, 17)),
    ]
    reopened = (Reactivation("r1", date(2025, 12, 17)),)

    def answer_on(day: date) -> CoverageAnswer:
        answer = informal_coverage(
            enrolments=[enrolment], payments=payments, reactivations=reopened, valid_at=day, grace_months=3
        )
        assert answer is not None
        return answer

    statuses = {
        day: answer_on(day).status
        for day in (date(2025, 9, 10), date(2025, 10, 31), date(2025, 11, 1), date(2025, 12, 16))
    }
    assert statuses == {
        date(2025, 9, 10): CoverageStatus.COVERED,
        date(2025, 10, 31): CoverageStatus.IN_ARREARS,
        date(2025, 11, 1): CoverageStatus.LAPSED,
        date(2025, 12, 16): CoverageStatus.LAPSED,
    }
    assert "last paid month Jul 2025 by then; months up to Sep 2025 were paid later" in (
        answer_on(date(2025, 11, 15)).reason
    )
    # the day before the lapse, the arrears were payable to that day, not to a deadline that the
    # months paid after the lapse would give (found by a review)
    assert "can be paid until 31 Oct 2025" in answer_on(date(2025, 10, 31)).reason
    reopened_answer = answer_on(date(2025, 12, 17))
    assert reopened_answer.status is CoverageStatus.IN_ARREARS
    # the grace counts again from the reactivation: November's arrears are payable to February
    assert "can be paid until 28 Feb 2026" in reopened_answer.reason


def test_a_month_is_paid_only_once() -> None:
    payments = [paid_months("p1", "2025-01", "2025-03", date(2025, 1, 5))]
    again = paid_months("p2", "2025-03", "2025-04", date(2025, 3, 5))
    refusal = refuse_payment(
        payment=again, enrolments=[ENROLMENT], payments=payments, reactivations=(), grace_months=GRACE_MONTHS
    )
    assert refusal is not None
    assert refusal.code == "month_already_paid"


@pytest.mark.parametrize(
    ("months", "member", "code"),
    [
        (("2024-12", "2025-01"), True, "before_membership"),  # partly before
        (("2024-01", "2024-02"), True, "before_membership"),  # wholly before: the start is told
        (("2024-01", "2024-02"), False, "no_membership"),
    ],
)
def test_months_outside_the_membership_are_refused(months: tuple[str, str], member: bool, code: str) -> None:
    payment = paid_months("x", months[0], months[1], date(2025, 1, 5))
    refusal = refuse_payment(
        payment=payment,
        enrolments=[ENROLMENT] if member else [],
        payments=[],
        reactivations=(),
        grace_months=GRACE_MONTHS,
    )
    assert refusal is not None
    assert refusal.code == code
    if member:
        assert str(ENROLMENT.covers_from) in refusal.message


def test_before_the_membership_starts_it_is_not_started() -> None:
    assert status_on(date(2024, 12, 31), []) is CoverageStatus.NOT_STARTED


def reference_status(
    start: date, paid: dict[Month, date], reactivated: list[date], day: date, grace: int
) -> CoverageStatus:
    """Walk back from the month of `day` counting the months unpaid by that day (`paid`: month ->
    the day it was paid); a reactivation restarts the count. A month paid at any time is covered."""
    if day < start:
        return CoverageStatus.NOT_STARTED
    month = Month.of(day)
    if month in paid:
        return CoverageStatus.COVERED
    floor = Month.of(start)
    for when in reactivated:
        if start <= when <= day:
            floor = max(floor, Month.of(when))
    unpaid = 0
    cursor = month
    while cursor >= floor and not (cursor in paid and paid[cursor] <= day):
        unpaid += 1
        cursor = cursor.plus(-1)
    return CoverageStatus.IN_ARREARS if unpaid <= grace else CoverageStatus.LAPSED


month_sets = st.sets(st.integers(0, 30), max_size=20)


@given(
    paid_offsets=month_sets,
    paid_late=st.lists(st.integers(0, 400), max_size=20),
    reactivation_days=st.lists(st.integers(0, 1000), max_size=3),
    day_offset=st.integers(-40, 1000),
    grace=st.integers(1, 4),
)
def test_status_equals_the_reference(
    paid_offsets: set[int], paid_late: list[int], reactivation_days: list[int], day_offset: int, grace: int
) -> None:
    start = date(2025, 1, 1)
    months = sorted(Month.of(start).plus(i) for i in paid_offsets)
    # each month paid on its own day: at its start, or that many days after it
    paid_set = {
        m: m.first_day + timedelta(days=paid_late[i] if i < len(paid_late) else 0)
        for i, m in enumerate(months)
    }
    payments = [
        Payment(f"p{i}", ("JKK", "JKM"), m, m, 16_800, on) for i, (m, on) in enumerate(paid_set.items())
    ]
    reactivated = [start + timedelta(days=d) for d in reactivation_days]
    day = start + timedelta(days=day_offset)
    answer = informal_status(
        enrolments=[ENROLMENT],
        payments=payments,
        reactivations=[Reactivation(f"r{i}", d) for i, d in enumerate(reactivated)],
        valid_at=day,
        grace_months=grace,
    )
    assert answer is not None
    assert answer.status is reference_status(start, paid_set, reactivated, day, grace)


@given(
    attempts=st.lists(
        st.tuples(st.integers(0, 30), st.integers(0, 2), st.integers(-40, 1000)), min_size=1, max_size=12
    ),
    grace=st.integers(1, 4),
)
def test_payments_the_rules_accept_never_bring_a_lapsed_membership_back(
    attempts: list[tuple[int, int, int]], grace: int
) -> None:
    """Whatever payments are tried, in whatever order and however late: the ones accepted pay
    each month once, and a membership lapsed on one day is never covered on a later day (only a
    reactivation or a new enrolment brings it back)."""
    start = date(2025, 1, 1)
    accepted: list[Payment] = []
    for number, (offset, extra, paid_day) in enumerate(attempts):
        first = Month.of(start).plus(offset)
        payment = Payment(
            f"p{number}",
            ("JKK", "JKM"),
            first,
            first.plus(extra),
            16_800 * (extra + 1),
            start + timedelta(paid_day),
        )
        refusal = refuse_payment(
            payment=payment, enrolments=[ENROLMENT], payments=accepted, reactivations=(), grace_months=grace
        )
        if refusal is None:
            accepted.append(payment)
    months = [m for p in accepted for m in p.months]
    assert len(months) == len(set(months))
    lapsed_on = None
    for day in (start + timedelta(days=7 * week) for week in range(160)):
        answer = informal_status(
            enrolments=[ENROLMENT], payments=accepted, reactivations=(), valid_at=day, grace_months=grace
        )
        assert answer is not None
        if answer.status is CoverageStatus.LAPSED and lapsed_on is None:
            lapsed_on = day
        if lapsed_on is not None:
            assert answer.status is not CoverageStatus.COVERED, (lapsed_on, day, accepted)
