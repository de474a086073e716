"""What a filed claim is worth: the benefit it asks for, computed by the rules of the incident
date, with the scholarship entitlement beside it (paid year by year, so not part of the amount)."""

from dataclasses import dataclass
from datetime import date

from coverage_ledger.domain.benefit_table import BenefitTable
from coverage_ledger.domain.benefits import (
    MONTHS_PAID_BY_INCIDENT,
    Benefit,
    Component,
    JkmRule,
    ScholarshipYear,
    jkk_death,
    jkk_partial_disability,
    jkk_temporary_incapacity,
    jkk_total_disability,
    jkm_death,
    rule_for,
    scholarship_schedule,
)

BENEFIT_KINDS = ("JKM", "JKK_DEATH", "JKK_PERMANENT_TOTAL", "JKK_PARTIAL", "JKK_TEMPORARY", "JKK_MEDICAL")
"""The benefits a claim may ask for (DESIGN.md, `claim.filed`)."""
SCHOOL_LEVELS = ("TK", "SD", "SMP", "SMA", "PT")
SCHOLARSHIP_BENEFITS = frozenset({"JKM", "JKK_DEATH", "JKK_PERMANENT_TOTAL"})
"""JKM scholarships need the rule's minimum contribution years; JKK ones (death or total
permanent disability) do not (facts.md, Permenaker 5/2021)."""


def program_of(benefit: str) -> str:
    """`JKM` or `JKK`: the program whose cover the claim needs on the incident date."""
    return "JKM" if benefit == "JKM" else "JKK"


@dataclass(frozen=True, slots=True)
class Filing:
    """A `claim.filed` as the domain sees it."""

    claim_id: str
    nik: str
    benefit: str
    incident_date: date
    filed_on: date
    complete_on: date
    wage: int | None = None
    disability_bp: int | None = None
    """Table percentage in basis points."""
    function_lost_bp: int | None = None
    incapacity_months: int | None = None
    medical_cost: int | None = None
    children: tuple[tuple[str, int], ...] = ()
    """(current school level, years done at that level) per child."""

    @property
    def program(self) -> str:
        """The program whose cover the claim needs."""
        return program_of(self.benefit)


@dataclass(frozen=True, slots=True)
class Membership:
    """What the claim's amount needs from the person's cover on the incident date."""

    declared_income: int | None = None
    """Of the BPU membership covering the incident date."""
    wage_is_declared_income: bool = False
    """Only the BPU membership covered the incident: the JKK wage base is its declared income
    (DESIGN.md), whatever wage the claim gives."""
    informal_months: int | None = None
    """Whole months of BPU cover before the incident when only BPU covered it (None otherwise),
    as many as months paid (whenever paid) allow."""
    informal_months_paid_by_incident: int | None = None
    """The same, counting only the months paid by the incident day."""
    contribution_years: int = 0
    """Whole years of contributions paid, for the JKM scholarship minimum."""


@dataclass(frozen=True, slots=True)
class Assessment:
    """The benefit a claim is worth, or why it cannot be computed."""

    benefit: Benefit | None
    scholarships: tuple[ScholarshipYear, ...] = ()
    problem: str | None = None
    """Why there is no amount (no rule for the date, no wage)."""
    problem_field: str = "wage"
    """The claim field the problem lies in."""
    scholarships_not_in_rules: bool = False
    """The claim names children but the rule of its date lists no scholarship (PP 44/2015 gave
    Rp12 million for one child, which the rule table does not hold): none is shown."""

    @property
    def amount(self) -> int:
        """Rupiah payable now (0 when it cannot be computed)."""
        return self.benefit.total if self.benefit is not None else 0


def school_year_of(day: date) -> int:
    """The calendar year the school year in progress on `day` started in (July)."""
    return day.year if day.month >= 7 else day.year - 1


def assess(filing: Filing, table: BenefitTable, membership: Membership) -> Assessment:
    """The benefit of the filing under the rules in force on its incident date."""
    incident = filing.incident_date
    jkm = rule_for(table.jkm, incident)
    if jkm is None:
        return Assessment(
            None,
            problem=f"no JKM rule covers incidents on {incident.isoformat()}",
            problem_field="incident_date",
        )
    if filing.benefit == "JKM":
        months = (
            membership.informal_months_paid_by_incident
            if jkm.early_informal_counts == MONTHS_PAID_BY_INCIDENT
            else membership.informal_months
        )
        benefit = jkm_death(jkm, informal_member_months=months)
        schedule = scholarship_schedule(
            jkm,
            children=filing.children,
            first_school_year=school_year_of(incident),
            contribution_years=membership.contribution_years,
        )
        return Assessment(benefit, tuple(schedule), scholarships_not_in_rules=_unlisted(filing, jkm))
    jkk = rule_for(table.jkk, incident)
    if jkk is None:
        return Assessment(
            None,
            problem=f"no JKK rule covers incidents on {incident.isoformat()}",
            problem_field="incident_date",
        )
    if filing.benefit == "JKK_MEDICAL":
        cost = filing.medical_cost or 0
        component = Component("medical", cost, "care as medically needed, as billed")
        return Assessment(Benefit("JKK", "medical", (component,), jkk.rule_id, jkk.regulation))
    wage = filing.wage if filing.wage is not None else membership.declared_income
    if membership.wage_is_declared_income:
        wage = membership.declared_income
    if wage is None:
        return Assessment(None, problem="a JKK benefit needs the monthly wage: give `wage` in the claim")
    if filing.benefit == "JKK_DEATH":
        benefit = jkk_death(jkk, jkm, monthly_wage=wage)
    elif filing.benefit == "JKK_PERMANENT_TOTAL":
        benefit = jkk_total_disability(jkk, monthly_wage=wage)
    elif filing.benefit == "JKK_PARTIAL":
        return Assessment(
            jkk_partial_disability(
                jkk,
                monthly_wage=wage,
                table_bp=filing.disability_bp or 0,
                function_lost_bp=filing.function_lost_bp or 10_000,
            )
        )
    else:
        return Assessment(
            jkk_temporary_incapacity(jkk, monthly_wage=wage, months=filing.incapacity_months or 0)
        )
    schedule = scholarship_schedule(
        jkm, children=filing.children, first_school_year=school_year_of(incident), contribution_years=None
    )
    return Assessment(benefit, tuple(schedule), scholarships_not_in_rules=_unlisted(filing, jkm))


def _unlisted(filing: Filing, jkm: JkmRule) -> bool:
    """Whether the filing names children for whom the rule of its date lists no scholarship."""
    return bool(filing.children) and not (jkm.scholarship_children and jkm.scholarship_levels)
