"""A claim as known at a tx, reviewed: its events in force, the cover of the insured person on
the incident date as known when the claim was decided (and as known now), the amount the rules
give, the service time and what needs a person's eye. Used by the reads and by the projection."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.claims import repository
from coverage_ledger.claims.repository import ClaimEvent
from coverage_ledger.claims.review_outcome import (
    ClaimReview,
    Judgement,
    assembled_review,
    owed,
    service_starts_on,
)
from coverage_ledger.coverage.service import events_by_person, person_sources
from coverage_ledger.domain.access import Principal
from coverage_ledger.domain.benefit_table import PROGRAM_SOURCES, BenefitTable, benefit_table
from coverage_ledger.domain.claim_benefit import Assessment, Filing, Membership, assess
from coverage_ledger.domain.claims import (
    ClaimPayment,
    Decision,
    Eligibility,
    PaymentReversal,
    claim_state,
    cover_made_on,
    eligibility,
)
from coverage_ledger.domain.coverage import CoverageAnswer, CoverageStatus
from coverage_ledger.domain.informal import Payment, months_contributed, paid_months
from coverage_ledger.domain.months import Month
from coverage_ledger.domain.person_coverage import PersonSources, answer_as_read_by, answer_on
from coverage_ledger.domain.timeframes import jakarta_date
from coverage_ledger.ledger import projections_repository
from coverage_ledger.ledger.schemas import DAY_DONE_FIELDS


def _percent_bp(value: Any) -> int | None:
    return None if value is None else int(Decimal(str(value)) * 100)


def filing_of(event: ClaimEvent) -> Filing:
    """A `claim.filed` payload as the domain's filing."""
    p = event.payload
    filed_on = date.fromisoformat(p["filed_on"]) if p.get("filed_on") else jakarta_date(event.recorded_at)
    return Filing(
        claim_id=p["claim_id"],
        nik=p["nik"],
        benefit=p["benefit"],
        incident_date=date.fromisoformat(p["incident_date"]),
        filed_on=filed_on,
        complete_on=date.fromisoformat(p["complete_on"]) if p.get("complete_on") else filed_on,
        wage=p.get("wage"),
        disability_bp=_percent_bp(p.get("disability_percent")),
        function_lost_bp=_percent_bp(p.get("function_lost_percent")),
        incapacity_months=p.get("incapacity_months"),
        medical_cost=p.get("medical_cost"),
        children=tuple((c["level"], int(c.get("years_done", 0))) for c in p.get("children", [])),
    )


def _membership(
    sources: PersonSources, answer: CoverageAnswer, program: str | None, incident: date
) -> Membership:
    """The membership facts the amount needs, from the sources covering the incident date; with
    `program` (the `claim_reading` rule's `covering_the_program`), only those covering it: an
    officer term of the other program alone leaves a BPU member's wage and early-death rules as
    they are (found by a claims probe: a JKK-only term made a member of two weeks' JKM Rp42
    million instead of Rp10 million). None: a ledger's reading before that rule."""
    incomes = {e.event_id: e.declared_income for e in sources.enrolments}
    covering = [
        s
        for s in answer.sources
        if s.status is CoverageStatus.COVERED and (program is None or program in s.programs)
    ]
    informal = next((s for s in covering if s.kind == "informal"), None)
    only_informal = informal is not None and all(s.kind == "informal" for s in covering)
    if not covering:
        # nothing covers the day (a member in arrears, whose heirs may still pay the month): the
        # membership the day belongs to gives the wage, so the claim needs no wage of its own
        informal = next((s for s in answer.sources if s.kind == "informal"), None)
        only_informal = informal is not None
    months_paid = months_contributed(sources.payments, by=incident)
    informal_months = paid_by_incident = None
    if only_informal and informal is not None:
        elapsed = Month.of(incident).minus(Month.of(informal.covers_from)) - (
            incident.day < informal.covers_from.day
        )
        # "active & paying" (facts.md): a member of three months who paid for one is a member of one
        joined = Month.of(informal.covers_from)

        def paid_since_joining(payments: Sequence[Payment]) -> int:
            return sum(1 for month in paid_months(payments) if joined <= month <= Month.of(incident))

        informal_months = min(elapsed, paid_since_joining(sources.payments))
        paid_by_incident = min(
            elapsed, paid_since_joining([p for p in sources.payments if p.paid_on <= incident])
        )
    return Membership(
        declared_income=incomes.get(informal.event_id) if informal is not None else None,
        wage_is_declared_income=only_informal,
        informal_months=informal_months,
        informal_months_paid_by_incident=paid_by_incident,
        contribution_years=months_paid // 12,
    )


def _cover_made_on(event_type: str, payload: dict[str, Any], recorded_at: datetime) -> date:
    """The day a cover event was made in the world (its DAY_DONE_FIELDS day, else its recording
    day): a roster backfilled years later but registered before the incident is not cover made
    after it."""
    day = payload.get(DAY_DONE_FIELDS[event_type])
    return date.fromisoformat(day) if isinstance(day, str) else jakarta_date(recorded_at)


@dataclass(slots=True)
class _Knowledge:
    """Persons and rules as known at one tx."""

    sources: dict[str, PersonSources | None]
    recorded_on: dict[str, date]
    coverage_rules: Any
    benefits: BenefitTable


async def _knowledge_at(session: AsyncSession, niks: Sequence[str], tx_seq: int) -> _Knowledge:
    per_person, rules = await events_by_person(session, niks=niks, events_at=tx_seq, rules_at=tx_seq)
    recorded_on = {
        e.event_id: _cover_made_on(e.type, e.payload, e.recorded_at)
        for events in per_person.values()
        for e in events
        if e.type in DAY_DONE_FIELDS and e.recorded_at is not None
    }
    table = benefit_table(await projections_repository.rule_definitions(session, tx_seq=tx_seq))
    return _Knowledge(
        {nik: person_sources(events=per_person.get(nik, [])) for nik in niks}, recorded_on, rules, table
    )


def _judge(filing: Filing, knowledge: _Knowledge, tx_seq: int, reader: Principal | None) -> Judgement:
    sources = knowledge.sources.get(filing.nik)
    deadline = knowledge.benefits.deadline_for(filing.program, filing.incident_date)
    if sources is None:
        reason = "the insured person is not registered"
        return Judgement(tx_seq, None, None, Eligibility(False, reason), Assessment(None, problem=reason))
    answer, region = answer_on(sources, valid_at=filing.incident_date, rules=knowledge.coverage_rules)
    shown = (
        answer
        if reader is None
        else answer_as_read_by(
            reader,
            sources=sources,
            answer=answer,
            valid_at=filing.incident_date,
            rules=knowledge.coverage_rules,
        )
    )
    # a ledger written before the `claim_reading` rule keeps its reading at the txs before it
    by_program = knowledge.benefits.membership_sources == PROGRAM_SOURCES
    verdict = eligibility(
        program=filing.program,
        incident_on=filing.incident_date,
        filed_on=filing.filed_on,
        coverage=answer,
        evidence_recorded_on=knowledge.recorded_on,
        deadline=deadline,
        explained_by=shown,
        by_program_sources=by_program,
    )
    # the amount and the region are the person's whoever reads: from the whole answer
    membership = _membership(sources, answer, filing.program if by_program else None, filing.incident_date)
    amount = assess(filing, knowledge.benefits, membership)
    made = cover_made_on(filing.program, answer, knowledge.recorded_on)
    return Judgement(tx_seq, shown, region, verdict, amount, made)


def _steps(
    events: Sequence[ClaimEvent], then: Judgement
) -> tuple[list[Decision], list[ClaimPayment], list[PaymentReversal]]:
    decisions: list[Decision] = []
    payments: list[ClaimPayment] = []
    reversals: list[PaymentReversal] = []
    for e in events:
        p = e.payload
        if e.type in ("claim.approved", "claim.rejected"):
            approved = e.type == "claim.approved"
            decisions.append(
                Decision(
                    e.event_id,
                    approved,
                    date.fromisoformat(p["decided_on"]),
                    e.tx_seq,
                    then.assessment.amount if approved else None,
                    p.get("reason"),
                )
            )
        elif e.type == "claim.paid":
            payments.append(ClaimPayment(e.event_id, int(p["amount"]), date.fromisoformat(p["paid_on"])))
    paid_ids = [pay.event_id for pay in payments]
    for e in events:
        if e.type == "claim.reversed":
            p = e.payload
            reversed_on = (
                date.fromisoformat(p["reversed_on"]) if p.get("reversed_on") else jakarta_date(e.recorded_at)
            )
            # one naming no payment takes back those paid by its day: a payment made after it
            # stands, and a correction of either keeps it so whatever the order of the log
            targets = (
                [p["payment_event_id"]]
                if p.get("payment_event_id")
                else [pay.event_id for pay in payments if pay.paid_on <= reversed_on]
            )
            reversals.extend(
                PaymentReversal(e.event_id, target, reversed_on, p["reason"])
                for target in targets
                if target in paid_ids and all(r.payment_event_id != target for r in reversals)
            )
    return decisions, payments, reversals


async def review_claims(
    session: AsyncSession,
    *,
    claim_ids: Sequence[str],
    tx_seq: int,
    today: date,
    reader: Principal | None = None,
) -> dict[str, ClaimReview]:
    """Each claim filed and in force at `tx_seq`, reviewed; `today` dates an unpaid claim's lateness.
    `reader`: the key the judgements' cover is explained to (None: everything, as projections need)."""
    return await review_events(
        session,
        per_claim=await events_by_claim(session, claim_ids=claim_ids, tx_seq=tx_seq),
        tx_seq=tx_seq,
        today=today,
        reader=reader,
    )


async def events_by_claim(
    session: AsyncSession, *, claim_ids: Sequence[str], tx_seq: int
) -> dict[str, list[ClaimEvent]]:
    """The events in force at `tx_seq` of each claim that has any."""
    per_claim: dict[str, list[ClaimEvent]] = {}
    for event in await repository.claim_events(session, claim_ids, tx_seq=tx_seq):
        per_claim.setdefault(event.claim_id, []).append(event)
    return per_claim


async def review_events(
    session: AsyncSession,
    *,
    per_claim: dict[str, list[ClaimEvent]],
    tx_seq: int,
    today: date,
    reader: Principal | None = None,
) -> dict[str, ClaimReview]:
    """The claims of `events_by_claim` that are filed, reviewed as known at `tx_seq`, their cover
    explained to `reader` (`review_claims`)."""
    filings: dict[str, tuple[ClaimEvent, Filing]] = {}
    decision_tx: dict[str, int] = {}
    anchor_tx: dict[str, int] = {}
    for claim_id, events in per_claim.items():
        filed_events = [e for e in events if e.type == "claim.filed"]
        if not filed_events:
            continue
        filings[claim_id] = (filed_events[-1], filing_of(filed_events[-1]))
        decided = [e.tx_seq for e in events if e.type in ("claim.approved", "claim.rejected")]
        decision_tx[claim_id] = decided[-1] if decided else tx_seq
        anchor_tx[claim_id] = decided[-1] if decided else filed_events[-1].tx_seq
    niks_at: dict[int, set[str]] = {tx_seq: {filing.nik for _, filing in filings.values()}}
    for claim_id, (_, filing) in filings.items():
        # each past point is read for the persons of the claims judged there only
        niks_at.setdefault(decision_tx[claim_id], set()).add(filing.nik)
        niks_at.setdefault(anchor_tx[claim_id], set()).add(filing.nik)
    knowledge = {point: await _knowledge_at(session, sorted(niks), point) for point, niks in niks_at.items()}
    reviews: dict[str, ClaimReview] = {}
    for claim_id, (filed, filing) in filings.items():
        judged: dict[int, Judgement] = {}

        def judge(point: int, filing: Filing = filing, judged: dict[int, Judgement] = judged) -> Judgement:
            if point not in judged:
                judged[point] = _judge(filing, knowledge[point], point, reader)
            return judged[point]

        then, now, anchor = judge(decision_tx[claim_id]), judge(tx_seq), judge(anchor_tx[claim_id])
        decisions, payments, reversals = _steps(per_claim[claim_id], then)
        state = claim_state(decisions=decisions, payments=payments, reversals=reversals)
        # whether it is owed is fixed by the claim's own events; when it was due follows the
        # service time and calendar known at the tx (a corrected holiday moves it)
        benefits = knowledge[tx_seq].benefits
        starts = service_starts_on(filing, anchor)
        anchor_due = benefits.due_on(filing.program, starts) if owed(state, anchor) else None
        reviews[claim_id] = assembled_review(
            filing,
            filed,
            per_claim[claim_id],
            state,
            (then, now, anchor),
            (starts, anchor_due),
            benefits,
            today,
        )
    return reviews
