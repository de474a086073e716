"""The benefit rules as the ledger knows them: `rule.defined` payloads (plain data) of the kinds
`jkm_benefit`, `jkk_benefit`, `claim_deadline`, `service_time`, `public_holidays` and
`claim_reading`, turned into rules, and back."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from coverage_ledger.domain.benefits import MONTHS_PAID, JkkRule, JkmRule, ScholarshipLevel
from coverage_ledger.domain.service_time import working_days_after

DUE_DATE_KINDS = frozenset({"service_time", "public_holidays"})
"""The rule kinds a claim's due date depends on: a change to one moves due dates."""


ANY_SOURCE = "any"
"""A ledger without a `claim_reading` rule (written before 0.10.0): every source covering the
incident date counts, whatever its programs."""
PROGRAM_SOURCES = "covering_the_program"
"""Only the sources covering the claim's own program count: a JKK-only officer term leaves a BPU
member's JKM claim under the member's rules."""
MEMBERSHIP_SOURCES = (ANY_SOURCE, PROGRAM_SOURCES)


@dataclass(frozen=True, slots=True)
class ClaimDeadline:
    """How long after the incident a claim may be filed (None: no limit), for incidents from a day
    on (None: any incident; a later rule of the program takes the incidents from its day)."""

    rule_id: str
    program: str
    years: int | None
    regulation: str
    incidents_from: date | None = None


@dataclass(frozen=True, slots=True)
class ServiceTime:
    """Working days to pay a complete claim, and the penalty per day late."""

    rule_id: str
    program: str
    working_days: int
    penalty_bp_per_day: int
    regulation: str


@dataclass(frozen=True, slots=True)
class BenefitTable:
    """The benefit rules in force at some known time."""

    jkm: tuple[JkmRule, ...] = ()
    jkk: tuple[JkkRule, ...] = ()
    deadlines: dict[str, tuple[ClaimDeadline, ...]] = field(default_factory=dict)
    """Per program, by the day their incidents start."""
    service: dict[str, ServiceTime] = field(default_factory=dict)
    days_off: frozenset[date] = frozenset()
    """Public holidays: not working days."""
    holiday_years: frozenset[int] = frozenset()
    """Years with a `public_holidays` rule: in other years only weekends are known days off."""
    membership_sources: str = ANY_SOURCE
    """Which sources of cover on the incident date give a claim's membership facts (a BPU
    member's early death, the declared income as JKK wage): `claim_reading`'s parameter."""

    def deadline_for(self, program: str, incident_on: date) -> ClaimDeadline | None:
        """The filing deadline of `program` for an incident on that day (None: none known)."""
        return next(
            (
                rule
                for rule in reversed(self.deadlines.get(program, ()))
                if rule.incidents_from is None or rule.incidents_from <= incident_on
            ),
            None,
        )

    def knows_holidays(self, first: date, last: date) -> bool:
        """Whether the table has the public holidays of every year from `first` to `last`."""
        return all(year in self.holiday_years for year in range(first.year, last.year + 1))

    def due_on(self, program: str, complete_on: date) -> date | None:
        """The last day of `program`'s service time for a claim complete on `complete_on` (None
        when the table has no service time for it)."""
        service = self.service.get(program)
        if service is None:
            return None
        return working_days_after(complete_on, service.working_days, self.days_off)


def _day(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else None


def jkm_rule_from(rule_id: str, p: Mapping[str, Any], regulation: str) -> JkmRule:
    """A `jkm_benefit` definition."""
    start = _day(p["incidents_from"])
    assert start is not None
    return JkmRule(
        rule_id=rule_id,
        incidents_from=start,
        incidents_to=_day(p.get("incidents_to")),
        lump_sum=int(p["lump_sum"]),
        periodic=int(p["periodic"]),
        funeral=int(p["funeral"]),
        regulation=regulation,
        early_informal_months=p.get("early_informal_months"),
        early_informal_lump_sum=int(p.get("early_informal_lump_sum") or 0),
        early_informal_funeral=int(p.get("early_informal_funeral") or 0),
        early_informal_counts=str(p.get("early_informal_counts") or MONTHS_PAID),
        scholarship_children=int(p.get("scholarship_children") or 0),
        scholarship_min_contribution_years=int(p.get("scholarship_min_contribution_years") or 0),
        scholarship_levels=tuple(
            ScholarshipLevel(str(level["level"]), int(level["yearly"]), int(level["max_years"]))
            for level in p.get("scholarship_levels") or ()
        ),
    )


def jkm_parameters(rule: JkmRule) -> dict[str, Any]:
    """The stored parameters of a `jkm_benefit` rule."""
    return {
        "incidents_from": rule.incidents_from.isoformat(),
        "incidents_to": rule.incidents_to.isoformat() if rule.incidents_to else None,
        "lump_sum": rule.lump_sum,
        "periodic": rule.periodic,
        "funeral": rule.funeral,
        "early_informal_months": rule.early_informal_months,
        "early_informal_lump_sum": rule.early_informal_lump_sum,
        "early_informal_funeral": rule.early_informal_funeral,
        "early_informal_counts": rule.early_informal_counts,
        "scholarship_children": rule.scholarship_children,
        "scholarship_min_contribution_years": rule.scholarship_min_contribution_years,
        "scholarship_levels": [
            {"level": level.level, "yearly": level.yearly, "max_years": level.max_years}
            for level in rule.scholarship_levels
        ],
    }


def jkk_rule_from(rule_id: str, p: Mapping[str, Any], regulation: str) -> JkkRule:
    """A `jkk_benefit` definition."""
    start = _day(p["incidents_from"])
    assert start is not None
    return JkkRule(
        rule_id=rule_id,
        incidents_from=start,
        incidents_to=_day(p.get("incidents_to")),
        death_wage_multiple=int(p["death_wage_multiple"]),
        total_disability_wage_multiple=int(p["total_disability_wage_multiple"]),
        partial_disability_wage_multiple=int(p["partial_disability_wage_multiple"]),
        funeral=int(p["funeral"]),
        periodic=int(p["periodic"]),
        incapacity_steps=tuple((step["months"], int(step["rate_bp"])) for step in p["incapacity_steps"]),
        regulation=regulation,
    )


def jkk_parameters(rule: JkkRule) -> dict[str, Any]:
    """The stored parameters of a `jkk_benefit` rule."""
    return {
        "incidents_from": rule.incidents_from.isoformat(),
        "incidents_to": rule.incidents_to.isoformat() if rule.incidents_to else None,
        "death_wage_multiple": rule.death_wage_multiple,
        "total_disability_wage_multiple": rule.total_disability_wage_multiple,
        "partial_disability_wage_multiple": rule.partial_disability_wage_multiple,
        "funeral": rule.funeral,
        "periodic": rule.periodic,
        "incapacity_steps": [{"months": months, "rate_bp": rate} for months, rate in rule.incapacity_steps],
    }


def benefit_table(definitions: Iterable[Mapping[str, Any]]) -> BenefitTable:
    """The benefit rules among in-force `rule.defined` payloads (other kinds are skipped)."""
    jkm: list[JkmRule] = []
    jkk: list[JkkRule] = []
    deadlines: dict[str, list[ClaimDeadline]] = {}
    service: dict[str, ServiceTime] = {}
    days_off: set[date] = set()
    holiday_years: set[int] = set()
    membership_sources = ANY_SOURCE
    for d in definitions:
        p = d["parameters"]
        if d["kind"] == "jkm_benefit":
            jkm.append(jkm_rule_from(d["rule_id"], p, d["regulation"]))
        elif d["kind"] == "jkk_benefit":
            jkk.append(jkk_rule_from(d["rule_id"], p, d["regulation"]))
        elif d["kind"] == "claim_deadline":
            start = p.get("incidents_from")
            deadlines.setdefault(p["program"], []).append(
                ClaimDeadline(
                    d["rule_id"],
                    p["program"],
                    p.get("years"),
                    d["regulation"],
                    date.fromisoformat(start) if start is not None else None,
                )
            )
        elif d["kind"] == "service_time":
            service[p["program"]] = ServiceTime(
                d["rule_id"],
                p["program"],
                int(p["working_days"]),
                int(p["penalty_bp_per_day"]),
                d["regulation"],
            )
        elif d["kind"] == "public_holidays":
            days_off |= holidays_from(p)
            holiday_years.add(int(p["year"]))
        elif d["kind"] == "claim_reading":
            membership_sources = str(p["membership_sources"])
    return BenefitTable(
        tuple(sorted(jkm, key=lambda r: r.incidents_from)),
        tuple(sorted(jkk, key=lambda r: r.incidents_from)),
        {
            program: tuple(sorted(rules, key=lambda r: (r.incidents_from or date.min, r.rule_id)))
            for program, rules in deadlines.items()
        },
        service,
        frozenset(days_off),
        frozenset(holiday_years),
        membership_sources,
    )


def holidays_from(p: Mapping[str, Any]) -> set[date]:
    """The days off of a `public_holidays` definition: its `public` days. Each day listed must
    lie in the year it names. Cuti bersama (`joint_leave`) are listed but stay working days:
    they are leave for civil servants, and BPJS Ketenagakerjaan is not ASN; a year's rule is
    corrected with such a day as `public` where the offices did close."""
    year = int(p["year"])
    days = {date.fromisoformat(str(day["date"])): day.get("category") for day in p["days"]}
    stray = sorted(d.isoformat() for d in days if d.year != year)
    if stray:
        raise ValueError(f"days outside {year}: {', '.join(stray)}")
    return {d for d, category in days.items() if category != JOINT_LEAVE}


JOINT_LEAVE = "joint_leave"
HOLIDAY_CATEGORIES = frozenset({"public", JOINT_LEAVE})
"""What a listed day is: a public holiday (a day off), or cuti bersama (a working day here)."""
