"""Rules at their boundaries, each computed by hand from facts.md or DESIGN.md. Found by mutation
testing (a rule changed on purpose that no test noticed): a member who joined in July 2020, July
and August 2020 paid together, a BPU membership registered after its start, the month of a death,
a short temporary incapacity, the school year's first month, joint leave, a payment a rupiah short,
and events on the incident's own day."""

from datetime import date

from coverage_ledger.domain.benefit_table import benefit_table, holidays_from
from coverage_ledger.domain.benefits import jkk_temporary_incapacity, rule_for
from coverage_ledger.domain.claim_benefit import Filing, Membership, assess, school_year_of
from coverage_ledger.domain.claims import (
    ClaimOfPerson,
    ClaimPayment,
    ClaimStatus,
    Decision,
    Eligibility,
    claim_state,
    death_clash,
    eligibility,
)
from coverage_ledger.domain.contributions import contribution_due
from coverage_ledger.domain.coverage import CoverageAnswer, CoverageSource, CoverageStatus
from coverage_ledger.domain.informal import (
    InformalEnrolment,
    Payment,
    informal_status,
    months_contributed,
)
from coverage_ledger.domain.informal_payments import refuse_payment
from coverage_ledger.domain.months import Month
from coverage_ledger.domain.officer import OfficerRate, months_touched
from coverage_ledger.domain.rule_table import RuleTable
from coverage_ledger.reference.benefit_rules import benefit_rule_events
from coverage_ledger.reference.rules import BPU_RATES, RELIEFS

TABLE = benefit_table(e.model_dump(mode="json") for e in benefit_rule_events())
FULL_MONTH = 10_000 + 6_800
"""JKK and JKM of a BPU member declaring Rp1,000,000 (sector other)."""
RELIEVED_MONTH = 100 + 68
"""The same under PP 49/2020 (Aug 2020 – Jan 2021): 1% of each."""


def _due(months: list[str], *, joined: str, paid_before: list[str]) -> int:
    return contribution_due(
        months=[Month.parse(m) for m in months],
        programs=["JKK", "JKM"],
        declared_income=1_000_000,
        sector="other",
        budget=None,
        joined=Month.parse(joined),
        paid_before=frozenset(Month.parse(m) for m in paid_before),
        rates=BPU_RATES,
        reliefs=RELIEFS,
    ).amount


def test_a_member_who_joined_in_july_2020_and_paid_it_has_the_relief_from_august() -> None:
    # PP 49/2020: "condition: paid JKK/JKM through Jul 2020; new participants after Jul 2020 pay
    # first 2 months full": one who joined in July is not after July
    assert _due(["2020-08"], joined="2020-07", paid_before=["2020-07"]) == RELIEVED_MONTH


def test_july_2020_paid_with_august_counts_as_paid_through_july() -> None:
    assert _due(["2020-07", "2020-08"], joined="2019-01", paid_before=[]) == FULL_MONTH + RELIEVED_MONTH


LATE_MEMBERSHIP = InformalEnrolment(
    "bpu", ("JKK", "JKM"), 1_000_000, "16.71.01", date(2025, 1, 1), date(2025, 3, 10), "other", None
)
"""A membership from 1 January 2025 whose form was complete on 10 March."""


def test_a_bpu_membership_covers_from_its_registration_not_its_start() -> None:
    # DESIGN.md: enrolments "cover from max(valid_from, registered_on)"; facts.md: "kepesertaan
    # starts on date complete form received"
    answer = informal_status(
        enrolments=[LATE_MEMBERSHIP],
        payments=[],
        reactivations=[],
        valid_at=date(2025, 2, 15),
        grace_months=3,
    )
    assert answer is not None and answer.status is CoverageStatus.NOT_STARTED
    january_to_march = Payment(
        "p", ("JKK", "JKM"), Month(2025, 1), Month(2025, 3), 3 * FULL_MONTH, date(2025, 3, 10)
    )
    refusal = refuse_payment(
        payment=january_to_march, enrolments=[LATE_MEMBERSHIP], payments=[], reactivations=[], grace_months=3
    )
    assert refusal is not None and refusal.code == "before_membership", refusal


def test_the_month_of_a_death_counts_among_the_months_contributed() -> None:
    # 36 months paid on time, March 2022 to February 2025, and a death on 14 February 2025: three
    # years, the JKM scholarship's minimum ("JKM beasiswa requires 3 years iur")
    paid = Payment("a", ("JKK", "JKM"), Month(2022, 3), Month(2025, 2), 36 * FULL_MONTH, date(2022, 3, 1))
    assert months_contributed([paid], by=date(2025, 2, 14)) == 36


def test_three_months_of_temporary_incapacity_are_paid_in_full_and_no_more() -> None:
    # "STMB 100% 12 months first": three months at a Rp2,000,000 wage
    rule = rule_for(TABLE.jkk, date(2024, 3, 1))
    assert rule is not None
    benefit = jkk_temporary_incapacity(rule, monthly_wage=2_000_000, months=3)
    assert benefit.total == 3 * 2_000_000


def test_the_school_year_begins_in_july() -> None:
    assert school_year_of(date(2024, 7, 15)) == 2024
    assert school_year_of(date(2024, 6, 30)) == 2023


def test_joint_leave_days_stay_working_days() -> None:
    days = holidays_from(
        {
            "year": 2024,
            "days": [
                {"date": "2024-04-08", "category": "joint_leave"},
                {"date": "2024-04-10", "category": "public"},
            ],
        }
    )
    assert days == {date(2024, 4, 10)}


def test_a_jkk_death_brings_the_scholarship_without_the_jkm_minimum_of_three_years() -> None:
    # "JKM beasiswa requires 3 years iur; JKK beasiswa for death or cacat total tetap": one child
    # at primary school (SD, in its first year) of an officer who died on duty with no years paid
    filing = Filing(
        "C",
        "1671014501900001",
        "JKK_DEATH",
        date(2024, 2, 14),
        date(2024, 2, 20),
        date(2024, 2, 20),
        wage=2_000_000,
        children=(("SD", 0),),
    )
    assessed = assess(filing, TABLE, Membership(contribution_years=0))
    # SD 1.5jt a year for 6 years, SMP 2jt for 3, SMA 3jt for 3, university 12jt for 5
    assert (
        sum(s.amount for s in assessed.scholarships)
        == 6 * 1_500_000 + 3 * 2_000_000 + 3 * 3_000_000 + 5 * 12_000_000
    )


def test_a_claim_paid_a_rupiah_short_of_its_approval_is_partially_paid() -> None:
    approval = Decision("d", True, date(2024, 3, 1), 5, 42_000_000)
    state = claim_state(
        decisions=[approval], payments=[ClaimPayment("p", 41_999_999, date(2024, 3, 2))], reversals=[]
    )
    assert state.status is ClaimStatus.PARTIALLY_PAID


def _covered(programs: tuple[str, ...]) -> CoverageAnswer:
    term = CoverageSource(
        "officer",
        "t",
        programs,
        date(2024, 1, 25),
        date(2024, 2, 24),
        date(2024, 1, 25),
        "16.71.01",
        CoverageStatus.COVERED,
        "KPPS",
        "KPU",
    )
    return CoverageAnswer(
        CoverageStatus.COVERED, programs, (term,), (date(2024, 1, 25), date(2024, 2, 24)), "Covered", ("t",)
    )


def _death_claim_judged(*, term_recorded_on: date) -> Eligibility:
    return eligibility(
        program="JKM",
        incident_on=date(2024, 2, 14),
        filed_on=date(2024, 2, 20),
        coverage=_covered(("JKK", "JKM")),
        evidence_recorded_on={"t": term_recorded_on},
        deadline=None,
    )


def test_a_term_recorded_on_the_incident_day_is_not_flagged_as_recorded_after_it() -> None:
    # a registration on the day of the death is not "a payment made after the incident"
    same_day = _death_claim_judged(term_recorded_on=date(2024, 2, 14))
    assert same_day.payable and same_day.flags == ()
    assert _death_claim_judged(term_recorded_on=date(2024, 2, 15)).flags != ()


def test_an_accident_on_the_day_of_the_death_is_not_after_it() -> None:
    death = ClaimOfPerson("D", "JKM", date(2024, 2, 14))
    assert death_clash(ClaimOfPerson("I", "JKK_MEDICAL", date(2024, 2, 14)), [death]) is None
    assert death_clash(ClaimOfPerson("I", "JKK_MEDICAL", date(2024, 2, 15)), [death]) is not None


def test_an_officer_rate_prices_covers_starting_on_its_last_day_and_not_after() -> None:
    # a rule "applies to terms whose cover starts on or after its first day and on or before its
    # last": two rates meeting at 30 June 2024 price each day once
    until_june = OfficerRate("rate-1", date(2024, 1, 1), date(2024, 6, 30), 16_800, "Perpres")
    from_july = OfficerRate("rate-2", date(2024, 7, 1), None, 5_939, "Perpres", proration="per_term")
    table = RuleTable(
        rates=(), reliefs=(), grace_months=3, grace_rule_id="g", officer_rates=(until_june, from_july)
    )
    assert table.officer_rate_on(date(2024, 1, 1)) is until_june
    assert table.officer_rate_on(date(2024, 6, 30)) is until_june
    assert table.officer_rate_on(date(2024, 7, 1)) is from_july
    assert table.officer_rate_on(date(2023, 12, 31)) is None
    assert months_touched(date(2024, 6, 30), date(2024, 7, 2)) == 2  # 30 June and 1 July


def test_a_month_paid_for_jht_alone_is_not_a_month_of_protection() -> None:
    # JHT is savings: a month is protected (covered) by its JKK and JKM, not by JHT alone
    member = InformalEnrolment(
        "bpu", ("JKK", "JKM", "JHT"), 1_000_000, "16.71.01", date(2025, 1, 1), date(2025, 1, 1), "other", None
    )
    jht_alone = Payment("p", ("JHT",), Month(2025, 1), Month(2025, 1), 20_000, date(2025, 1, 5))
    protection = Payment("q", ("JKK", "JKM"), Month(2025, 1), Month(2025, 1), FULL_MONTH, date(2025, 1, 5))
    on = date(2025, 1, 15)
    savings_only = informal_status(
        enrolments=[member], payments=[jht_alone], reactivations=[], valid_at=on, grace_months=3
    )
    assert savings_only is not None and savings_only.status is CoverageStatus.IN_ARREARS
    protected = informal_status(
        enrolments=[member], payments=[protection], reactivations=[], valid_at=on, grace_months=3
    )
    assert protected is not None and protected.status is CoverageStatus.COVERED
