"""The rule table as the ledger knows it: rule definitions (plain data) turned into rules."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from coverage_ledger.domain.contributions import BpuRates, Relief
from coverage_ledger.domain.months import Month
from coverage_ledger.domain.officer import PRORATIONS, OfficerRate


@dataclass(frozen=True, slots=True)
class RuleTable:
    """Contribution rates, reliefs and the BPU grace length in force at some known time."""

    rates: tuple[BpuRates, ...]
    reliefs: tuple[Relief, ...]
    grace_months: int
    grace_rule_id: str
    officer_rates: tuple[OfficerRate, ...] = ()

    def officer_rate_on(self, day: date) -> OfficerRate | None:
        """The officer rate for a cover starting on `day`, if the table has one."""
        return next((rate for rate in self.officer_rates if rate.applies_on(day)), None)


class RuleTableIncomplete(ValueError):
    """The ledger holds no grace rule or no rates (an unmigrated or tampered ledger)."""


def _month(value: Any) -> Month | None:
    return Month.parse(value) if isinstance(value, str) else None


def rates_from(rule_id: str, p: Mapping[str, Any], regulation: str) -> BpuRates:
    """A `bpu_rates` definition."""
    start = _month(p["months_from"])
    assert start is not None
    return BpuRates(
        rule_id=rule_id,
        months_from=start,
        months_to=_month(p.get("months_to")),
        jkk_rate_bp=int(p["jkk_rate_bp"]),
        jkk_minimum=int(p["jkk_minimum"]),
        jkk_maximum=int(p["jkk_maximum"]) if p.get("jkk_maximum") is not None else None,
        jkm_flat=int(p["jkm_flat"]),
        jht_rate_bp=int(p["jht_rate_bp"]),
        regulation=regulation,
        jht_minimum=int(p.get("jht_minimum") or 0),
    )


def relief_from(rule_id: str, p: Mapping[str, Any], regulation: str) -> Relief:
    """A `relief` definition."""
    start, end = _month(p["months_from"]), _month(p["months_to"])
    assert start is not None and end is not None
    return Relief(
        rule_id=rule_id,
        months_from=start,
        months_to=end,
        discount_bp=int(p["discount_bp"]),
        programs=tuple(p["programs"]),
        sectors=tuple(p["sectors"]) if p.get("sectors") is not None else None,
        excluded_budgets=tuple(p.get("excluded_budgets") or ()),
        requires_paid_through=_month(p.get("requires_paid_through")),
        new_member_full_months=int(p.get("new_member_full_months") or 0),
        regulation=regulation,
    )


def rates_parameters(rates: BpuRates) -> dict[str, Any]:
    """The stored parameters of a `bpu_rates` rule."""
    return {
        "months_from": str(rates.months_from),
        "months_to": str(rates.months_to) if rates.months_to else None,
        "jkk_rate_bp": rates.jkk_rate_bp,
        "jkk_minimum": rates.jkk_minimum,
        "jkk_maximum": rates.jkk_maximum,
        "jkm_flat": rates.jkm_flat,
        "jht_rate_bp": rates.jht_rate_bp,
        "jht_minimum": rates.jht_minimum,
    }


def relief_parameters(relief: Relief) -> dict[str, Any]:
    """The stored parameters of a `relief` rule."""
    return {
        "months_from": str(relief.months_from),
        "months_to": str(relief.months_to),
        "discount_bp": relief.discount_bp,
        "programs": list(relief.programs),
        "sectors": list(relief.sectors) if relief.sectors is not None else None,
        "excluded_budgets": list(relief.excluded_budgets),
        "requires_paid_through": str(relief.requires_paid_through) if relief.requires_paid_through else None,
        "new_member_full_months": relief.new_member_full_months,
    }


def officer_rate_from(
    rule_id: str, p: Mapping[str, Any], regulation: str, *, stored: bool = False
) -> OfficerRate:
    """An `officer_rate` definition; ValueError for a proration the invoices cannot apply, unless
    `stored` (one appended before prorations were checked is read as calendar months, as then)."""
    proration = p.get("proration") or PRORATIONS[0]
    if proration not in PRORATIONS:
        if not stored:
            raise ValueError(f"proration must be one of {', '.join(PRORATIONS)} (got {proration!r})")
        proration = PRORATIONS[0]
    return OfficerRate(
        rule_id=rule_id,
        first_day=date.fromisoformat(p["first_day"]),
        last_day=date.fromisoformat(p["last_day"]) if p.get("last_day") else None,
        monthly_rate=int(p["monthly_rate"]),
        regulation=regulation,
        proration=proration,
    )


def officer_rate_parameters(rate: OfficerRate) -> dict[str, Any]:
    """The stored parameters of an `officer_rate` rule."""
    return {
        "first_day": rate.first_day.isoformat(),
        "last_day": rate.last_day.isoformat() if rate.last_day else None,
        "monthly_rate": rate.monthly_rate,
        "proration": rate.proration,
    }


def rule_table(definitions: Iterable[Mapping[str, Any]]) -> RuleTable:
    """The table from in-force `rule.defined` payloads."""
    rates, reliefs, grace, officer_rates = [], [], None, []
    for d in definitions:
        if d["kind"] == "bpu_rates":
            rates.append(rates_from(d["rule_id"], d["parameters"], d["regulation"]))
        elif d["kind"] == "relief":
            reliefs.append(relief_from(d["rule_id"], d["parameters"], d["regulation"]))
        elif d["kind"] == "grace":
            grace = (int(d["parameters"]["months"]), d["rule_id"])
        elif d["kind"] == "officer_rate":
            officer_rates.append(
                officer_rate_from(d["rule_id"], d["parameters"], d["regulation"], stored=True)
            )
    if grace is None or not rates:
        raise RuleTableIncomplete("the ledger holds no BPU rates or no grace rule")
    return RuleTable(
        tuple(rates),
        tuple(sorted(reliefs, key=lambda r: r.rule_id)),
        grace[0],
        grace[1],
        tuple(sorted(officer_rates, key=lambda r: r.first_day)),
    )
