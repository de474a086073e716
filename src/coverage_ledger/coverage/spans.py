"""Coverage spans: each person's covered intervals, from which the regional coverage deltas
that answer ratios without scanning anybody are derived (spans_repository).

A person's coverage is piecewise constant in valid time: it can only change on a day some source
starts or ends (a term's start, cover start and end, a BPU membership's cover start, a
reactivation, the first day of a month). The spans are found by deciding the person's coverage
on each such day exactly as `GET /v1/persons/{nik}/coverage` decides it (`answer_on`), so the
projection cannot disagree with the plain scan. After every append the spans of the persons it
touched are recomputed; those that changed are closed at the tx and the new ones opened, and the
regional deltas of both are written with them (spans_repository)."""

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.coverage import spans_repository
from coverage_ledger.coverage.service import PERSON_EVENT_TYPES, events_by_person, person_sources
from coverage_ledger.domain.coverage import CoverageAnswer
from coverage_ledger.domain.months import Month
from coverage_ledger.domain.person_coverage import PersonSources, answer_on
from coverage_ledger.domain.rule_table import RuleTable
from coverage_ledger.ledger import projections_repository

OPEN_END = date(9999, 12, 31)
"""valid_to of a span with no end in sight."""


@dataclass(frozen=True, slots=True, order=True)
class Span:
    """A covered interval [valid_from, valid_to) with the region the person counts for."""

    valid_from: date
    valid_to: date
    region_code: str
    officer: bool
    informal: bool
    in_all: bool = True
    """Counted for `segment=all` (see `_pieces`)."""

    def as_row(self) -> spans_repository.SpanRow:
        """The stored form."""
        return (self.valid_from, self.valid_to, self.region_code, self.officer, self.informal, self.in_all)


def breakpoints(sources: PersonSources, grace_months: int) -> list[date]:
    """The days the person's coverage may change on. A BPU status changes only where a month
    starts or stops being paid and through the grace months after the last paid month, a
    membership's first month or a reactivation: between those it stays as it is. (Every month
    from the first to the last was once listed: a payment for 2025 to 2099 then cost 900 answers,
    each reading all 900 months, some ten seconds on the event loop.)"""
    days: set[date] = set()
    for term in sources.terms:
        days |= {term.valid_from, term.valid_to, term.covers_from}
    months: set[Month] = set()
    after_grace = range(grace_months + 3)
    for enrolment in sources.enrolments:
        days |= {enrolment.valid_from, enrolment.covers_from}
        months |= {Month.of(enrolment.covers_from).plus(n) for n in after_grace}
    for payment in sources.payments:
        months.add(payment.first)
        months |= {payment.last.plus(1 + n) for n in after_grace}
    for reactivation in sources.reactivations:
        days.add(reactivation.reactivated_on)
        months |= {Month.of(reactivation.reactivated_on).plus(n) for n in after_grace}
    days |= {month.first_day for month in months}
    return sorted(days)


def _pieces(answer: CoverageAnswer, region: str) -> list[tuple[str, bool, bool, bool]]:
    """What a covered day counts for: (region, officer, informal, in_all). A person counts for
    `all` once, in `region` (the covering enrolment's, an officer term's first); for each segment
    in the region of that segment's first covering enrolment (`covering_regions`, as the scan
    reference counts), so a BPU member also serving as an officer in another regency counts for the informal
    segment in the membership's. One piece per distinct region."""
    covering = answer.covering_regions
    places = dict.fromkeys([region, *covering.values()])
    return [
        (where, covering.get("officer") == where, covering.get("informal") == where, where == region)
        for where in places
    ]


def spans_of(sources: PersonSources, rules: RuleTable | None) -> list[Span]:
    """The person's covered intervals, merged where nothing changes."""
    grace = rules.grace_months if rules is not None else 0
    days = breakpoints(sources, grace)
    if not days:
        return []
    spans: list[Span] = []
    open_spans: dict[tuple[str, bool, bool, bool], int] = {}
    """Index in `spans` of the span that ends where the next interval starts, by what it counts."""
    for start, end in zip(days, [*days[1:], OPEN_END], strict=True):
        answer, region = answer_on(sources, valid_at=start, rules=rules)
        pieces = _pieces(answer, region) if answer.covered else []
        still_open: dict[tuple[str, bool, bool, bool], int] = {}
        for counts in pieces:
            index = open_spans.get(counts)
            if index is not None and spans[index].valid_to == start:
                last = spans[index]
                spans[index] = Span(last.valid_from, end, *counts)
            else:
                index = len(spans)
                spans.append(Span(start, end, *counts))
            still_open[counts] = index
        open_spans = still_open
    return sorted(spans)


_OFF_LOOP_FROM = 200
"""From this many persons the spans are decided in a worker thread (milliseconds of CPU)."""
_CHUNK = 5_000
"""Persons read and written per statement."""


async def current_spans(
    session: AsyncSession, *, niks: Iterable[str], tx_seq: int, at_tx: bool = False
) -> dict[str, list[Span]]:
    """Each person's spans computed from their events in force now (`at_tx`: as known at tx
    `tx_seq`, for a replay); `tx_seq` is the newest tx, whose rules apply."""
    nik_list = list(set(niks))
    per_person, rules = await events_by_person(
        session, niks=nik_list, events_at=tx_seq if at_tx else None, rules_at=tx_seq
    )
    return await _decided_spans(nik_list, per_person, rules)


async def _decided_spans(
    niks: Sequence[str],
    per_person: dict[str, list[projections_repository.InForceEvent]],
    rules: RuleTable | None,
) -> dict[str, list[Span]]:
    """`_spans_by_person`, in a worker thread when there are many persons."""
    if len(niks) < _OFF_LOOP_FROM:
        return _spans_by_person(niks, per_person, rules)
    return await asyncio.to_thread(_spans_by_person, niks, per_person, rules)


def _spans_by_person(
    niks: Sequence[str],
    per_person: dict[str, list[projections_repository.InForceEvent]],
    rules: RuleTable | None,
) -> dict[str, list[Span]]:
    result: dict[str, list[Span]] = {}
    for nik in niks:
        sources = person_sources(events=per_person.get(nik, []))
        result[nik] = spans_of(sources, rules) if sources is not None else []
    return result


async def refresh_spans(
    session: AsyncSession, *, niks: Sequence[str], tx_seq: int, due: Iterable[str] = (), at_tx: bool = False
) -> None:
    """After tx `tx_seq`: make these persons' current spans the ones their events in force imply,
    with the regional deltas, and checkpoint the regions due (these and `due`, from spans
    written otherwise in this tx). `at_tx`: the events as known at that tx (a replay)."""
    due = set(due)
    for start in range(0, len(niks), _CHUNK):
        chunk = list(niks[start : start + _CHUNK])
        wanted = await current_spans(session, niks=chunk, tx_seq=tx_seq, at_tx=at_tx)
        rows = [(nik, span.as_row()) for nik, spans in wanted.items() for span in spans]
        due |= set(await spans_repository.replace_open_spans(session, niks=chunk, spans=rows, tx_seq=tx_seq))
    await spans_repository.take_checkpoints(session, parents=sorted(due), tx_seq=tx_seq)


async def stage_spans_with(
    session: AsyncSession,
    *,
    niks: Sequence[str],
    new_events: Sequence[projections_repository.InForceEvent],
    rules: RuleTable | None,
    checked_at: int,
) -> None:
    """Compute these persons' spans from their events in force and `new_events` (of a tx not yet
    numbered, all entering force), and stage them for `replace_open_spans_with_staged`: the
    work of `refresh_spans` done before the append lock. Valid while none of these persons'
    events changes after tx `checked_at` (their chunk's check) and no rule changes before the tx
    is numbered."""
    in_force = await projections_repository.in_force_events_of(session, niks=niks, types=PERSON_EVENT_TYPES)
    per_person: dict[str, list[projections_repository.InForceEvent]] = {}
    for event in [*in_force, *new_events]:  # the tx being appended comes last, as it will be numbered
        per_person.setdefault(event.payload["nik"], []).append(event)
    spans = await _decided_spans(niks, per_person, rules)
    await spans_repository.stage_spans(
        session,
        spans={nik: [span.as_row() for span in found] for nik, found in spans.items()},
        checked_at=checked_at,
    )


async def backfill_spans(session: AsyncSession) -> int:
    """Build the coverage projection of a ledger written before it existed: every tx that changed
    a person's events in force is replayed in order, as the append path would have written it
    then. Only when the projection is empty and person events exist; the number of txs replayed.
    The caller holds the append lock."""
    if not await spans_repository.needs_backfill(session):
        return 0
    replayed = 0
    async for tx_seq, niks in spans_repository.person_changes_by_tx(session, types=PERSON_EVENT_TYPES):
        await refresh_spans(session, niks=sorted(niks), tx_seq=tx_seq, at_tx=True)
        replayed += 1
    return replayed
