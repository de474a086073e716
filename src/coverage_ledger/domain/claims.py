"""A claim's life as events: filed, approved or rejected, paid (in parts if need be), a payment
reversed. Its state as known at a tx follows from its events in force then, in tx order; whether
it is payable follows from the claimant's coverage on the incident date as known when decided."""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from coverage_ledger.domain.benefit_table import ClaimDeadline
from coverage_ledger.domain.coverage import CoverageAnswer, CoverageStatus, human_date
from coverage_ledger.domain.service_time import reopened_on


class ClaimStatus(StrEnum):
    """Where a claim stands."""

    FILED = "filed"
    APPROVED = "approved"
    REJECTED = "rejected"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    REVERSED = "reversed"
    """Paid, then every payment reversed."""


STILL_OPEN = (ClaimStatus.FILED, ClaimStatus.APPROVED, ClaimStatus.PARTIALLY_PAID)
"""Statuses of a claim still waiting for (the rest of) its money: the ones that can be overdue."""


@dataclass(frozen=True, slots=True)
class Decision:
    """A `claim.approved` or `claim.rejected` in force."""

    event_id: str
    approved: bool
    decided_on: date
    tx_seq: int
    """The tx that recorded it: eligibility is judged on what the ledger knew then."""
    amount: int | None
    """Rupiah approved (None for a rejection)."""
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ClaimPayment:
    """A `claim.paid` in force: one payment, possibly a part of the approved amount."""

    event_id: str
    amount: int
    paid_on: date


@dataclass(frozen=True, slots=True)
class PaymentReversal:
    """A `claim.reversed` in force: a payment taken back."""

    event_id: str
    payment_event_id: str
    reversed_on: date
    reason: str


@dataclass(frozen=True, slots=True)
class ClaimState:
    """The claim as known at some tx."""

    status: ClaimStatus
    decision: Decision | None
    paid: int
    """Rupiah paid and not reversed."""
    reversed: int
    """Rupiah paid and then reversed."""
    payments: tuple[ClaimPayment, ...]
    reversals: tuple[PaymentReversal, ...]

    @property
    def owed_again_on(self) -> date | None:
        """For a claim whose payments were all reversed: the day the last was taken back, from
        which the approved amount is owed (and can be overdue) again."""
        if self.status is not ClaimStatus.REVERSED or not self.reversals:
            return None
        return max(r.reversed_on for r in self.reversals)

    @property
    def money_moves(self) -> list[tuple[date, int]]:
        """Each payment (+its amount, on its day) and each reversal (-the amount it took back)."""
        paid = {p.event_id: p for p in self.payments}
        return [(p.paid_on, p.amount) for p in self.payments] + [
            (r.reversed_on, -paid[r.payment_event_id].amount)
            for r in self.reversals
            if r.payment_event_id in paid
        ]

    @property
    def reopened_on(self) -> date | None:
        """The day a reversal made the approved amount, once paid in full, owed again while it
        still is (a full reversal, or a partial one); None otherwise."""
        approved = self.decision is not None and self.decision.approved
        return reopened_on(self.money_moves, self.decision.amount if approved and self.decision else None)

    @property
    def outstanding(self) -> int:
        """Rupiah approved and not (or no longer) paid."""
        if self.decision is None or not self.decision.approved or self.decision.amount is None:
            return 0
        return max(0, self.decision.amount - self.paid)


def claim_state(
    *,
    decisions: Sequence[Decision],
    payments: Sequence[ClaimPayment],
    reversals: Sequence[PaymentReversal],
) -> ClaimState:
    """The state from the claim's events in force, each list in tx order: the latest decision
    is the one in force (an earlier one is superseded by a correction or a later decision)."""
    decision = decisions[-1] if decisions else None
    reversed_ids = {r.payment_event_id for r in reversals}
    kept = [p for p in payments if p.event_id not in reversed_ids]
    paid = sum(p.amount for p in kept)
    taken_back = sum(p.amount for p in payments if p.event_id in reversed_ids)
    if decision is None:
        status = ClaimStatus.FILED
    elif not decision.approved:
        status = ClaimStatus.REJECTED
    elif payments and not kept:
        status = ClaimStatus.REVERSED
    elif not kept:
        status = ClaimStatus.APPROVED
    elif decision.amount is not None and paid < decision.amount:
        status = ClaimStatus.PARTIALLY_PAID
    else:
        status = ClaimStatus.PAID
    return ClaimState(status, decision, paid, taken_back, tuple(payments), tuple(reversals))


@dataclass(frozen=True, slots=True)
class Eligibility:
    """Whether a claim may be paid, why, and what needs a person's review."""

    payable: bool
    reason: str
    flags: tuple[str, ...] = ()


COVER_RECORDED_AFTER_INCIDENT = "cover_recorded_after_incident"
"""The cover rests on a payment or registration recorded after the incident: payable under the
default rule (the Sidoarjo case of facts.md), flagged for review."""
FILED_AFTER_DEADLINE = "filed_after_deadline"


def eligibility(
    *,
    program: str,
    incident_on: date,
    filed_on: date,
    coverage: CoverageAnswer,
    evidence_recorded_on: dict[str, date],
    deadline: ClaimDeadline | None,
    explained_by: CoverageAnswer | None = None,
    by_program_sources: bool = True,
) -> Eligibility:
    """Payable when the person was covered for the program on the incident date (as the
    `coverage` answer knew it) and the claim was filed in time. `evidence_recorded_on`: the day
    each event the answer rests on was recorded. `explained_by`: the answer as the reader may see
    it (`as_seen_within`); the verdict and flags stay `coverage`'s, the reason names only its
    sources and events and counts the others. `by_program_sources` (the `claim_reading` rule):
    flagged only when every source covering the program rests on a late event, and a refusal
    says which programs the cover was for; False, a ledger's reading before that rule: flagged
    when any event of the answer was recorded late."""
    shown = explained_by or coverage
    if deadline is not None and deadline.years is not None:
        last_day = _years_after(incident_on, deadline.years)
        if filed_on > last_day:
            return Eligibility(
                False,
                f"filed {human_date(filed_on)}, after the {deadline.years}-year limit of "
                f"{deadline.regulation} (last day {human_date(last_day)})",
                (FILED_AFTER_DEADLINE,),
            )
    if not coverage.covered or program not in coverage.programs:
        # (said under the `claim_reading` rule only: a reason read at an earlier tx keeps its bytes)
        other = (
            f" (the cover then was for {', '.join(shown.programs)} only)"
            if shown.covered and by_program_sources
            else ""
        )
        day = human_date(incident_on)
        return Eligibility(
            False, f"not covered for {program} on the incident date {day}{other}: {shown.reason}"
        )

    def recorded_late(evidence: Sequence[str]) -> list[str]:
        return [e for e in evidence if evidence_recorded_on.get(e, incident_on) > incident_on]

    if by_program_sources:
        # flagged only when every source covering the program rests on an event recorded after
        # the incident: a term made in time covers the claim whatever the heirs paid later
        per_source = [recorded_late(e) for e in _evidence_per_covering_source(program, coverage)]
        late = [] if not all(per_source) else sorted({e for found in per_source for e in found})
    else:
        late = sorted(recorded_late(coverage.evidence))
    if late:
        named = [e for e in late if e in shown.evidence]
        outside = len(late) - len(named)
        listed = ", ".join(named + ([f"{outside} outside this key's region"] if outside else []))
        return Eligibility(
            True,
            f"covered for {program} on {human_date(incident_on)}, by events recorded after it: {listed}",
            (COVER_RECORDED_AFTER_INCIDENT,),
        )
    return Eligibility(True, f"covered for {program} on {human_date(incident_on)}")


def cover_made_on(program: str, coverage: CoverageAnswer, made_on: dict[str, date]) -> date | None:
    """The day the cover of `program` on the incident date was made in the world: the earliest
    among the sources covering it, each on the day of its last event (a BPU membership's on the
    day its month was paid: arrears the heirs paid after the claim was complete, the Sidoarjo
    case). None when nothing covers it. `coverage` must be the whole answer, not one narrowed to a
    reader's region: the claim's dates are the person's whoever reads."""
    days = [
        max((made_on[e] for e in evidence if e in made_on), default=None)
        for evidence in _evidence_per_covering_source(program, coverage)
    ]
    known = [d for d in days if d is not None]
    return min(known) if known else None


def _evidence_per_covering_source(program: str, coverage: CoverageAnswer) -> list[list[str]]:
    """For each source covering `program` in the answer, the events its cover rests on: a term's
    own event, a membership's events of the answer (enrolment, payments, reactivation)."""
    covering = [s for s in coverage.sources if s.status is CoverageStatus.COVERED and program in s.programs]
    terms = {s.event_id for s in coverage.sources if s.kind == "officer"}
    membership = [e for e in coverage.evidence if e not in terms]
    return [[s.event_id] if s.kind == "officer" else membership for s in covering]


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


DECIDED_DIFFERENTLY_NOW = "current_knowledge_decides_differently"
"""The decision stands, but the coverage the ledger knows now would decide the other way (a
retroactive enrolment or a retraction since)."""
AMOUNT_DIFFERS_NOW = "current_rules_give_another_amount"
PAID_LATE = "paid_late"
PAID_MORE_THAN_APPROVED = "paid_more_than_approved"
OVERDUE = "overdue"
SCHOLARSHIPS_NOT_IN_RULES = "scholarship_not_in_the_rule_table"
"""Children are named, but the rule of the incident date lists no scholarship (PP 44/2015's
Rp12 million for one child is not in the table): an office reckons it by hand."""
HOLIDAYS_UNKNOWN = "holidays_not_in_the_rule_table"
"""The service time runs into a year without a `public_holidays` rule: its due date skips only
weekends there, and may be too early."""


def settled_on(
    payments: Sequence[ClaimPayment], reversed_ids: Collection[str], amount: int | None
) -> date | None:
    """The day the kept payments first reached the approved amount (None if they have not)."""
    if amount is None:
        return None
    total = 0
    for payment in sorted(payments, key=lambda p: p.paid_on):
        if payment.event_id in reversed_ids:
            continue
        total += payment.amount
        if total >= amount:
            return payment.paid_on
    return None


def review_flags(
    *,
    state: ClaimState,
    eligibility_then: Eligibility,
    eligibility_now: Eligibility,
    amount_now: int,
    overdue: bool,
    late: bool,
    holidays_unknown: bool = False,
    scholarships_not_in_rules: bool = False,
) -> tuple[str, ...]:
    """What a clerk or an auditor should look at, in a stable order."""
    flags = list(eligibility_then.flags)
    decision = state.decision
    if decision is not None:
        if decision.approved:
            decided_differently = not eligibility_now.payable
        else:  # a rejection for want of cover, which the ledger now knows
            decided_differently = not eligibility_then.payable and eligibility_now.payable
        if decided_differently:
            flags.append(DECIDED_DIFFERENTLY_NOW)
        if decision.approved and decision.amount is not None and amount_now != decision.amount:
            flags.append(AMOUNT_DIFFERS_NOW)
        if decision.approved and decision.amount is not None and state.paid > decision.amount:
            # the append path refuses it; a ledger taken back to a release that read the approval
            # for more (0.9.0 beside the claim_reading rule) could pay it: it must be found
            flags.append(PAID_MORE_THAN_APPROVED)
    if late:
        flags.append(PAID_LATE)
    if overdue:
        flags.append(OVERDUE)
    if holidays_unknown:
        flags.append(HOLIDAYS_UNKNOWN)
    if scholarships_not_in_rules:
        flags.append(SCHOLARSHIPS_NOT_IN_RULES)
    return tuple(dict.fromkeys(flags))


DEATH_BENEFITS = frozenset({"JKM", "JKK_DEATH"})
"""A death is paid once: as JKK when it came from work, else as JKM (facts.md: "died on duty …
JKK ~48x wage; died before duty: JKM 42jt")."""


@dataclass(frozen=True, slots=True)
class ClaimOfPerson:
    """A claim of the insured person that is not rejected, as the one-death rule sees it."""

    claim_id: str
    benefit: str
    incident_date: date


def death_clash(claim: ClaimOfPerson, others: Sequence[ClaimOfPerson]) -> tuple[str, ClaimOfPerson] | None:
    """Why `claim` cannot stand beside the person's other live claims, with the claim it clashes
    with: a second death benefit, or an incident after the death."""
    for other in others:
        if other.claim_id == claim.claim_id:
            continue
        if claim.benefit in DEATH_BENEFITS and other.benefit in DEATH_BENEFITS:
            return "death_already_claimed", other
        death, later = (other, claim) if other.benefit in DEATH_BENEFITS else (claim, other)
        if death.benefit in DEATH_BENEFITS and later.incident_date > death.incident_date:
            return "incident_after_death", other
    return None


def listed_due_date(*, due_on: date | None, reversed_on: date | None, day: date) -> date | None:
    """The due date a claim list gives on `day`: the projected one, or a reversal's day if later."""
    # for a claim no reversal reopened, or one a reversal keeps reopened, this is what the claim
    # read says; a claim paid again since keeps no reversal day in its projected row, so on a day
    # of its reopened stretch this gives the service time's day where the read gives the
    # reversal's (README says so)
    if due_on is not None and reversed_on is not None and reversed_on <= day:
        return max(due_on, reversed_on)
    return due_on
