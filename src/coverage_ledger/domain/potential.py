"""Who counts where in a region's coverage ratio, and the potential workers it is divided by:
a region's own estimate, or the sum of its children's when every one is known."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal, get_args

from coverage_ledger.domain.coverage import CoverageAnswer, CoverageStatus
from coverage_ledger.domain.region_codes import region_parent

Segment = Literal["all", "officer", "informal"]
"""Whose coverage a ratio counts: officers, informal (BPU) workers, or either."""
SEGMENTS: tuple[Segment, ...] = get_args(Segment)


@dataclass(frozen=True, slots=True)
class Estimate:
    """A potential-worker estimate in force."""

    event_id: str
    region_code: str
    segment: str
    valid_from: date
    count: int


def covered_in(answer: CoverageAnswer, *, segment: str) -> bool:
    """Whether the answer covers the person in the segment (`all`: either)."""
    if segment == "all":
        return answer.covered
    return any(s.kind == segment and s.status is CoverageStatus.COVERED for s in answer.sources)


def counted_region(answer: CoverageAnswer, *, scope: str, segment: str) -> str:
    """Where a covered person counts: for `all`, the person's region (`scope`, the covering
    enrolment's, an officer term's first); for a segment, the region of that segment's covering
    enrolment, so a BPU member serving as an officer elsewhere counts for `informal` at home."""
    return scope if segment == "all" else answer.covering_regions.get(segment, scope)


def potential_of(
    code: str, segment: str, estimates: Sequence[Estimate], children: Mapping[str, Sequence[str]]
) -> int | None:
    """The potential workers of a region and segment; None when it is not known.

    The region's own estimate, else the sum of its children's (`children`: every child region in
    force, for the regions with estimates below them), recursively. A child not estimated makes
    the sum unknown: `covered` counts the persons of every child, so a potential summed over some
    would overstate the ratio (a province with one regency estimated read 300%). For `all`, see
    `_all_potential`."""
    if segment == "all":
        return _all_potential(code, estimates, children)
    own = {e.segment: e.count for e in estimates if e.region_code == code}
    if segment in own:
        return own[segment]
    return _sum_known([potential_of(child, segment, estimates, children) for child in children.get(code, [])])


def _all_potential(
    code: str, estimates: Sequence[Estimate], children: Mapping[str, Sequence[str]]
) -> int | None:
    """The potential for `all`: the region's own `all` estimate; else, where it estimates a
    segment itself, officers plus informal workers, each found as `potential_of` finds it; else
    the sum of its children's. Unknown where only one segment is: `covered` counts both."""
    own = {e.segment: e.count for e in estimates if e.region_code == code}
    if "all" in own:
        return own["all"]
    if "officer" in own or "informal" in own:
        return _sum_known([potential_of(code, part, estimates, children) for part in ("officer", "informal")])
    return _sum_known([_all_potential(child, estimates, children) for child in children.get(code, [])])


def _sum_known(parts: Sequence[int | None]) -> int | None:
    """The sum when every part is known (and there is one)."""
    if not parts or any(part is None for part in parts):
        return None
    return sum(part for part in parts if part is not None)


def estimated_below(estimates: Sequence[Estimate], root: str) -> set[str]:
    """The regions inside `root` (itself included) with an estimate strictly below them."""
    above: set[str] = set()
    for estimate in estimates:
        code = estimate.region_code
        while code != root and "." in code:
            code = region_parent(code) or code
            above.add(code)
    return above
