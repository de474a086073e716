"""Who is covered on a date as known at a moment, and the full history of a person."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.coverage import repository as coverage_repository
from coverage_ledger.database import raw
from coverage_ledger.domain.access import Principal, region_within
from coverage_ledger.domain.coverage import (
    IN_FORCE,
    CoverageAnswer,
    CoverageStatus,
)
from coverage_ledger.domain.person_coverage import PersonSources, answer_as_read_by, answer_on
from coverage_ledger.domain.rule_table import RuleTable, RuleTableIncomplete
from coverage_ledger.errors import NotFound
from coverage_ledger.ledger import person_events, projections_repository
from coverage_ledger.ledger.asof import AsOf
from coverage_ledger.ledger.rule_table_cache import rule_table_at
from coverage_ledger.regions.visibility import visible_region

PERSON_NOT_FOUND = "no person with this NIK is visible to this key"
PERSON_EVENT_TYPES = (
    "person.registered",
    "officer.enrolled",
    "informal.enrolled",
    "contribution.paid",
    "membership.reactivated",
)


def _not_found() -> NotFound:
    # one body for unknown and out-of-scope NIKs, so existence does not leak
    return NotFound(PERSON_NOT_FOUND)


@dataclass(frozen=True, slots=True)
class PersonCoverage:
    """The answer for one NIK with the point it answers for."""

    nik: str
    answer: CoverageAnswer
    as_of: AsOf


def person_sources(*, events: Sequence[projections_repository.InForceEvent]) -> PersonSources | None:
    """None when the person is not registered (as known then)."""
    by_type: dict[str, list[projections_repository.InForceEvent]] = {}
    for event in events:
        by_type.setdefault(event.type, []).append(event)
    registrations = by_type.get("person.registered", [])
    if not registrations:
        return None
    return PersonSources(
        registration_event=registrations[-1].event_id,
        domicile=registrations[-1].payload["region_code"],
        terms=[
            person_events.officer_term(e.event_id, e.payload, e.recorded_at)
            for e in by_type.get("officer.enrolled", [])
        ],
        enrolments=[
            person_events.informal_enrolment(e.event_id, e.payload, e.recorded_at)
            for e in by_type.get("informal.enrolled", [])
        ],
        payments=[person_events.payment(e.event_id, e.payload) for e in by_type.get("contribution.paid", [])],
        reactivations=[
            person_events.reactivation(e.event_id, e.payload)
            for e in by_type.get("membership.reactivated", [])
        ],
    )


def _answer(
    events: Sequence[projections_repository.InForceEvent], *, valid_at: date, rules: RuleTable | None
) -> tuple[CoverageAnswer, str] | None:
    """The answer from one person's in-force events, with the region that scopes it; None when
    the person is not registered (as known then)."""
    sources = person_sources(events=events)
    return answer_on(sources, valid_at=valid_at, rules=rules) if sources is not None else None


async def _rules_if_needed(
    session: raw.Db, events: Sequence[projections_repository.InForceEvent], tx_seq: int, *, always: bool
) -> RuleTable | None:
    if any(e.type == "informal.enrolled" for e in events):
        return await rule_table_at(session, tx_seq=tx_seq)
    if always:
        try:
            return await rule_table_at(session, tx_seq=tx_seq)
        except RuleTableIncomplete:  # a moment before genesis wrote the rules: none needed here
            return None
    return None


async def person_coverage(session: raw.Db, *, principal: Principal, nik: str, as_of: AsOf) -> PersonCoverage:
    """Status, programs and sources of one person on `as_of.valid_at` as known at `as_of.tx_seq`."""
    found = (await answers_for_key(session, principal=principal, niks=[nik], as_of=as_of))[nik]
    if found is None:
        raise _not_found()
    return PersonCoverage(nik=nik, answer=found[0], as_of=as_of)


async def answers_for_key(
    session: raw.Db,
    *,
    principal: Principal,
    niks: Sequence[str],
    as_of: AsOf,
    within: str | None = None,
) -> dict[str, tuple[CoverageAnswer, str] | None]:
    """Each person's answer as the key may read it, with the region the key sees them through."""
    # Inside `within` too, when given; None for a person unknown or not seen.

    def inside(code: str) -> bool:
        return principal.sees(code) and region_within(code, within)

    # a key with a region reads the rules whoever is asked for: read only for BPU members, they
    # made a 404 for one outside the region take longer than one for an unknown NIK
    per_person, rules = await events_by_person(
        session,
        niks=niks,
        events_at=as_of.tx_seq,
        rules_at=as_of.tx_seq,
        rules_always=principal.region_prefix is not None,
    )
    answers: dict[str, tuple[CoverageAnswer, str] | None] = {}
    for nik in niks:
        sources = person_sources(events=per_person.get(nik, []))
        if sources is None:
            answers[nik] = None
            continue
        answer, region = answer_on(sources, valid_at=as_of.valid_at, rules=rules)
        seen = _seen_through(answer, region, inside)
        answers[nik] = (
            None
            if seen is None
            else (
                answer_as_read_by(
                    principal, sources=sources, answer=answer, valid_at=as_of.valid_at, rules=rules
                ),
                seen,
            )
        )
    return answers


def _seen_through(answer: CoverageAnswer, region: str, inside: Callable[[str], bool]) -> str | None:
    """The region a key sees the person through: the one that scopes the answer, else any other
    enrolment in force on the date (a BPU member of this region serving as an officer elsewhere
    is this region's member too); None when neither lies inside."""
    if inside(region):
        return region
    return next(
        (s.region_code for s in answer.sources if s.status in IN_FORCE and inside(s.region_code)), None
    )


async def unscoped_answers(
    session: AsyncSession, *, niks: Sequence[str], as_of: AsOf
) -> dict[str, tuple[CoverageAnswer, str] | None]:
    """Answers (with their scoping region) of many persons, whatever a key may see, from one read."""
    return (await unscoped_answers_on_days(session, niks=niks, tx_seq=as_of.tx_seq, days=[as_of.valid_at]))[
        as_of.valid_at
    ]


async def events_by_person(
    session: raw.Db,
    *,
    niks: Sequence[str],
    events_at: int | None,
    rules_at: int,
    rules_always: bool = False,
) -> tuple[dict[str, list[projections_repository.InForceEvent]], RuleTable | None]:
    """Each person's events in force at tx `events_at` (None: now), with the rule table."""
    # The rule table is read at tx `rules_at` when one of them is a BPU member (the rules decide nothing for
    # officers).
    events = await projections_repository.in_force_events_of(
        session, niks=niks, types=PERSON_EVENT_TYPES, tx_seq=events_at
    )
    rules = await _rules_if_needed(session, events, rules_at, always=rules_always)
    per_person: dict[str, list[projections_repository.InForceEvent]] = {}
    for event in events:
        per_person.setdefault(event.payload["nik"], []).append(event)
    return per_person, rules


async def unscoped_answers_on_days(
    session: AsyncSession, *, niks: Sequence[str], tx_seq: int, days: Sequence[date]
) -> dict[date, dict[str, tuple[CoverageAnswer, str] | None]]:
    """Answers of many persons on several dates as known at one tx, whatever a key may see."""
    per_person, rules = await events_by_person(session, niks=niks, events_at=tx_seq, rules_at=tx_seq)
    return {
        day: {nik: _answer(per_person.get(nik, []), valid_at=day, rules=rules) for nik in niks}
        for day in days
    }


async def coverage_lookup(
    session: AsyncSession, *, principal: Principal, niks: Sequence[str], as_of: AsOf
) -> list[tuple[str, CoverageAnswer | None]]:
    """One answer per NIK, in the order asked; None for a NIK unknown or outside the key's scope."""
    answers = await answers_for_key(session, principal=principal, niks=niks, as_of=as_of)
    results: list[tuple[str, CoverageAnswer | None]] = []
    for nik in niks:
        found = answers[nik]
        results.append((nik, found[0] if found is not None else None))
    return results


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of a person search, and where the next one starts."""

    items: list[tuple[str, CoverageAnswer, str]]
    """(nik, answer, region the answer is scoped by)."""
    next_cursor: str | None


SEARCH_ROUNDS = 20
"""Candidate batches a page may examine before it returns what it has, with a cursor."""


async def search_persons(
    session: AsyncSession,
    *,
    principal: Principal,
    as_of: AsOf,
    region: str | None,
    committee: str | None,
    status: CoverageStatus | None,
    cursor: str | None,
    limit: int,
) -> SearchPage:
    """Persons in a region (or of a committee) with their status on the date, in NIK order."""
    if region is not None:  # unknown, or outside the key's region: the same 404 as elsewhere
        await visible_region(
            session, principal=principal, code=region, tx_seq=as_of.tx_seq, day=as_of.valid_at
        )
    prefix = region or principal.region_prefix
    items: list[tuple[str, CoverageAnswer, str]] = []
    after = cursor or ""
    for _ in range(SEARCH_ROUNDS):
        candidates = await coverage_repository.candidate_niks(
            session,
            tx_seq=as_of.tx_seq,
            region_prefix=prefix,
            committee=committee,
            after=after,
            limit=limit * 2,
        )
        if not candidates:
            return SearchPage(items, None)
        answers = await answers_for_key(
            session, principal=principal, niks=candidates, as_of=as_of, within=prefix
        )
        for nik in candidates:
            after = nik
            found = answers[nik]
            if found is None:
                continue
            if status is not None and found[0].status is not status:
                continue
            items.append((nik, found[0], found[1]))
            if len(items) == limit:
                return SearchPage(items, nik)
    return SearchPage(items, after)
