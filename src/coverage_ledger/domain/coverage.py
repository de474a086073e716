"""The coverage answer for one person on one date, from the sources in force as known then."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from coverage_ledger.domain.officer import OfficerTerm, last_day


class CoverageStatus(StrEnum):
    """The closed list of DESIGN.md."""

    COVERED = "covered"
    NOT_STARTED = "not_started"
    TERM_ENDED = "term_ended"
    IN_ARREARS = "in_arrears"
    LAPSED = "lapsed"
    NOT_ENROLLED = "not_enrolled"


@dataclass(frozen=True, slots=True)
class CoverageSource:
    """One enrolment (or payment) that bears on the answer, with its period."""

    kind: str
    """`officer` or `informal`."""
    event_id: str
    programs: tuple[str, ...]
    valid_from: date
    valid_to: date
    covers_from: date
    region_code: str
    status: CoverageStatus
    role: str | None = None
    committee: str | None = None


@dataclass(frozen=True, slots=True)
class CoverageAnswer:
    """Status, programs in force, sources, a sentence for the clerk and the deciding events."""

    status: CoverageStatus
    programs: tuple[str, ...]
    sources: tuple[CoverageSource, ...]
    period: tuple[date, date] | None
    reason: str
    evidence: tuple[str, ...] = field(default_factory=tuple)
    sources_outside_region: int = 0
    """Sources left out of `sources` because they lie outside the reading key's region."""

    @property
    def covered(self) -> bool:
        """Whether any program is in force on the date asked."""
        return self.status is CoverageStatus.COVERED

    @property
    def covering_regions(self) -> dict[str, str]:
        """Per kind (`officer`, `informal`), the region of its first covering enrolment: where the
        person counts for that segment."""
        regions: dict[str, str] = {}
        for source in self.sources:
            if source.status is CoverageStatus.COVERED:
                regions.setdefault(source.kind, source.region_code)
        return regions


MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
"""Month names of the clerk's sentences: fixed, where `strftime('%b')` follows the process locale."""


def human_date(day: date) -> str:
    """`2024-01-25` → `25 Jan 2024`."""
    return f"{day.day} {MONTH_NAMES[day.month - 1]} {day.year}"


def human_span(first: date, last: date) -> str:
    """`from 25 Jan to 23 Feb 2024`; the year is written once when both days share it."""
    if first.year == last.year:
        return f"from {first.day} {MONTH_NAMES[first.month - 1]} to {human_date(last)}"
    return f"from {human_date(first)} to {human_date(last)}"


def _term_status(term: OfficerTerm, valid_at: date) -> CoverageStatus:
    # the term's end first: an officer registered after the term ended is never covered by it
    if valid_at >= term.valid_to:
        return CoverageStatus.TERM_ENDED
    if valid_at < term.covers_from:
        return CoverageStatus.NOT_STARTED
    return CoverageStatus.COVERED


def _never_covers(term: OfficerTerm) -> bool:
    return term.covers_from >= term.valid_to


def _sentence(term: OfficerTerm, status: CoverageStatus) -> str:
    span = human_span(term.valid_from, last_day(term))
    registered = f"registered {human_date(term.registered_on)}"
    if status is CoverageStatus.COVERED:
        if term.covers_from > term.valid_from:  # registered after the term began: cover from then
            covered = human_span(term.covers_from, last_day(term))
            return f"Covered as {term.role} of {term.committee} {covered}; {registered}, the term runs {span}"
        return f"Covered as {term.role} of {term.committee} {span}; {registered}"
    if _never_covers(term):
        return (
            f"Enrolled as {term.role} of {term.committee} {span}, but {registered}, after the term "
            "ended: this term gives no cover"
        )
    if status is CoverageStatus.NOT_STARTED:
        if term.registered_on > term.valid_from:
            return (
                f"Enrolled as {term.role} of {term.committee} {span}, but {registered}: "
                f"cover starts {human_date(term.covers_from)}"
            )
        return f"Enrolled as {term.role} of {term.committee}; the term runs {span}"
    return f"Term as {term.role} of {term.committee} ended on {human_date(last_day(term))}"


def officer_coverage(
    *, terms: Sequence[OfficerTerm], valid_at: date, registration_event: str | None = None
) -> CoverageAnswer:
    """The answer for a known person from the officer terms in force (as known then)."""
    if not terms:
        return CoverageAnswer(
            status=CoverageStatus.NOT_ENROLLED,
            programs=(),
            sources=(),
            period=None,
            reason="Registered, but no enrolment is in force on this date",
            evidence=(registration_event,) if registration_event else (),
        )
    sources: list[CoverageSource] = []
    by_status: dict[CoverageStatus, list[OfficerTerm]] = {}
    for term in sorted(terms, key=lambda t: (t.valid_from, t.event_id)):
        status = _term_status(term, valid_at)
        by_status.setdefault(status, []).append(term)
        sources.append(
            CoverageSource(
                kind="officer",
                event_id=term.event_id,
                programs=term.programs,
                valid_from=term.valid_from,
                valid_to=term.valid_to,
                covers_from=term.covers_from,
                region_code=term.region_code,
                status=status,
                role=term.role,
                committee=term.committee,
            )
        )
    for status in (CoverageStatus.COVERED, CoverageStatus.NOT_STARTED, CoverageStatus.TERM_ENDED):
        deciding = by_status.get(status)
        if not deciding:
            continue
        # the nearest term decides: the first upcoming one, or the last one that ended; a term
        # that never covers (registered after it ended) only when no other is there
        ordered = list(reversed(deciding)) if status is CoverageStatus.TERM_ENDED else deciding
        term = next((t for t in ordered if not _never_covers(t)), ordered[0])
        programs: tuple[str, ...] = ()
        if status is CoverageStatus.COVERED:
            programs = tuple(sorted({p for t in deciding for p in t.programs}))
        return CoverageAnswer(
            status=status,
            programs=programs,
            sources=tuple(sources),
            period=None if _never_covers(term) else (term.covers_from, term.valid_to),
            reason=_sentence(term, status)
            if status is not CoverageStatus.COVERED
            else "; ".join(_sentence(t, status) for t in deciding),
            evidence=tuple(t.event_id for t in deciding),
        )
    raise AssertionError("every term has one of the three statuses")


PRECEDENCE = (
    CoverageStatus.COVERED,
    CoverageStatus.IN_ARREARS,
    CoverageStatus.NOT_STARTED,
    CoverageStatus.TERM_ENDED,
    CoverageStatus.LAPSED,
    CoverageStatus.NOT_ENROLLED,
)
"""Which status speaks for a person whose officer and BPU answers differ."""


def combine(officer: CoverageAnswer, informal: CoverageAnswer | None) -> CoverageAnswer:
    """One answer listing every source: covered when either side covers."""
    if informal is None:
        return officer
    if officer.status is CoverageStatus.NOT_ENROLLED:
        return informal
    answers = sorted((officer, informal), key=lambda a: PRECEDENCE.index(a.status))
    lead = answers[0]
    covering = [a for a in answers if a.status is CoverageStatus.COVERED]
    periods = [a.period for a in covering if a.period is not None]
    # both periods hold the day asked about, so together they are one stretch of cover
    period = (min(p[0] for p in periods), max(p[1] for p in periods)) if len(periods) > 1 else lead.period
    return CoverageAnswer(
        status=lead.status,
        programs=tuple(sorted({p for a in covering for p in a.programs})),
        sources=officer.sources + informal.sources,
        period=period,
        reason="; ".join(a.reason for a in covering) if covering else lead.reason,
        evidence=tuple(dict.fromkeys(e for a in (covering or [lead]) for e in a.evidence)),
    )


IN_FORCE = frozenset({CoverageStatus.COVERED, CoverageStatus.IN_ARREARS, CoverageStatus.LAPSED})
"""Statuses of a source whose enrolment is in force on the date: the person is seen through it."""

OUTSIDE_REGION = {
    CoverageStatus.COVERED: "Covered through an enrolment outside this key's region",
    CoverageStatus.IN_ARREARS: "In arrears on a membership outside this key's region",
    CoverageStatus.NOT_STARTED: "Enrolled outside this key's region; cover has not started",
    CoverageStatus.TERM_ENDED: "A term outside this key's region has ended",
    CoverageStatus.LAPSED: "A membership outside this key's region has lapsed",
}
"""What a key is told of the status when a source outside its region decides it."""


def as_seen_within(full: CoverageAnswer, inside: CoverageAnswer, *, left_out: int) -> CoverageAnswer:
    """The answer for a key that may not read `left_out` of its sources: the status and programs
    of `full` (the person's cover does not depend on who asks), explained by `inside`, the answer
    from the sources in the key's region alone, so no other region's committee, term or event
    id reaches the key."""
    if left_out == 0:
        return full
    if inside.status is full.status:
        reason, period, evidence = inside.reason, inside.period, inside.evidence
        shown = {s.event_id for s in inside.sources}
        if full.status is CoverageStatus.COVERED and any(
            s.status is CoverageStatus.COVERED for s in full.sources if s.event_id not in shown
        ):
            reason += "; also covered through an enrolment outside this key's region"
    else:
        reason = OUTSIDE_REGION.get(full.status, "Decided by an enrolment outside this key's region")
        if inside.sources:
            reason += f"; {inside.reason[0].lower()}{inside.reason[1:]}"
        period, evidence = None, tuple(e for e in full.evidence if e in inside.evidence)
    return CoverageAnswer(
        status=full.status,
        programs=full.programs,
        sources=inside.sources,
        period=period,
        reason=reason,
        evidence=evidence,
        sources_outside_region=left_out,
    )
