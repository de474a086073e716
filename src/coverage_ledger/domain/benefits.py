"""Benefits of JKM (death not from work) and JKK (work accidents), chosen by the incident date.

Amounts are integer rupiah; rates are basis points (money.py). The figures themselves are rule
table entries in the ledger (reference/benefit_rules.py ships them with their regulation and
source): this module only knows how a rule turns into a payable amount with its components.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from coverage_ledger.domain.money import percent_of, percent_of_percent, rupiah


@dataclass(frozen=True, slots=True)
class Component:
    """One part of a benefit, with how it was reached."""

    name: str
    """`lump_sum`, `periodic`, `funeral`, `wage_multiple`, `incapacity`, …"""
    amount: int
    """Rupiah."""
    basis: str
    """How the amount follows from the rule, for the clerk and the auditor."""


@dataclass(frozen=True, slots=True)
class Benefit:
    """A payable amount with its breakdown and the rule that produced it."""

    program: str
    kind: str
    components: tuple[Component, ...]
    rule_id: str
    regulation: str

    @property
    def total(self) -> int:
        """Rupiah: the sum of the components."""
        return sum(c.amount for c in self.components)


@dataclass(frozen=True, slots=True)
class ScholarshipLevel:
    """Scholarship for one school level: a yearly amount for at most some years."""

    level: str
    """`TK`, `SD`, `SMP`, `SMA`, `PT` (university or vocational training)."""
    yearly: int
    max_years: int


MONTHS_PAID = "months_paid"
"""The early test counts every month paid up to the incident's, whenever paid (the first release)."""
MONTHS_PAID_BY_INCIDENT = "months_paid_by_incident"
"""The early test counts only the months paid by the incident day."""
EARLY_COUNTS = (MONTHS_PAID, MONTHS_PAID_BY_INCIDENT)
"""The values of `JkmRule.early_informal_counts`."""


@dataclass(frozen=True, slots=True)
class JkmRule:
    """The JKM death benefit for incidents in [incidents_from, incidents_to)."""

    rule_id: str
    incidents_from: date
    incidents_to: date | None
    lump_sum: int
    periodic: int
    """Paid at once: 24 monthly periodic payments."""
    funeral: int
    regulation: str
    early_informal_months: int | None = None
    """A BPU member dying within this many months of joining gets the early amounts below."""
    early_informal_lump_sum: int = 0
    early_informal_funeral: int = 0
    early_informal_counts: str = MONTHS_PAID
    """Which months make the early test's membership (`EARLY_COUNTS`): `months_paid`, every month
    paid up to the incident's, as the first release of the table counted; `months_paid_by_incident`,
    only those paid by the incident day (arrears the heirs pay afterwards restore the cover, not
    months of "active & paying"). A claim decided under the first keeps its amount."""
    scholarship_children: int = 0
    scholarship_min_contribution_years: int = 0
    scholarship_levels: tuple[ScholarshipLevel, ...] = ()

    def applies_to(self, incident: date) -> bool:
        """Whether an incident on this date falls under the rule."""
        return self.incidents_from <= incident and (self.incidents_to is None or incident < self.incidents_to)


@dataclass(frozen=True, slots=True)
class JkkRule:
    """The JKK benefits for work accidents in [incidents_from, incidents_to)."""

    rule_id: str
    incidents_from: date
    incidents_to: date | None
    death_wage_multiple: int
    """Death from a work accident: this many monthly wages (60% × 80 = 48)."""
    total_disability_wage_multiple: int
    """Total permanent disability (70% × 80 = 56)."""
    partial_disability_wage_multiple: int
    """Partial disability: the table percentage of this many monthly wages (80)."""
    funeral: int
    periodic: int
    """For death or total permanent disability, paid at once."""
    incapacity_steps: tuple[tuple[int | None, int], ...]
    """Temporary incapacity: (months, basis points of the wage) in order; None = until recovered."""
    regulation: str

    def applies_to(self, incident: date) -> bool:
        """Whether an incident on this date falls under the rule."""
        return self.incidents_from <= incident and (self.incidents_to is None or incident < self.incidents_to)


RuleT = TypeVar("RuleT", JkmRule, JkkRule)


def rule_for(rules: Sequence[RuleT], incident: date) -> RuleT | None:
    """The rule in force on the incident date (benefits follow the incident, not the claim)."""
    return next((rule for rule in rules if rule.applies_to(incident)), None)


def jkm_death(rule: JkmRule, *, informal_member_months: int | None = None) -> Benefit:
    """The JKM benefit; `informal_member_months`: whole months since a BPU member joined (None
    for an election officer or a member of long standing)."""
    early = (
        rule.early_informal_months is not None
        and informal_member_months is not None
        and informal_member_months < rule.early_informal_months
    )
    components: tuple[Component, ...]
    if early:
        components = (
            Component(
                "lump_sum",
                rule.early_informal_lump_sum,
                f"member for under {rule.early_informal_months} months",
            ),
            Component(
                "funeral",
                rule.early_informal_funeral,
                f"member for under {rule.early_informal_months} months",
            ),
        )
    else:
        components = (
            Component("lump_sum", rule.lump_sum, "santunan kematian"),
            Component("periodic", rule.periodic, "santunan berkala, 24 months paid at once"),
            Component("funeral", rule.funeral, "biaya pemakaman"),
        )
    return Benefit("JKM", "death", components, rule.rule_id, rule.regulation)


def jkk_death(rule: JkkRule, jkm: JkmRule, *, monthly_wage: int) -> Benefit:
    """Death from a work accident: a multiple of the monthly wage (for a BPU member the declared
    income), at least the JKM lump sum of the incident date, plus funeral and periodic benefits."""
    by_wage = rule.death_wage_multiple * monthly_wage
    if by_wage >= jkm.lump_sum:
        main = Component("wage_multiple", by_wage, f"{rule.death_wage_multiple} × {rupiah(monthly_wage)}")
    else:
        main = Component(
            "wage_multiple",
            jkm.lump_sum,
            f"{rule.death_wage_multiple} × {rupiah(monthly_wage)} = {rupiah(by_wage)}, "
            f"raised to the JKM lump sum of {jkm.rule_id}",
        )
    components = (
        main,
        Component("funeral", rule.funeral, "biaya pemakaman"),
        Component("periodic", rule.periodic, "santunan berkala, paid at once"),
    )
    return Benefit("JKK", "death", components, rule.rule_id, rule.regulation)


def jkk_total_disability(rule: JkkRule, *, monthly_wage: int) -> Benefit:
    """Total permanent disability: a multiple of the monthly wage plus the periodic benefit."""
    components = (
        Component(
            "wage_multiple",
            rule.total_disability_wage_multiple * monthly_wage,
            f"{rule.total_disability_wage_multiple} × {rupiah(monthly_wage)}",
        ),
        Component("periodic", rule.periodic, "santunan berkala, paid at once"),
    )
    return Benefit("JKK", "permanent_total_disability", components, rule.rule_id, rule.regulation)


def jkk_partial_disability(
    rule: JkkRule, *, monthly_wage: int, table_bp: int, function_lost_bp: int = 10_000
) -> Benefit:
    """Partial disability: the table percentage (× the share of function lost, for a loss of
    function rather than of a limb) of a multiple of the monthly wage."""
    base = rule.partial_disability_wage_multiple * monthly_wage
    amount = percent_of_percent(base, table_bp, function_lost_bp)
    basis = f"{table_bp / 100:g}% × {rule.partial_disability_wage_multiple} × {rupiah(monthly_wage)}"
    if function_lost_bp != 10_000:
        basis += f" × {function_lost_bp / 100:g}% of function lost"
    return Benefit(
        "JKK",
        "partial_disability",
        (Component("wage_multiple", amount, basis),),
        rule.rule_id,
        rule.regulation,
    )


def jkk_temporary_incapacity(rule: JkkRule, *, monthly_wage: int, months: int) -> Benefit:
    """Wages while unable to work for `months` whole months, step by step as the rule pays them."""
    components: list[Component] = []
    left, first = months, 1
    for step_months, rate_bp in rule.incapacity_steps:
        if left <= 0:
            break
        taken = left if step_months is None else min(left, step_months)
        components.append(
            Component(
                "incapacity",
                taken * percent_of(monthly_wage, rate_bp),
                f"months {first}–{first + taken - 1}: {rate_bp / 100:g}% × {rupiah(monthly_wage)}",
            )
        )
        left -= taken
        first += taken
    return Benefit("JKK", "temporary_incapacity", tuple(components), rule.rule_id, rule.regulation)


@dataclass(frozen=True, slots=True)
class ScholarshipYear:
    """One year of a child's scholarship entitlement."""

    child: int
    """1-based, in the order the heirs named the children."""
    school_year: int
    """The calendar year the school year starts in."""
    level: str
    amount: int


def scholarship_schedule(
    rule: JkmRule,
    *,
    children: Sequence[tuple[str, int]],
    first_school_year: int,
    contribution_years: int | None,
) -> list[ScholarshipYear]:
    """The yearly entitlement of the children (each: current level, years already done at that
    level), at most `scholarship_children` of them; none under the minimum contribution years
    (`contribution_years` None: no minimum applies, as for JKK). An entitlement, claimed year by
    year, not a lump sum."""
    if contribution_years is not None and contribution_years < rule.scholarship_min_contribution_years:
        return []
    levels = [level.level for level in rule.scholarship_levels]
    schedule: list[ScholarshipYear] = []
    for number, (level_now, years_done) in enumerate(children[: rule.scholarship_children], start=1):
        year = first_school_year
        for index in range(levels.index(level_now), len(levels)):
            level = rule.scholarship_levels[index]
            already = years_done if level.level == level_now else 0
            for _ in range(max(0, level.max_years - already)):
                schedule.append(ScholarshipYear(number, year, level.level, level.yearly))
                year += 1
    return schedule
