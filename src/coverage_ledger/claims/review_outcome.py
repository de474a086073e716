"""A reviewed claim put together from its parts (no I/O): the judgements of the person's cover
as known then, now and at the claim's anchor, the due date under the service time, the lateness
over the payments and the flags a person must look at (`review` gathers the parts)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from coverage_ledger.claims.repository import ClaimEvent
from coverage_ledger.domain.benefit_table import BenefitTable
from coverage_ledger.domain.claim_benefit import Assessment, Filing
from coverage_ledger.domain.claims import (
    ClaimState,
    Decision,
    Eligibility,
    review_flags,
    settled_on,
)
from coverage_ledger.domain.coverage import CoverageAnswer
from coverage_ledger.domain.service_time import Lateness, lateness_over_payments


@dataclass(frozen=True, slots=True)
class Judgement:
    """The person's cover on the incident date as known at one tx, and what it makes of the claim."""

    tx_seq: int
    coverage: CoverageAnswer | None
    """None: the person was not registered as known then."""
    region_code: str | None
    eligibility: Eligibility
    assessment: Assessment
    cover_made_on: date | None = None
    """The day the cover of the claim's program was made (`domain.claims.cover_made_on`), from
    the whole answer whoever reads."""


@dataclass(frozen=True, slots=True)
class ClaimReview:
    """One claim as known at a tx."""

    filing: Filing
    filed: ClaimEvent
    events: tuple[ClaimEvent, ...]
    state: ClaimState
    then: Judgement
    """As known when decided (at the decision's tx), or at the asked tx while undecided."""
    now: Judgement
    """As known at the asked tx."""
    anchor: Judgement
    """As known when the claim's own events last fixed it: at its decision, else at its filing.
    The projections (lists, payouts) use this one, so a later change to the person's cover does
    not move a claim between regions or amounts behind the office's back."""
    anchor_due_on: date | None
    """The due date under the service time and holidays known at the tx, if the claim is owed
    as known at the anchor (None otherwise)."""
    due_on: date | None
    settled_on: date | None
    lateness: Lateness | None
    flags: tuple[str, ...]

    @property
    def region_code(self) -> str:
        """The region the claim counts for: the person's on the incident date as known at the anchor."""
        return self.anchor.region_code or self.now.region_code or ""

    @property
    def payable_amount(self) -> int:
        """The approved amount once approved; else what the rules give as known now."""
        return self._payable(self.now)

    @property
    def anchored_amount(self) -> int:
        """The approved amount once approved; else what the rules gave as known at the filing."""
        return self._payable(self.anchor)

    @property
    def shown(self) -> Judgement:
        """The judgement the claim is shown by (`shown_judgement`)."""
        return shown_judgement(self.state.decision, self.then, self.now)

    def _payable(self, undecided: Judgement) -> int:
        decision = self.state.decision
        if decision is not None and decision.approved and decision.amount is not None:
            return decision.amount
        if decision is not None:  # rejected: nothing is payable, whatever the rules would give
            return 0
        return undecided.assessment.amount if undecided.eligibility.payable else 0


def shown_judgement(decision: Decision | None, then: Judgement, now: Judgement) -> Judgement:
    """The judgement a claim is shown by: as it stood when approved, else as known now."""
    return then if decision is not None and decision.approved else now


def service_starts_on(filing: Filing, anchor: Judgement) -> date:
    """The day the service time counts from: the claim's completion, or the day the cover it rests
    on was made when that came later (arrears the heirs paid after the claim was complete, as in
    the Sidoarjo case of facts.md): until then the claim could not be approved, so no day of the
    service time, and no penalty, runs."""
    if anchor.cover_made_on is None:
        return filing.complete_on
    return max(filing.complete_on, anchor.cover_made_on)


def owed(state: ClaimState, anchor: Judgement) -> bool:
    """Whether the claim is owed money, so that it has a due date and can be late: once approved
    for more than nothing, or while undecided if the rules make it payable as known at `anchor`
    (a claim with nothing payable earns no penalty, though the office must still decide it; one
    approved for Rp0, say on a declared income of 0, can never be paid and is never overdue)."""
    decision = state.decision
    if decision is not None:
        amount = decision.amount if decision.amount is not None else anchor.assessment.amount
        return decision.approved and amount > 0
    return anchor.eligibility.payable


def assembled_review(
    filing: Filing,
    filed: ClaimEvent,
    events: Sequence[ClaimEvent],
    state: ClaimState,
    judgements: tuple[Judgement, Judgement, Judgement],
    service_time: tuple[date, date | None],
    table: BenefitTable,
    today: date,
) -> ClaimReview:
    """The review of a claim from its judgements, its service time's first and last days, the
    benefit table and the day its lateness is counted to."""
    then, now, anchor = judgements
    service_starts_on, anchor_due_on = service_time
    service = table.service.get(filing.program)
    decision = state.decision
    # the penalty's base follows the claim as its own events fixed it, as the lists do
    amount = (
        decision.amount if decision is not None and decision.amount is not None else anchor.assessment.amount
    )
    settled = settled_on(
        state.payments, {r.payment_event_id for r in state.reversals}, decision.amount if decision else None
    )
    late: Lateness | None = None
    # owed (a due date given) as the lists and payouts have it: by the claim's own events (an
    # undecided claim as known at its filing), not by a later change to the person's cover; but
    # an undecided claim whose cover was corrected away since can no longer be approved, so no
    # office is late with it (a claims probe found a Rp425 million penalty on one): the read
    # gives it no due date, and the overdue list, which the read decides, leaves it out
    still_owed = decision is not None or now.eligibility.payable
    if service is not None and anchor_due_on is not None and still_owed:
        late = lateness_over_payments(
            due=anchor_due_on,
            payments=state.money_moves,
            amount=decision.amount if decision is not None and decision.approved else None,
            today=today,
            benefit=amount,
            penalty_bp_per_day=service.penalty_bp_per_day,
        )
    flags = review_flags(
        state=state,
        eligibility_then=then.eligibility,
        eligibility_now=now.eligibility,
        amount_now=now.assessment.amount,
        # overdue: unpaid on the day, past the due date of the stretch it is unpaid in
        overdue=late is not None and late.unpaid and today > late.due_on,
        late=late is not None and settled is not None and late.late,
        # the working days counted: from the service time's first day to its last
        holidays_unknown=late is not None
        and anchor_due_on is not None
        and not table.knows_holidays(service_starts_on, anchor_due_on),
        scholarships_not_in_rules=shown_judgement(decision, then, now).assessment.scholarships_not_in_rules,
    )
    return ClaimReview(
        filing,
        filed,
        tuple(events),
        state,
        then,
        now,
        anchor,
        anchor_due_on,
        # a stretch a reversal reopened is due from its own day while it lasts; paid again, the
        # claim is due when the service time said (the lateness still counts every stretch)
        (late.due_on if late.unpaid else anchor_due_on) if late is not None else None,
        settled,
        late,
        flags,
    )
