"""One person's coverage on a date from their in-force events (parsed into the domain's terms),
and the answer as a key with a region reads it."""

from dataclasses import dataclass, replace
from datetime import date

from coverage_ledger.domain.access import Principal
from coverage_ledger.domain.coverage import (
    CoverageAnswer,
    CoverageStatus,
    as_seen_within,
    combine,
    officer_coverage,
)
from coverage_ledger.domain.informal import InformalEnrolment, Payment, Reactivation, informal_coverage
from coverage_ledger.domain.officer import OfficerTerm
from coverage_ledger.domain.rule_table import RuleTable


@dataclass(frozen=True, slots=True)
class PersonSources:
    """One person's in-force events in the domain's terms, parsed once for any number of dates."""

    registration_event: str
    domicile: str
    terms: list[OfficerTerm]
    enrolments: list[InformalEnrolment]
    payments: list[Payment]
    reactivations: list[Reactivation]


def answer_on(
    sources: PersonSources, *, valid_at: date, rules: RuleTable | None
) -> tuple[CoverageAnswer, str]:
    """The answer on one date, with the region that scopes it."""
    officer = officer_coverage(
        terms=sources.terms, valid_at=valid_at, registration_event=sources.registration_event
    )
    informal = None
    if sources.enrolments:
        assert rules is not None
        informal = informal_coverage(
            enrolments=sources.enrolments,
            payments=sources.payments,
            reactivations=sources.reactivations,
            valid_at=valid_at,
            grace_months=rules.grace_months,
        )
    answer = combine(officer, informal)
    return answer, region_for_scope(answer, domicile=sources.domicile)


def region_for_scope(answer: CoverageAnswer, *, domicile: str) -> str:
    """The region of the enrolment in force on the date (a covering one first), else the domicile."""
    for status in (CoverageStatus.COVERED, CoverageStatus.IN_ARREARS, CoverageStatus.LAPSED):
        for source in answer.sources:
            if source.status is status:
                return source.region_code
    return domicile


def answer_as_read_by(
    principal: Principal,
    *,
    sources: PersonSources,
    answer: CoverageAnswer,
    valid_at: date,
    rules: RuleTable | None,
) -> CoverageAnswer:
    """The answer without the details of sources outside the key's region (DESIGN.md: reading data
    outside its region is a 404), explained by the sources inside it."""
    left_out = sum(not principal.sees(s.region_code) for s in answer.sources)
    if left_out == 0:
        return answer
    # the BPU side is one answer from all the memberships (the one governing the date speaks,
    # with its own payments): kept whole when that one is inside, else left out whole; filtering
    # memberships would make an earlier one inside speak for the payments of a later one outside
    informal_inside = all(principal.sees(s.region_code) for s in answer.sources if s.kind == "informal")
    within_region = replace(
        sources,
        terms=[t for t in sources.terms if principal.sees(t.region_code)],
        enrolments=sources.enrolments if informal_inside else [],
        payments=sources.payments if informal_inside else [],
        reactivations=sources.reactivations if informal_inside else [],
    )
    inside, _ = answer_on(within_region, valid_at=valid_at, rules=rules)
    return as_seen_within(answer, inside, left_out=left_out)
