"""Keeping the claim projections true in the tx that changes a claim, and refusing a tx that
would leave a claim inconsistent: run under the append lock, after the tx is numbered and before
it commits, so a decision is judged on exactly what the ledger knows in its own tx."""

from collections.abc import Collection, Mapping
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.claims import repository
from coverage_ledger.claims.claim_checks import CONFLICTS, ClaimChange, claim_problems, outside_region
from coverage_ledger.claims.one_death import one_death_problems
from coverage_ledger.claims.repository import PaymentRow, RecordRow
from coverage_ledger.claims.review import events_by_claim, review_events
from coverage_ledger.claims.review_outcome import ClaimReview
from coverage_ledger.domain.access import Principal
from coverage_ledger.domain.claims import ClaimStatus
from coverage_ledger.errors import Conflict, ErrorItem, Forbidden, InvalidInput


def record_of(review: ClaimReview) -> RecordRow:
    """The projected state of a reviewed claim."""
    return RecordRow(
        claim_id=review.filing.claim_id,
        nik=review.filing.nik,
        region_code=review.region_code,
        benefit=review.filing.benefit,
        incident_date=review.filing.incident_date,
        status=review.state.status.value,
        payable_amount=review.anchored_amount,
        paid_amount=review.state.paid,
        due_on=review.anchor_due_on,
        settled_on=review.settled_on,
        reversed_on=_owed_again_from(review),
    )


def _owed_again_from(review: ClaimReview) -> date | None:
    """For a claim a reversal reopened: the day from which it is owed again, as the overdue lists
    read `reversed_on` (a partial reversal too); for one whose payments were all reversed before
    they ever made the whole amount, its due date (it never stopped being owed)."""
    state = review.state
    if state.reopened_on is not None:
        return state.reopened_on
    if state.status is ClaimStatus.REVERSED:
        return review.anchor_due_on or state.owed_again_on
    return None


def payments_of(review: ClaimReview) -> list[PaymentRow]:
    """The projected payments in force (not reversed) of a reviewed claim."""
    reversed_ids = {r.payment_event_id for r in review.state.reversals}
    kept = sorted(
        (p for p in review.state.payments if p.event_id not in reversed_ids),
        key=lambda p: (p.paid_on, p.event_id),
    )
    filing = review.filing
    return [
        PaymentRow(
            p.event_id, filing.claim_id, review.region_code, filing.benefit, p.paid_on, p.amount, i == 0
        )
        for i, p in enumerate(kept)
    ]


async def project_claims(
    session: AsyncSession, *, principal: Principal, change: ClaimChange, tx_seq: int, recording_day: date
) -> None:
    """Check the claims the tx touched and bring their projected rows up to the tx."""
    claim_ids = sorted(await repository.claim_ids_of(session, change.touched))
    if not claim_ids:
        return
    per_claim = await events_by_claim(session, claim_ids=claim_ids, tx_seq=tx_seq)
    # read as the appending key: a refusal's reason names no other region's enrolment; the rows
    # written do not depend on the reader (its region, amounts and verdicts are the person's)
    reviews = await review_events(
        session, per_claim=per_claim, tx_seq=tx_seq, today=recording_day, reader=principal
    )
    before, _ = await repository.open_rows(session, claim_ids)
    per_claim_problems = {
        claim_id: claim_problems(
            principal,
            claim_id,
            events,
            reviews.get(claim_id),
            change,
            recording_day,
            before[claim_id].region_code if claim_id in before else None,
        )
        for claim_id, events in per_claim.items()
    }
    deaths = await one_death_problems(
        session,
        principal=principal,
        reviews=reviews,
        touched=claim_ids,
        was_live={c: record.status != "rejected" for c, record in before.items()},
        entering=change.entering,
        paths=change.paths,
    )
    for claim_id, found in deaths.items():
        if not per_claim_problems.get(claim_id):
            per_claim_problems[claim_id] = found
    # a claim the key could not see before this tx (whatever the tx makes of it) is not its to
    # touch; one already refused is not refused twice (a clash of ids is said alone)
    for claim_id, record in before.items():
        if not principal.sees(record.region_code) and not per_claim_problems.get(claim_id):
            code, message = outside_region()
            per_claim_problems[claim_id] = [ErrorItem(code, message, field="events")]
    problems = [item for found in per_claim_problems.values() for item in found]
    if problems:
        message = f"{len(problems)} claim problem(s) in the batch; nothing was written"
        outside = [p for p in problems if p.code == "region_out_of_scope"]
        if outside:
            # said alone: the other problems would describe another region's claim
            raise Forbidden(f"{outside[0].field}: the claim lies outside this key's region", outside)
        if any(p.code in CONFLICTS for p in problems):
            raise Conflict(message, problems)
        raise InvalidInput(message, problems)
    await write_rows(session, reviews=reviews, claim_ids=claim_ids, tx_seq=tx_seq)


async def follow_rule_change(
    session: AsyncSession, *, tx_seq: int, recording_day: date, years: Collection[int] | None
) -> int:
    """Bring the claims a tx's rule change can move up to it (a corrected service time moves any
    due date; a year's holidays, only those due near that year: `years`); the number reviewed.
    The others would review to the rows they have, so `rebuild --check`, which reviews them all,
    finds the same."""
    near = None
    if years is not None:
        # a service time is days to weeks long: a due date that a year's holidays can move lies
        # between the November before and the February after
        near = [(date(year - 1, 11, 1), date(year + 1, 3, 1)) for year in sorted(years)]
    claim_ids = await repository.projected_claim_ids(session, due_between=near)
    if claim_ids:
        per_claim = await events_by_claim(session, claim_ids=claim_ids, tx_seq=tx_seq)
        reviews = await review_events(session, per_claim=per_claim, tx_seq=tx_seq, today=recording_day)
        await write_rows(session, reviews=reviews, claim_ids=claim_ids, tx_seq=tx_seq)
    return len(claim_ids)


async def write_rows(
    session: AsyncSession, *, reviews: Mapping[str, ClaimReview], claim_ids: Collection[str], tx_seq: int
) -> None:
    """Close the rows that changed at `tx_seq` and open their successors."""
    records, payments = await repository.open_rows(session, sorted(claim_ids))
    wanted_records = {c: record_of(r) for c, r in reviews.items()}
    wanted_payments = {p.payment_event_id: p for r in reviews.values() for p in payments_of(r)}
    closed_claims = [c for c in claim_ids if records.get(c) != wanted_records.get(c) and c in records]
    new_records = [r for c, r in wanted_records.items() if records.get(c) != r]
    closed_payments = [p for p, row in payments.items() if wanted_payments.get(p) != row]
    new_payments = [row for p, row in wanted_payments.items() if payments.get(p) != row]
    await repository.replace_rows(
        session,
        tx_seq=tx_seq,
        closed_claims=closed_claims,
        new_records=new_records,
        closed_payments=closed_payments,
        new_payments=new_payments,
    )
