"""Coverage ratios of a region: distinct persons covered on `valid_at` as known at a tx, whose
covering enrolment lies inside the region, over the potential estimated for it.

Counted from the regional coverage deltas that the coverage spans maintain (coverage/spans.py):
a checkpoint and the deltas after it, however long the history. The plain scan, which reads every person of
the region and decides their coverage exactly as `GET /v1/persons/{nik}/coverage` does, stays as
the reference the spans are tested against (`by_scan`)."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.coverage.service import unscoped_answers_on_days
from coverage_ledger.domain.access import Principal, region_within
from coverage_ledger.domain.coverage import CoverageAnswer
from coverage_ledger.domain.potential import (
    Estimate,
    counted_region,
    covered_in,
    estimated_below,
    potential_of,
)
from coverage_ledger.errors import NotFound
from coverage_ledger.ledger.asof import AsOf
from coverage_ledger.regions import repository
from coverage_ledger.regions.repository import RegionRow, RegionVersion
from coverage_ledger.regions.visibility import visible_region


@dataclass(slots=True)
class RegionFigure:
    """Covered persons, potential and their ratio for one region."""

    region_code: str
    name: str
    covered: int = 0
    potential: int | None = None

    @property
    def ratio(self) -> float | None:
        """covered / potential, a fraction; None without a (positive) potential."""
        return self.covered / self.potential if self.potential else None


@dataclass(slots=True)
class RegionCoverage:
    """A region's figure and its children's."""

    region: RegionFigure
    children: list[RegionFigure] = field(default_factory=list)


async def _children_to_sum(
    session: AsyncSession, result: RegionCoverage, estimates: Sequence[Estimate], *, tx_seq: int, day: date
) -> dict[str, list[str]]:
    """Every child in force of each region whose potential may be a sum: those shown and those
    on the way down to an estimate (a region with none below sums to nothing anyway)."""
    children = {result.region.region_code: [figure.region_code for figure in result.children]}
    summed = estimated_below(estimates, result.region.region_code)
    wanted = [code for code in children[result.region.region_code] if code in summed]
    while wanted:
        found = await repository.children_of_many(session, parents=wanted, tx_seq=tx_seq, valid_at=day)
        children.update({parent: [row.code for row in rows] for parent, rows in found.items()})
        wanted = [child for parent in wanted for child in children.get(parent, []) if child in summed]
    return children


async def region_coverage(
    session: AsyncSession,
    *,
    principal: Principal,
    code: str,
    as_of: AsOf,
    segment: str,
    by_scan: bool = False,
) -> RegionCoverage:
    """The region's covered persons, potential and ratio, and the same for each child."""
    days = await region_coverage_on_days(
        session,
        principal=principal,
        code=code,
        tx_seq=as_of.tx_seq,
        days=[as_of.valid_at],
        segment=segment,
        by_scan=by_scan,
    )
    return days[as_of.valid_at]


async def region_coverage_on_days(
    session: AsyncSession,
    *,
    principal: Principal,
    code: str,
    tx_seq: int,
    days: Sequence[date],
    segment: str,
    by_scan: bool = False,
    skip_missing: bool = False,
) -> dict[date, RegionCoverage]:
    """`region_coverage` on several dates as known at one tx."""
    # Counted from the coverage deltas, or (`by_scan`, the reference) by deciding every person of the region
    # from their events. `skip_missing`: dates on which the region does not exist (before its decree, after
    # its end) are left out; 404 only when it exists on none.
    results: dict[date, RegionCoverage] = {}
    missing: NotFound | None = None
    for day in days:
        try:
            region = await visible_region(session, principal=principal, code=code, tx_seq=tx_seq, day=day)
        except NotFound as absent:
            if not skip_missing:
                raise
            missing = absent
            continue
        children = await repository.children_at(session, code=code, tx_seq=tx_seq, valid_at=day)
        results[day] = RegionCoverage(
            RegionFigure(region.code, region.name), [RegionFigure(c.code, c.name) for c in children]
        )
    if not results and missing is not None:
        raise missing
    if by_scan:
        async for niks in repository.persons_within(session, code=code, tx_seq=tx_seq):
            on_days = await unscoped_answers_on_days(session, niks=niks, tx_seq=tx_seq, days=list(results))
            for day, answers in on_days.items():
                _count(results[day], code, answers.values(), segment)
    else:
        counts = await repository.covered_counts(
            session, code=code, tx_seq=tx_seq, days=list(results), segment=segment
        )
        for day, result in results.items():
            result.region.covered = sum(counts[day].values())
            for figure in result.children:
                figure.covered = counts[day].get(figure.region_code, 0)
    for day, result in results.items():
        estimates = await repository.estimates_within(session, code=code, tx_seq=tx_seq, valid_at=day)
        summed_over = (
            await _children_to_sum(session, result, estimates, tx_seq=tx_seq, day=day) if estimates else {}
        )
        for figure in [result.region, *result.children]:
            figure.potential = potential_of(figure.region_code, segment, estimates, summed_over)
    return results


def _count(
    result: RegionCoverage, code: str, answers: Iterable[tuple[CoverageAnswer, str] | None], segment: str
) -> None:
    by_child = {figure.region_code: figure for figure in result.children}
    for found in answers:
        if found is None or not covered_in(found[0], segment=segment):
            continue
        scope = counted_region(found[0], scope=found[1], segment=segment)
        if not region_within(scope, code):
            continue  # read for an enrolment inside, counted where the person is now
        result.region.covered += 1
        child = _child_of(scope, code)
        if child in by_child:
            by_child[child].covered += 1


def _child_of(scope: str, code: str) -> str | None:
    """The code one level below `code` on the way to `scope` (None when scope is code itself)."""
    if scope == code:
        return None
    rest = scope[len(code) + 1 :].split(".", 1)[0]
    return f"{code}.{rest}"


@dataclass(slots=True)
class RegionView:
    """A code on a date: in force with its children, replaced with its successors, or not yet
    defined by any decree on that date."""

    version: RegionVersion
    status: str
    """`in_force`, `replaced` or `not_yet_in_force`."""
    children: list[RegionRow]
    successors: list[RegionRow]


async def describe_region(
    session: AsyncSession, *, principal: Principal, code: str, as_of: AsOf
) -> RegionView:
    """The region on `valid_at` as known at the tx, or what replaced it."""
    # A code of an older decree resolves to the codes that replaced it (recursively, as far as they exist on
    # that date); a code of a later decree is not yet in force, with no successors. Successors outside the
    # key's region are left out, as its 404s leave them (found by a scope probe: a split across regencies
    # named the other regency's new code).
    versions = await repository.region_versions(session, code=code, tx_seq=as_of.tx_seq)
    if not versions or not principal.sees(code):
        raise NotFound(f"no region {code} visible to this key")
    day = as_of.valid_at
    current = next((v for v in versions if _valid_on(v, day)), None)
    if current is not None:
        children = await repository.children_at(session, code=code, tx_seq=as_of.tx_seq, valid_at=day)
        return RegionView(current, "in_force", children, [])
    if all(v.valid_from is not None and day < v.valid_from for v in versions):
        # a code of a later decree: nothing replaced it, it has not begun
        return RegionView(min(versions, key=lambda v: v.valid_from or day), "not_yet_in_force", [], [])
    successors: list[RegionRow] = []
    pending = [s for v in versions for s in v.successors]
    seen: set[str] = set()
    while pending:
        successor = pending.pop(0)
        if successor in seen:
            continue
        seen.add(successor)
        if not principal.sees(successor):
            continue
        row = await repository.region_at(session, code=successor, tx_seq=as_of.tx_seq, valid_at=day)
        if row is not None:
            successors.append(row)
            continue
        pending += [
            s
            for v in await repository.region_versions(session, code=successor, tx_seq=as_of.tx_seq)
            for s in v.successors
        ]
    return RegionView(versions[0], "replaced", [], successors)


def _valid_on(version: RegionVersion, day: date) -> bool:
    return (version.valid_from is None or version.valid_from <= day) and (
        version.valid_to is None or version.valid_to > day
    )


async def provinces_at(session: AsyncSession, *, point: AsOf) -> list[RegionRow]:
    """The provinces in force on the point's valid day, as known at its tx."""
    return await repository.provinces_at(session, tx_seq=point.tx_seq, valid_at=point.valid_at)
