"""Which BPU payments the rules take: gap months within their grace, the first month past it after the
ones before, a new membership after a lapse, years of contributions up to an incident, and expected
amounts explained."""

from datetime import date

from coverage_ledger.domain.contributions import contribution_due
from coverage_ledger.domain.coverage import CoverageStatus
from coverage_ledger.domain.informal import (
    InformalEnrolment,
    Payment,
    informal_status,
    months_contributed,
)
from coverage_ledger.domain.informal_payments import refuse_payment
from coverage_ledger.domain.months import Month
from coverage_ledger.reference.rules import BPU_RATES, GRACE_MONTHS, RELIEFS
from tests.informal_support import ENROLMENT, paid_months


def _refusal(
    payment: Payment, payments: list[Payment], enrolments: list[InformalEnrolment] | None = None
) -> str | None:
    refusal = refuse_payment(
        payment=payment,
        enrolments=enrolments or [ENROLMENT],
        payments=payments,
        reactivations=(),
        grace_months=GRACE_MONTHS,
    )
    return refusal.code if refusal is not None else None


def test_a_gap_month_can_be_paid_only_within_its_grace() -> None:
    """January paid, February skipped, March to December paid: February could be paid until 30
    April (three months after January), not in December."""
    payments = [
        paid_months("jan", "2025-01", "2025-01", date(2025, 1, 5)),
        paid_months("mar", "2025-03", "2025-12", date(2025, 3, 5)),
    ]
    assert _refusal(paid_months("feb", "2025-02", "2025-02", date(2025, 4, 30)), payments) is None
    assert _refusal(paid_months("feb", "2025-02", "2025-02", date(2025, 5, 1)), payments) == "grace_over"
    assert _refusal(paid_months("feb", "2025-02", "2025-02", date(2025, 12, 1)), payments) == "grace_over"


def test_a_payment_may_not_leave_more_unpaid_months_than_the_grace_before_it() -> None:
    """Paid through March: August paid in June would cover a month after the lapse of 1 July
    unless April to June were paid; it is refused, and so the membership cannot come back paid."""
    payments = [paid_months("q1", "2025-01", "2025-03", date(2025, 1, 5))]
    assert (
        _refusal(paid_months("aug", "2025-08", "2025-08", date(2025, 6, 15)), payments)
        == "months_unpaid_before"
    )
    assert (
        _refusal(paid_months("jun", "2025-06", "2025-06", date(2025, 6, 15)), payments) is None
    )  # Apr, May unpaid: within grace
    assert _refusal(paid_months("apr-aug", "2025-04", "2025-08", date(2025, 6, 15)), payments) is None


def test_the_first_month_past_the_grace_waits_for_the_months_before_it() -> None:
    """Paid through March, grace three months: April to June may stay unpaid before a paid June
    at most; July, the month the membership would lapse in, is refused with three months unpaid,
    and the refusal says why in the rule's own terms."""
    payments = [paid_months("q1", "2025-01", "2025-03", date(2025, 1, 5))]
    assert _refusal(paid_months("jun", "2025-06", "2025-06", date(2025, 6, 15)), payments) is None
    refusal = refuse_payment(
        payment=paid_months("jul", "2025-07", "2025-07", date(2025, 6, 15)),
        enrolments=[ENROLMENT],
        payments=payments,
        reactivations=(),
        grace_months=GRACE_MONTHS,
    )
    assert refusal is not None and refusal.code == "months_unpaid_before"
    assert refusal.message.startswith("2025-04…2025-06 are unpaid: pay them first (2025-07 lies past")
    assert (
        f"the {GRACE_MONTHS} months of grace after 2025-03, the last month paid before it" in refusal.message
    )
    # nothing paid yet: the grace runs from the membership's start, and the message says so
    unpaid = refuse_payment(
        payment=paid_months("may", "2025-05", "2025-05", date(2025, 2, 15)),
        enrolments=[ENROLMENT],
        payments=[],
        reactivations=(),
        grace_months=GRACE_MONTHS,
    )
    assert unpaid is not None and "after 2024-12, the month before the membership began" in unpaid.message


def test_a_new_membership_after_a_lapse_pays_its_first_month_even_when_it_starts_mid_month() -> None:
    old = InformalEnrolment(
        "bpu-old", ("JKK", "JKM"), 1_000_000, "16.71.01", date(2024, 1, 1), date(2024, 1, 1), "other", None
    )
    new = InformalEnrolment(
        "bpu-new", ("JKK", "JKM"), 1_000_000, "16.71.01", date(2025, 3, 15), date(2025, 3, 15), "other", None
    )
    payments = [paid_months("old", "2024-01", "2024-03", date(2024, 1, 5))]
    march = paid_months("mar", "2025-03", "2025-03", date(2025, 3, 20))
    assert _refusal(march, payments, [old, new]) is None
    answer = informal_status(
        enrolments=[old, new],
        payments=[*payments, march],
        reactivations=(),
        valid_at=date(2025, 3, 20),
        grace_months=GRACE_MONTHS,
    )
    assert answer is not None and answer.status is CoverageStatus.COVERED
    assert answer.enrolment == new
    # before the new membership starts, March's payment is not the lapsed membership's
    earlier = informal_status(
        enrolments=[old, new],
        payments=[*payments, march],
        reactivations=(),
        valid_at=date(2025, 3, 10),
        grace_months=GRACE_MONTHS,
    )
    assert earlier is not None and (earlier.enrolment, earlier.status) == (old, CoverageStatus.LAPSED)
    # the old membership's lapse still refuses months before the new one starts
    assert (
        _refusal(paid_months("feb", "2025-02", "2025-02", date(2025, 3, 20)), payments, [old, new])
        == "membership_lapsed"
    )


def test_years_of_contributions_count_only_months_up_to_the_incident() -> None:
    """Prepaid through December 2023, died in February 2023: 26 months, two whole years."""
    payments = [
        paid_months("y2021", "2021-01", "2021-12", date(2021, 1, 5)),
        paid_months("y2022", "2022-01", "2022-12", date(2022, 1, 5)),
        paid_months("y2023", "2023-01", "2023-12", date(2023, 1, 5)),
    ]
    assert months_contributed(payments, by=date(2023, 2, 15)) == 26
    assert months_contributed(payments, by=date(2024, 1, 1)) == 36


def test_an_expected_amount_is_explained_by_runs_of_months() -> None:
    """Ten years of months explained in one short line: runs of equal dues per program, the
    PP 49/2020 relief months their own run."""
    years = contribution_due(
        months=[Month.parse("2017-01").plus(i) for i in range(120)],
        programs=["JKK", "JKM"],
        declared_income=1_000_000,
        sector="other",
        budget=None,
        joined=Month.parse("2017-01"),
        paid_before=frozenset({Month.parse("2020-07")}),
        rates=BPU_RATES,
        reliefs=RELIEFS,
    )
    text = years.explain()
    assert len(text) < 400, text
    assert text.startswith(
        f"Rp{years.amount:,} = 2017-01…2020-07 JKK 43 × 10,000 + 2017-01…2020-07 JKM 43 × 6,800 + "
        "2020-08…2021-01 JKK 6 × 100 + "
    ), text
    one_month = contribution_due(
        months=[Month.parse("2025-01")],
        programs=["JKK", "JKM"],
        declared_income=1_000_000,
        sector="other",
        budget=None,
        joined=Month.parse("2019-01"),
        paid_before=frozenset(),
        rates=BPU_RATES,
        reliefs=RELIEFS,
    )
    assert one_month.explain() == "Rp16,800 = 2025-01 JKK 10,000 + 2025-01 JKM 6,800"
