"""Who is covered on a date as known at a moment, and the full history of a person."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.coverage import repository as coverage_repository
from coverage_ledger.domain.access import Principal
from coverage_ledger.domain.coverage import CoverageAnswer, CoverageStatus, officer_coverage
from coverage_ledger.errors import NotFound
from coverage_ledger.ledger import projections, repository
from coverage_ledger.ledger.asof import AsOf
from coverage_ledger.ledger.person_events import officer_term

PERSON_NOT_FOUND = "no person with this NIK is visible to this key"


def _not_found(nik: str) -> NotFound:
    # one body for unknown and out-of-scope NIKs, so existence does not leak
    return NotFound(PERSON_NOT_FOUND)


@dataclass(frozen=True, slots=True)
class PersonCoverage:
    """The answer for one NIK with the point it answers for."""

    nik: str
    answer: CoverageAnswer
    as_of: AsOf


async def person_coverage(
    session: AsyncSession, *, principal: Principal, nik: str, as_of: AsOf
) -> PersonCoverage:
    """Status, programs and sources of one person on `as_of.valid_at` as known at `as_of.tx_seq`."""
    events = await projections.in_force_events_of(
        session, niks=[nik], types=["person.registered", "officer.enrolled"], tx_seq=as_of.tx_seq
    )
    registrations = [e for e in events if e.type == "person.registered"]
    if not registrations:
        raise _not_found(nik)
    terms = [
        officer_term(e.event_id, e.payload, e.recorded_at) for e in events if e.type == "officer.enrolled"
    ]
    answer = officer_coverage(
        terms=terms, valid_at=as_of.valid_at, registration_event=registrations[-1].event_id
    )
    region = registrations[-1].payload["region_code"]
    in_force_on_date = [s for s in answer.sources if s.status is CoverageStatus.COVERED]
    if in_force_on_date:
        region = in_force_on_date[0].region_code
    if not principal.sees(region):
        raise _not_found(nik)
    return PersonCoverage(nik=nik, answer=answer, as_of=as_of)


async def person_history(
    session: AsyncSession, *, principal: Principal, nik: str, as_of: AsOf
) -> dict[str, Any]:
    """Every event about the person known at `as_of`, with its force intervals and correctors."""
    await person_coverage(session, principal=principal, nik=nik, as_of=as_of)  # scope and existence
    events = await repository.events_about(session, nik=nik, up_to_tx=as_of.tx_seq)
    corrections = await coverage_repository.corrections_of(
        session, [e.event_id for e in events], up_to_tx=as_of.tx_seq
    )
    intervals = await coverage_repository.force_intervals(
        session, [e.event_id for e in events], up_to_tx=as_of.tx_seq
    )
    vault = await projections.vault_entries(
        session, [e.event_id for e in events if e.type == "person.registered"]
    )
    items = []
    for event in events:
        payload = dict(event.payload)
        if event.event_id in vault:
            payload.update(vault[event.event_id][1])
        items.append(
            {
                "event_id": event.event_id,
                "type": event.type,
                "tx_seq": event.tx_seq,
                "recorded_at": event.recorded_at,
                "valid_from": payload.get("valid_from"),
                "valid_to": payload.get("valid_to"),
                "carried_by": event.carried_by,
                "payload": payload,
                "in_force": [
                    {"tx_from": lo, "tx_to": hi, "superseded_by": by}
                    for lo, hi, by in intervals.get(event.event_id, [])
                ],
                "superseded_by": corrections.get(event.event_id, []),
            }
        )
    return {"nik": nik, "events": items}
