"""What a BPU (informal worker) contribution must be, under the rule in force for its month.

Rates and reliefs are data (the rule table in the ledger), passed in; nothing here is dated by
code. JKK is a percentage of the declared income with a floor, JKM a flat amount, JHT (optional)
a percentage; a relief takes a share off some programs for some months, for some sectors, unless
the payer's budget is excluded (PP 49/2020, PP 50/2025).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from coverage_ledger.domain.money import BASIS_POINTS, percent_of
from coverage_ledger.domain.months import Month


@dataclass(frozen=True, slots=True)
class BpuRates:
    """Contribution rates of BPU members for a span of months."""

    rule_id: str
    months_from: Month
    months_to: Month | None
    """Inclusive; None while in force."""
    jkk_rate_bp: int
    """JKK as basis points of the declared income (100 = 1%)."""
    jkk_minimum: int
    jkk_maximum: int | None
    jkm_flat: int
    jht_rate_bp: int
    regulation: str
    jht_minimum: int = 0
    """JHT never less than this (the JHT of the lowest declared income, as `jkk_minimum` for JKK)."""

    def applies_to(self, month: Month) -> bool:
        """Whether these rates are in force for the month."""
        return self.months_from <= month and (self.months_to is None or month <= self.months_to)


@dataclass(frozen=True, slots=True)
class Relief:
    """A reduction of contributions for some months (a discount in basis points of what is due)."""

    rule_id: str
    months_from: Month
    months_to: Month
    discount_bp: int
    """9900 = 99% off: 1% is paid."""
    programs: tuple[str, ...]
    sectors: tuple[str, ...] | None
    """None: every sector."""
    excluded_budgets: tuple[str, ...]
    """Payers whose organisation budget is one of these get no relief (PP 50/2025: APBN, APBD)."""
    requires_paid_through: Month | None
    """Members who joined by this month qualify only if it is paid (PP 49/2020: July 2020)."""
    new_member_full_months: int
    """Members who joined after `requires_paid_through` pay this many first months in full."""
    regulation: str

    def covers(self, month: Month, *, sector: str, budget: str | None) -> bool:
        """Whether the relief applies to this month for this sector and payer budget."""
        if not (self.months_from <= month <= self.months_to):
            return False
        if self.sectors is not None and sector not in self.sectors:
            return False
        return budget not in self.excluded_budgets

    def qualifies(self, month: Month, *, joined: Month, paid: frozenset[Month]) -> bool:
        """Membership conditions of the relief (history of the member)."""
        if self.requires_paid_through is None:
            return True
        if joined <= self.requires_paid_through:
            return self.requires_paid_through in paid
        return month.minus(joined) >= self.new_member_full_months


@dataclass(frozen=True, slots=True)
class ProgramDue:
    """One program's contribution for one month."""

    month: Month
    program: str
    base: int
    due: int
    rule_id: str
    relief_id: str | None = None


@dataclass(frozen=True, slots=True)
class ContributionDue:
    """What a payment for some months and programs must amount to, and why."""

    amount: int
    lines: tuple[ProgramDue, ...]

    def explain(self) -> str:
        """`Rp16,800 = 2025-01 JKK 10,000 + 2025-01 JKM 6,800`, for error messages; consecutive
        months of a program owing the same are one part (`2025-01…2025-12 JKK 12 × 10,000`), so
        that a payment for years of months is explained in a line."""
        runs: list[tuple[Month, Month, str, int, int]] = []  # first, last, program, due, months
        open_run: dict[str, int] = {}
        for line in self.lines:
            at = open_run.get(line.program)
            if at is not None:
                first, last, program, due, count = runs[at]
                if due == line.due and line.month == last.plus(1):
                    runs[at] = (first, line.month, program, due, count + 1)
                    continue
            open_run[line.program] = len(runs)
            runs.append((line.month, line.month, line.program, line.due, 1))
        parts = " + ".join(
            f"{first} {program} {due:,}" if count == 1 else f"{first}…{last} {program} {count} × {due:,}"
            for first, last, program, due, count in runs
        )
        return f"Rp{self.amount:,} = {parts}"


class NoRateInForce(ValueError):
    """No contribution rate covers a month."""


def base_contribution(rates: BpuRates, program: str, declared_income: int) -> int:
    """A program's full monthly contribution under `rates`."""
    if program == "JKK":
        amount = max(percent_of(declared_income, rates.jkk_rate_bp), rates.jkk_minimum)
        return min(amount, rates.jkk_maximum) if rates.jkk_maximum is not None else amount
    if program == "JKM":
        return rates.jkm_flat
    if program == "JHT":
        return max(percent_of(declared_income, rates.jht_rate_bp), rates.jht_minimum)
    raise ValueError(f"unknown program {program}")


def contribution_due(
    *,
    months: Iterable[Month],
    programs: Sequence[str],
    declared_income: int,
    sector: str,
    budget: str | None,
    joined: Month,
    paid_before: frozenset[Month],
    rates: Sequence[BpuRates],
    reliefs: Sequence[Relief],
) -> ContributionDue:
    """The amount due for `programs` over `months`, month by month under the rules in force."""
    lines: list[ProgramDue] = []
    paid = set(paid_before)
    for month in sorted(months):
        in_force = [r for r in rates if r.applies_to(month)]
        if not in_force:
            raise NoRateInForce(f"no BPU contribution rate is in force for {month}")
        rate = max(in_force, key=lambda r: r.months_from)
        for program in sorted(programs):
            base = base_contribution(rate, program, declared_income)
            relief = next(
                (
                    r
                    for r in reliefs
                    if program in r.programs
                    and r.covers(month, sector=sector, budget=budget)
                    and r.qualifies(month, joined=joined, paid=frozenset(paid))
                ),
                None,
            )
            # a relief cuts the iuran as billed (rounded, within the rate's minimum and maximum),
            # so its share is taken of that and rounded again: PP 50/2025 halves the iuran
            due = base if relief is None else percent_of(base, BASIS_POINTS - relief.discount_bp)
            lines.append(
                ProgramDue(month, program, base, due, rate.rule_id, relief.rule_id if relief else None)
            )
        paid.add(month)
    return ContributionDue(sum(line.due for line in lines), tuple(lines))
