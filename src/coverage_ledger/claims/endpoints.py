"""HTTP: GET /v1/claims/{claim_id}, GET /v1/claims (with the overdue list), GET /v1/payouts."""

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request

from coverage_ledger.claims.review_outcome import ClaimReview, Judgement
from coverage_ledger.claims.schemas import (
    ClaimListOut,
    ClaimOut,
    ClaimSummaryOut,
    ComponentOut,
    DecisionOut,
    JudgementOut,
    PartyOut,
    PaymentOut,
    PayoutGroupOut,
    PayoutsOut,
    RuleOut,
    ScholarshipOut,
)
from coverage_ledger.claims.service import PayoutGroup, claim_detail, list_claims, payouts
from coverage_ledger.coverage.endpoints import ReadPoint, as_of_out
from coverage_ledger.domain.claims import ClaimStatus
from coverage_ledger.errors import ErrorItem, InvalidInput
from coverage_ledger.http.dependencies import Caller, RegionQuery, Session
from coverage_ledger.http.paging import CursorQuery, claim_filters, page_cursor, page_point
from coverage_ledger.ledger.event_fields import Day

router = APIRouter(prefix="/v1", tags=["claims"])

ClaimIdPath = Annotated[str, Path(max_length=128, description="The claim, as the office numbers it.")]


def _judgement(j: Judgement, program: str) -> JudgementOut:
    coverage = j.coverage
    return JudgementOut(
        tx_seq=j.tx_seq,
        covered=coverage is not None and coverage.covered and program in coverage.programs,
        status=coverage.status.value if coverage is not None else None,
        payable=j.eligibility.payable,
        reason=j.eligibility.reason,
        evidence=list(coverage.evidence) if coverage is not None else [],
        amount=j.assessment.amount,
    )


def claim_out(review: ClaimReview, point_as_of: ReadPoint) -> ClaimOut:
    """The response body of one claim."""
    filing, state = review.filing, review.state
    payload = review.filed.payload
    claimant = PartyOut.model_validate(payload.get("claimant") or {"nik": None, "relation": "self"})
    payee = PartyOut.model_validate(payload["payee"]) if payload.get("payee") else claimant
    decided = state.decision is not None and state.decision.approved
    shown = review.shown
    benefit = shown.assessment.benefit
    reversed_by = {r.payment_event_id: r.event_id for r in state.reversals}
    late = review.lateness
    when_decided = _judgement(review.then, filing.program)
    # the scholarship goes with a benefit paid: none for a claim rejected, or not payable while undecided
    scholarships = (
        shown.assessment.scholarships
        if decided or (state.decision is None and shown.eligibility.payable)
        else ()
    )
    return ClaimOut(
        claim_id=filing.claim_id,
        nik=filing.nik,
        status=state.status.value,
        benefit=filing.benefit,
        program=filing.program,
        incident_date=filing.incident_date,
        filed_on=filing.filed_on,
        complete_on=filing.complete_on,
        region_code=review.region_code,
        claimant=claimant,
        payee=payee,
        covered_on_incident=when_decided.covered,
        payable_amount=review.payable_amount,
        paid_amount=state.paid,
        reversed_amount=state.reversed,
        outstanding_amount=state.outstanding,
        breakdown=[ComponentOut(name=c.name, amount=c.amount, basis=c.basis) for c in benefit.components]
        if benefit is not None
        else [],
        rule=RuleOut(rule_id=benefit.rule_id, regulation=benefit.regulation) if benefit is not None else None,
        scholarship_total=sum(s.amount for s in scholarships),
        scholarships=[
            ScholarshipOut(child=s.child, school_year=s.school_year, level=s.level, amount=s.amount)
            for s in scholarships
        ],
        decision=DecisionOut(
            event_id=state.decision.event_id,
            approved=state.decision.approved,
            decided_on=state.decision.decided_on,
            tx_seq=state.decision.tx_seq,
            amount=state.decision.amount,
            reason=state.decision.reason,
        )
        if state.decision is not None
        else None,
        when_decided=when_decided,
        known_now=_judgement(review.now, filing.program),
        payments=[
            PaymentOut(
                event_id=p.event_id,
                amount=p.amount,
                paid_on=p.paid_on,
                reversed_by=reversed_by.get(p.event_id),
            )
            for p in state.payments
        ],
        flags=list(review.flags),
        due_date=review.due_on,
        settled_on=review.settled_on,
        late=late is not None and late.late and state.status is not ClaimStatus.REJECTED,
        days_late=late.days_late if late is not None else 0,
        penalty_amount=late.penalty if late is not None else 0,
        events=[e.event_id for e in review.events],
        as_of=as_of_out(point_as_of),
    )


@router.get(
    "/claims/{claim_id:path}",  # office numbers such as JKM/2024/001 hold slashes
    response_model=ClaimOut,
    summary="A claim as known at a moment",
    description=(
        "Status, benefit with its breakdown and the rule of the incident date, the insured person's "
        "cover on the incident date as known when the claim was decided (`when_decided`) and as known "
        "at `known_at` (`known_now`), payments, flags, due date and the lateness penalty. `valid_at` "
        "is the day an unpaid claim's lateness is counted to (default today). A claim outside the "
        "key's region is a 404 like an unknown one."
    ),
)
async def get_claim(claim_id: ClaimIdPath, session: Session, caller: Caller, point: ReadPoint) -> ClaimOut:
    review = await claim_detail(session, principal=caller, claim_id=claim_id, as_of=point)
    return claim_out(review, point)


@router.get(
    "/claims",
    response_model=ClaimListOut,
    summary="Claims of a region; `overdue=true` lists those unpaid past their due date",
    description=(
        "Claims as known at `known_at` whose region lies in `region`, in claim_id order, paginated "
        "with `cursor` (every page read at the tx of the first, with its filters). With "
        "`overdue=true`: claims filed, approved or partly paid whose due date "
        "(working days after the claim was complete) passed before `valid_at`."
    ),
)
async def get_claims(
    session: Session,
    caller: Caller,
    point: ReadPoint,
    request: Request,
    region: RegionQuery = None,
    status: Annotated[list[ClaimStatus] | None, Query(description="Only these statuses.")] = None,
    overdue: Annotated[bool, Query(description="Only claims overdue on valid_at.")] = False,
    cursor: CursorQuery = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ClaimListOut:
    filters = claim_filters(
        principal=caller,
        region=region,
        statuses=[s.value for s in status] if status else None,
        overdue=overdue,
    )
    point, after = await page_point(session, request, point, cursor, filters=filters)
    page = await list_claims(
        session,
        principal=caller,
        as_of=point,
        region=region,
        statuses=[s.value for s in status] if status else None,
        overdue=overdue,
        cursor=after,
        limit=limit,
    )
    return ClaimListOut(
        items=[
            ClaimSummaryOut(
                claim_id=r.claim_id,
                nik=r.nik,
                region_code=r.region_code,
                benefit=r.benefit,
                incident_date=r.incident_date,
                status=r.status,
                payable_amount=r.payable_amount,
                paid_amount=r.paid_amount,
                due_date=r.due_on,
                settled_on=r.settled_on,
            )
            for r in page.items
        ],
        next_cursor=page_cursor(point, page.next_cursor, filters=filters),
        as_of=as_of_out(point),
    )


@router.get(
    "/payouts",
    response_model=PayoutsOut,
    summary="Claims paid and rupiah paid, by benefit, region or month",
    description=(
        "Payments in force at `known_at` (reversed ones excluded) of claims in `region`, paid in "
        "[`from`, `to`), summed per benefit, per child region or per month of payment. Auditors can "
        "ask again later with the same `known_at` and get the same figures."
    ),
)
async def get_payouts(
    session: Session,
    caller: Caller,
    point: ReadPoint,
    region: RegionQuery = None,
    paid_from: Annotated[
        Day | None, Query(alias="from", description="First payment day, YYYY-MM-DD.")
    ] = None,
    paid_to: Annotated[
        Day | None, Query(alias="to", description="Day after the last payment day, YYYY-MM-DD.")
    ] = None,
    group_by: Annotated[Literal["benefit", "region", "month"], Query()] = "benefit",
) -> PayoutsOut:
    if paid_from is not None and paid_to is not None and paid_to <= paid_from:
        raise InvalidInput(
            "`to` must be after `from` (the range is half-open)",
            [ErrorItem("invalid_range", "to must be after from", field="to")],
        )
    result = await payouts(
        session,
        principal=caller,
        as_of=point,
        region=region,
        paid_from=paid_from,
        paid_to=paid_to,
        group_by=group_by,
    )

    def out(group: PayoutGroup, name: str | None = None) -> PayoutGroupOut:
        return PayoutGroupOut(
            key=group.key,
            name=name,
            claims=group.claims,
            payments=group.payments,
            paid_amount=group.paid_amount,
        )

    return PayoutsOut(
        region=result.region,
        group_by=group_by,
        paid_from=paid_from,
        paid_to=paid_to,
        groups=[out(group, name) for group, name in result.groups],
        total=out(result.total),
        as_of=as_of_out(point),
    )
