"""Benefit rules chosen by incident date and the service time of claims (domain only, no
database): the scenarios of the claims issue, from the rules as shipped in the ledger's genesis."""

from datetime import date

import pytest

from coverage_ledger.domain.benefit_table import BenefitTable, benefit_table
from coverage_ledger.domain.benefits import (
    JkkRule,
    JkmRule,
    jkk_death,
    jkk_partial_disability,
    jkk_temporary_incapacity,
    jkm_death,
    rule_for,
    scholarship_schedule,
)
from coverage_ledger.domain.service_time import Lateness, lateness_over_payments, working_days_after
from coverage_ledger.reference.benefit_rules import JKK_RULES, JKM_RULES, benefit_rule_events


@pytest.fixture(scope="module")
def table() -> BenefitTable:
    """The shipped rules read back from their `rule.defined` payloads, as the ledger would."""
    return benefit_table(event.model_dump(mode="json") for event in benefit_rule_events())


def _jkm(table: BenefitTable, incident: date) -> JkmRule:
    rule = rule_for(table.jkm, incident)
    assert rule is not None
    return rule


def _jkk(table: BenefitTable, incident: date) -> JkkRule:
    rule = rule_for(table.jkk, incident)
    assert rule is not None
    return rule


def test_the_stored_rules_read_back_as_shipped(table: BenefitTable) -> None:
    assert table.jkm == JKM_RULES
    assert table.jkk == JKK_RULES
    assert [(d.years, d.incidents_from) for d in table.deadlines["JKK"]] == [
        (2, None),
        (5, date(2019, 12, 2)),
    ]
    assert [d.years for d in table.deadlines["JKM"]] == [None]


@pytest.mark.parametrize(
    ("incident", "years"),
    [(date(2015, 7, 1), 2), (date(2019, 12, 1), 2), (date(2019, 12, 2), 5), (date(2024, 2, 14), 5)],
)
def test_a_jkk_claim_may_be_filed_two_years_after_an_accident_before_pp82_and_five_from_it(
    table: BenefitTable, incident: date, years: int
) -> None:
    deadline = table.deadline_for("JKK", incident)
    assert deadline is not None and deadline.years == years, deadline
    assert (table.service["JKM"].working_days, table.service["JKK"].working_days) == (3, 7)


def test_a_death_on_14_february_2024_pays_42_million_in_three_components(table: BenefitTable) -> None:
    benefit = jkm_death(_jkm(table, date(2024, 2, 14)))
    assert benefit.total == 42_000_000
    assert [(c.name, c.amount) for c in benefit.components] == [
        ("lump_sum", 20_000_000),
        ("periodic", 12_000_000),
        ("funeral", 10_000_000),
    ]
    assert benefit.rule_id == "jkm-pp82-2019" and "PP 82/2019" in benefit.regulation


@pytest.mark.parametrize(
    ("incident", "total", "rule_id"),
    [
        (date(2019, 11, 1), 24_000_000, "jkm-pp44-2015"),
        (date(2019, 12, 1), 24_000_000, "jkm-pp44-2015"),
        (date(2019, 12, 2), 42_000_000, "jkm-pp82-2019"),  # the incident date decides, not the claim's
        (date(2014, 3, 9), 21_000_000, "jkm-pp53-2012"),
    ],
)
def test_the_jkm_rule_follows_the_incident_date(
    table: BenefitTable, incident: date, total: int, rule_id: str
) -> None:
    benefit = jkm_death(_jkm(table, incident))
    assert (benefit.total, benefit.rule_id) == (total, rule_id)


def test_a_bpu_member_dying_within_three_months_of_joining_gets_the_reduced_benefit(
    table: BenefitTable,
) -> None:
    rule = _jkm(table, date(2025, 8, 1))
    assert jkm_death(rule, informal_member_months=2).total == 10_000_000
    assert jkm_death(rule, informal_member_months=3).total == 42_000_000
    assert jkm_death(rule).total == 42_000_000  # an election officer


def test_a_jkk_death_pays_48_wages_plus_funeral_and_periodic(table: BenefitTable) -> None:
    incident = date(2024, 2, 14)
    benefit = jkk_death(_jkk(table, incident), _jkm(table, incident), monthly_wage=1_200_000)
    assert [(c.name, c.amount) for c in benefit.components] == [
        ("wage_multiple", 57_600_000),
        ("funeral", 10_000_000),
        ("periodic", 12_000_000),
    ]
    assert benefit.total == 79_600_000


def test_a_jkk_death_on_a_low_wage_pays_at_least_the_jkm_lump_sum(table: BenefitTable) -> None:
    incident = date(2024, 11, 20)
    benefit = jkk_death(_jkk(table, incident), _jkm(table, incident), monthly_wage=300_000)
    assert benefit.components[0].amount == 20_000_000  # 48 × 300,000 = 14,400,000 < 20,000,000
    assert "raised to the JKM lump sum" in benefit.components[0].basis


def test_jkk_disability_and_incapacity(table: BenefitTable) -> None:
    rule = _jkk(table, date(2024, 1, 1))
    partial = jkk_partial_disability(rule, monthly_wage=2_000_000, table_bp=1_000)
    assert partial.total == 16_000_000  # 10% × 80 × 2,000,000
    functional = jkk_partial_disability(rule, monthly_wage=2_000_000, table_bp=1_000, function_lost_bp=5_000)
    assert functional.total == 8_000_000
    # 3% × 80 × 1,500,002 × 50% = 1,800,002.4: rounded once, not after each share
    odd = jkk_partial_disability(rule, monthly_wage=1_500_002, table_bp=300, function_lost_bp=5_000)
    assert odd.total == 1_800_002
    incapacity = jkk_temporary_incapacity(rule, monthly_wage=2_000_000, months=15)
    assert [c.amount for c in incapacity.components] == [24_000_000, 3_000_000]  # 12 × 100%, 3 × 50%
    before = jkk_temporary_incapacity(_jkk(table, date(2018, 1, 1)), monthly_wage=2_000_000, months=15)
    assert [c.amount for c in before.components] == [12_000_000, 9_000_000, 3_000_000]  # 100/75/50


def test_no_jkk_rule_before_pp_44_2015(table: BenefitTable) -> None:
    assert rule_for(table.jkk, date(2015, 6, 30)) is None


def test_the_scholarship_is_a_yearly_entitlement_for_two_children_after_three_years(
    table: BenefitTable,
) -> None:
    rule = _jkm(table, date(2024, 2, 14))
    schedule = scholarship_schedule(
        rule, children=[("SMA", 1), ("PT", 4), ("SD", 0)], first_school_year=2024, contribution_years=3
    )
    first = [(s.school_year, s.level, s.amount) for s in schedule if s.child == 1]
    assert first[:3] == [(2024, "SMA", 3_000_000), (2025, "SMA", 3_000_000), (2026, "PT", 12_000_000)]
    assert sum(s.amount for s in schedule if s.child == 1) == 6_000_000 + 60_000_000
    assert [(s.school_year, s.level) for s in schedule if s.child == 2] == [(2024, "PT")]
    assert {s.child for s in schedule} == {1, 2}  # a third child is not entitled
    full = scholarship_schedule(rule, children=[("TK", 0)], first_school_year=2024, contribution_years=5)
    assert sum(s.amount for s in full) == 87_000_000
    assert (
        scholarship_schedule(rule, children=[("SD", 0)], first_school_year=2024, contribution_years=2) == []
    )


def test_a_jkm_claim_due_on_thursday_and_paid_on_monday_owes_four_days(table: BenefitTable) -> None:
    """PP 44/2015: paid within 3 working days ("hari kerja"); 1% for each day ("setiap hari") late."""
    service = table.service["JKM"]
    complete = date(2024, 3, 4)  # a Monday
    paid = working_days_after(complete, 5)
    assert paid == date(2024, 3, 11)  # over the weekend
    due = working_days_after(complete, service.working_days)

    def paid_on(day: date) -> Lateness:
        return lateness_over_payments(
            due=due,
            payments=[(day, 42_000_000)],
            amount=42_000_000,
            today=date(2024, 12, 31),
            benefit=42_000_000,
            penalty_bp_per_day=service.penalty_bp_per_day,
        )

    late = paid_on(paid)
    assert (late.due_on, late.days_late, late.penalty, late.late) == (
        date(2024, 3, 7),
        4,
        1_680_000,
        True,
    )
    on_time = paid_on(date(2024, 3, 7))
    assert (on_time.late, on_time.penalty) == (False, 0)


def test_a_payment_taken_back_is_late_again_only_from_the_reversal() -> None:
    """Due 23 Feb, paid 5 Mar (11 days late), reversed 20 Mar, paid again 25 Mar (5 more): 16."""

    def as_of(today: date) -> Lateness:
        return lateness_over_payments(
            due=date(2024, 2, 23),
            payments=[(date(2024, 3, 5), 100), (date(2024, 3, 20), -100), (date(2024, 3, 25), 100)],
            amount=100,
            today=today,
            benefit=42_000_000,
            penalty_bp_per_day=100,
        )

    assert [as_of(date(2024, m, d)).days_late for m, d in ((3, 1), (3, 10), (3, 22), (4, 30))] == [
        7,
        11,
        13,
        16,
    ]
    assert as_of(date(2024, 3, 22)).due_on == date(2024, 3, 20)
    assert as_of(date(2024, 4, 30)).penalty == 16 * 420_000


def test_holidays_are_not_working_days() -> None:
    assert working_days_after(date(2024, 4, 8), 3, holidays={date(2024, 4, 10), date(2024, 4, 11)}) == date(
        2024, 4, 15
    )
