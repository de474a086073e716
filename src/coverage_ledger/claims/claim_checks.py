"""The checks of a tx's claim events against the claim as the tx leaves it: filed once, decided
once by an office that reads it, its steps in order and on plausible days, paid no more than
approved, reversed only where something was paid (`projection` runs them under the append lock)."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from coverage_ledger.claims.one_death import ONE_DEATH_CODES
from coverage_ledger.claims.repository import ClaimEvent
from coverage_ledger.claims.review_outcome import ClaimReview
from coverage_ledger.domain.access import Principal
from coverage_ledger.domain.money import rupiah
from coverage_ledger.errors import ErrorItem

DECISIONS = ("claim.approved", "claim.rejected")
CONFLICTS = frozenset(
    {
        "claim_id_taken",
        "claim_already_decided",
        "decided_claim_refiled",
        "not_eligible",
        "claim_not_approved",
        "overpaid",
        "nothing_to_reverse",
        *ONE_DEATH_CODES,
    }
)
"""Codes that are a clash with what the ledger holds (409); the others are bad input (422)."""


@dataclass(frozen=True, slots=True)
class ClaimChange:
    """What an append did to claim events."""

    touched: frozenset[str]
    """Claim events entering or leaving force in the tx."""
    entering: frozenset[str]
    paths: Mapping[str, str]
    """Request paths of the batch's events, for error messages."""


def _not_filed(claim_id: str) -> tuple[str, str]:
    """(code, message) for a claim with no filing in force."""
    return "claim_not_filed", f"claim {claim_id!r} has no claim.filed in force"


def outside_region() -> tuple[str, str]:
    """(code, message) for a claim filed in another region: DESIGN.md makes a write outside the
    key's region a 403 and tells nothing of the record (its region, person or state)."""
    return "region_out_of_scope", "the claim lies outside this key's region"


def claim_problems(
    principal: Principal,
    claim_id: str,
    events: Sequence[ClaimEvent],
    review: ClaimReview | None,
    change: ClaimChange,
    recording_day: date,
    region_before: str | None,
) -> list[ErrorItem]:
    """Why the claim, as this tx leaves it, cannot stand. `region_before`: the region the claim
    was read in before this tx (None: it was not in force)."""
    entering = [e for e in events if e.event_id in change.entering]
    anchor = next((e.event_id for e in entering), None)

    def error(code: str, message: str, event_id: str | None = None, field: str = "") -> ErrorItem:
        path = change.paths.get(event_id or anchor or "", "events")
        return ErrorItem(code, message, field=f"{path}{field}")

    filed = [e for e in events if e.type == "claim.filed"]
    if review is None:
        return [error(*_not_filed(claim_id), field=".claim_id")]
    filing_enters = review.filed.event_id in change.entering
    refused = _scope_problems(principal, review, change, region_before, filing_enters, error)
    if refused:
        return refused
    if len(filed) > 1:
        # said alone: the rest would describe the other filing's claim, perhaps another region's
        return [
            error("claim_id_taken", f"claim {claim_id!r} is already filed", filed[-1].event_id, ".claim_id")
        ]
    problems = _date_problems(review, change, recording_day, error)
    if filing_enters:
        problems += _filing_problems(review, error)
    problems += _decision_problems(claim_id, events, review, change, filing_enters, error)
    problems += _payment_problems(claim_id, events, review, error)
    problems.extend(_reversal_problems(review, change, error))
    return problems


def _scope_problems(
    principal: Principal,
    review: ClaimReview,
    change: ClaimChange,
    region_before: str | None,
    filing_enters: bool,
    error: "_ErrorFn",
) -> list[ErrorItem]:
    """Why the key may not write this claim at all (empty when it may)."""
    # a claim in force is the key's to decide where the key reads it: its term corrected into
    # another region since the filing moves it there only with the decision, so judging the key
    # by that region too left the claim to no office (found by a claims probe); a filing that
    # enters force in this tx (sent, or restored by a correction) is judged by its own person's
    # region, so no key moves a claim into another region by bringing back its filing
    region = region_before if region_before is not None and not filing_enters else review.region_code
    if region and not principal.sees(region):
        if review.filed.event_id not in change.paths:
            # (a filing restored by a correction is another region's claim, not this batch's filing)
            return [error(*outside_region(), field=".claim_id")]
        if region_before is not None and principal.sees(region_before):
            # a filing corrected by the office that reads the claim, whose person's cover now lies
            # elsewhere: the person may well be visible (a review found it told otherwise)
            return [
                error(
                    "region_out_of_scope",
                    "the claim filed so would lie outside this key's region (the person's cover on the "
                    "incident date is another region's now): a key of that region or a national key "
                    "may correct it",
                    field=".claim_id",
                )
            ]
        return [error("person_not_registered", "no person with this NIK is visible", field=".nik")]
    return []


def _filing_problems(review: ClaimReview, error: "_ErrorFn") -> list[ErrorItem]:
    """A filing entering force names a visible person and a benefit that can be computed."""
    problems: list[ErrorItem] = []
    if review.now.coverage is None:
        problems.append(
            error(
                "person_not_registered",
                "no person with this NIK is visible",
                review.filed.event_id,
                ".nik",
            )
        )
    elif review.now.assessment.problem is not None:
        problems.append(
            error(
                "benefit_not_computable",
                review.now.assessment.problem,
                review.filed.event_id,
                f".{review.now.assessment.problem_field}",
            )
        )
    return problems


def _decision_problems(
    claim_id: str,
    events: Sequence[ClaimEvent],
    review: ClaimReview,
    change: ClaimChange,
    filing_enters: bool,
    error: "_ErrorFn",
) -> list[ErrorItem]:
    """One decision a claim; a decided claim refiled only with a new decision; an approval only
    of an eligible claim whose benefit can be computed."""
    problems: list[ErrorItem] = []
    decisions = [e for e in events if e.type in DECISIONS]
    if len(decisions) > 1:
        problems.append(
            error(
                "claim_already_decided",
                f"claim {claim_id!r} is already decided; correct the decision to change it",
                decisions[-1].event_id,
            )
        )
    decision = review.state.decision
    if decision is not None and filing_enters and decision.event_id not in change.entering:
        # the decision judged the filing it was made on; another filing under it would change
        # the person, benefit or incident an approval (and its amount) stood for
        problems.append(
            error(
                "decided_claim_refiled",
                f"claim {claim_id!r} is decided: supersede its decision with the filing and decide "
                "again in the same batch (its payments stand only under an approval)",
                review.filed.event_id,
            )
        )
    if decision is not None and decision.approved and decision.event_id in change.entering:
        if not review.then.eligibility.payable:
            problems.append(error("not_eligible", review.then.eligibility.reason, decision.event_id))
        elif review.then.assessment.problem is not None:
            problems.append(
                error("benefit_not_computable", review.then.assessment.problem, decision.event_id)
            )
    return problems


def _payment_problems(
    claim_id: str, events: Sequence[ClaimEvent], review: ClaimReview, error: "_ErrorFn"
) -> list[ErrorItem]:
    """Payments only of an approved claim, and never more than approved."""
    problems: list[ErrorItem] = []
    decision = review.state.decision
    payments = [e for e in events if e.type == "claim.paid"]
    if payments and (decision is None or not decision.approved):
        problems.append(
            error(
                "claim_not_approved",
                f"claim {claim_id!r} is not approved; it cannot be paid",
                payments[-1].event_id,
            )
        )
    elif decision is not None and decision.amount is not None and review.state.paid > decision.amount:
        problems.append(
            error(
                "overpaid",
                f"payments of {rupiah(review.state.paid)} exceed the {rupiah(decision.amount)} approved",
                payments[-1].event_id,
                ".amount",
            )
        )
    return problems


_DAY_FIELDS = {
    "claim.filed": ("incident_date", "filed_on", "complete_on"),
    "claim.approved": ("decided_on",),
    "claim.rejected": ("decided_on",),
    "claim.paid": ("paid_on",),
    "claim.reversed": ("reversed_on",),
}


def _date_problems(
    review: ClaimReview, change: ClaimChange, recording_day: date, error: "_ErrorFn"
) -> list[ErrorItem]:
    """The days an entering claim event states lie neither after the day it is recorded on (a
    death is not claimed before it happens) nor, for a decision or payment, before the incident;
    and the steps keep their order: decided on or after the filing a claim states, paid on or
    after the decision, a payment reversed on or after it was paid."""
    problems: list[ErrorItem] = []
    for e in review.events:
        if e.event_id not in change.entering:
            continue
        for name in _DAY_FIELDS.get(e.type, ()):
            value = e.payload.get(name)
            if value is None:
                continue
            day = date.fromisoformat(value)
            if day > recording_day:
                problems.append(
                    error(
                        "day_in_future",
                        f"{name} {day} is after the day it is recorded on",
                        e.event_id,
                        f".{name}",
                    )
                )
            elif e.type != "claim.filed" and day < review.filing.incident_date:
                problems.append(
                    error(
                        "day_before_incident", f"{name} {day} is before the incident", e.event_id, f".{name}"
                    )
                )
            elif (order := _step_before(review, e, day)) is not None:
                side, step = order
                problems.append(
                    error("day_out_of_order", f"{name} {day} is {side} {step}", e.event_id, f".{name}")
                )
    return problems


def _step_before(review: ClaimReview, event: ClaimEvent, day: date) -> tuple[str, str] | None:
    """("before" or "after", the step of the claim) when `day` of `event` breaks the claim's
    order: a decision after the filing it states and before any payment, a payment after its
    decision, a reversal after the payment it names."""
    stated_filing = review.filed.payload.get("filed_on")
    decision = review.state.decision
    if event.type in DECISIONS and stated_filing and day < date.fromisoformat(stated_filing):
        return "before", f"the claim's filed_on {stated_filing}"
    earliest_payment = min((p.paid_on for p in review.state.payments), default=None)
    if event.type in DECISIONS and earliest_payment is not None and earliest_payment < day:
        return "after", f"the payment of {earliest_payment} it allowed; a decision comes first"
    if event.type == "claim.paid" and decision is not None and day < decision.decided_on:
        return "before", f"the decision of {decision.decided_on}"
    target = event.payload.get("payment_event_id")
    if event.type == "claim.reversed" and target:
        paid_on = next((p.paid_on for p in review.state.payments if p.event_id == target), None)
        if paid_on is not None and day < paid_on:
            return "before", f"the payment of {paid_on}"
    return None


def _reversal_problems(review: ClaimReview, change: ClaimChange, error: "_ErrorFn") -> list[ErrorItem]:
    """A reversal entering now must name a payment of the claim and take one back: the claim's
    state (`claim_state`) already holds which payments each reversal took."""
    paid = {payment.event_id for payment in review.state.payments}
    took = {reversal.event_id for reversal in review.state.reversals}
    problems: list[ErrorItem] = []
    for e in review.events:
        if e.type != "claim.reversed" or e.event_id not in change.entering:
            continue
        target = e.payload.get("payment_event_id")
        if target and target not in paid:
            problems.append(
                error(
                    "unknown_payment",
                    f"no payment {target!r} of this claim is in force",
                    e.event_id,
                    ".payment_event_id",
                )
            )
        elif e.event_id not in took:
            problems.append(error("nothing_to_reverse", _nothing_left(review, e), e.event_id))
    return problems


def _nothing_left(review: ClaimReview, reversal: ClaimEvent) -> str:
    """Why a reversal naming no payment took none back."""
    if not review.state.payments:
        return "this claim has no payment to reverse"
    day = reversal.payload.get("reversed_on")
    if day is not None and all(p.paid_on > date.fromisoformat(day) for p in review.state.payments):
        return f"no payment of this claim was paid on or before reversed_on {day}"
    return "every payment of this claim paid by then is already reversed"


class _ErrorFn(Protocol):
    def __call__(
        self, code: str, message: str, event_id: str | None = None, field: str = ""
    ) -> ErrorItem: ...
