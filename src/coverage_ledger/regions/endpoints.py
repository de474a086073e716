"""HTTP: GET /v1/regions/{code}/coverage and …/coverage/series."""

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from coverage_ledger.coverage.endpoints import KnownAtQuery, ReadPoint, as_of_out, known_at_query
from coverage_ledger.domain.months import Month, months_between
from coverage_ledger.domain.potential import Segment
from coverage_ledger.domain.region_codes import REGION_CODE_PATTERN
from coverage_ledger.domain.timeframes import EARLIEST_DAY, LATEST_DAY, plausible_year
from coverage_ledger.errors import ErrorItem, InvalidInput
from coverage_ledger.http.dependencies import Caller, Session
from coverage_ledger.ledger.asof import resolve
from coverage_ledger.regions.schemas import (
    RegionCoverageOut,
    RegionFigureOut,
    RegionOut,
    RegionRef,
    RegionSeriesOut,
    SeriesPoint,
)
from coverage_ledger.regions.service import (
    RegionFigure,
    describe_region,
    region_coverage,
    region_coverage_on_days,
)

router = APIRouter(prefix="/v1", tags=["regions"])

CodePath = Annotated[
    str,
    Path(description="Kemendagri code: 16, 16.71, 16.71.01 or 16.71.01.1001", pattern=REGION_CODE_PATTERN),
]
SegmentQuery = Annotated[Segment, Query(description="Whose coverage: all, officer or informal.")]
MAX_SERIES_MONTHS = 60


def _figure(figure: RegionFigure) -> dict[str, object]:
    return {
        "region_code": figure.region_code,
        "name": figure.name,
        "covered": figure.covered,
        "potential": figure.potential,
        "ratio": figure.ratio,
    }


@router.get(
    "/regions/{code}",
    response_model=RegionOut,
    summary="A region code on a date: its name, decree and children, or its successors",
    description=(
        "Kemendagri codes change between decrees (regions split, codes renumbered). On `valid_at` as "
        "known at `known_at`, a code in force comes with its children; a code of an older decree comes "
        "with the codes that replaced it; a code of a later decree is `not_yet_in_force`."
    ),
)
async def get_region(code: CodePath, session: Session, caller: Caller, point: ReadPoint) -> RegionOut:
    view = await describe_region(session, principal=caller, code=code, as_of=point)
    version = view.version
    return RegionOut(
        region_code=version.code,
        name=version.name,
        level=version.level,
        parent_code=version.parent_code,
        decree=version.decree,
        valid_from=version.valid_from,
        valid_to=version.valid_to,
        status=view.status,
        children=[RegionRef(region_code=c.code, name=c.name) for c in view.children],
        successors=[RegionRef(region_code=c.code, name=c.name) for c in view.successors],
        as_of=as_of_out(point),
    )


@router.get(
    "/regions/{code}/coverage",
    response_model=RegionCoverageOut,
    summary="Coverage ratio of a region and its children",
    description=(
        "Distinct persons covered on `valid_at` as known at `known_at` whose enrolment in force (else "
        "domicile) lies inside the region, the potential estimated for it (its own estimate, else the sum "
        "of its children's), and the ratio; the same for each child region. Regional office keys see "
        "their region and below."
    ),
)
async def get_region_coverage(
    code: CodePath, session: Session, caller: Caller, point: ReadPoint, segment: SegmentQuery = "all"
) -> RegionCoverageOut:
    result = await region_coverage(session, principal=caller, code=code, as_of=point, segment=segment)
    return RegionCoverageOut.model_validate(
        {
            **_figure(result.region),
            "segment": segment,
            "children": [RegionFigureOut.model_validate(_figure(c)) for c in result.children],
            "as_of": as_of_out(point),
        }
    )


def _month(text: str, field: str) -> date:
    try:
        month = Month.parse(text)
        if not plausible_year(month.year):
            raise ValueError(f"{text}: the year must lie in {EARLIEST_DAY.year}–{LATEST_DAY.year}")
    except ValueError as exc:
        raise InvalidInput(
            f"{field} must be a month YYYY-MM", [ErrorItem("invalid_month", str(exc), field=field)]
        ) from exc
    return date(month.year, month.month, 1)


@router.get(
    "/regions/{code}/coverage/series",
    response_model=RegionSeriesOut,
    summary="Monthly series of a region's coverage ratio",
    description=(
        "The region's figure on the first day of each month from `from` to `to` (YYYY-MM, at most "
        f"{MAX_SERIES_MONTHS} months), all as known at the same `known_at`. Months on which the "
        "region does not exist (before its decree, after its end) have no point; a region that "
        "exists on none of them is a 404."
    ),
)
async def get_region_series(
    code: CodePath,
    session: Session,
    caller: Caller,
    first: Annotated[str, Query(alias="from", description="First month, YYYY-MM.")],
    last: Annotated[str, Query(alias="to", description="Last month, YYYY-MM.")],
    _step: Annotated[Literal["month"], Query(alias="step", description="Only `month` for now.")] = "month",
    known_at: KnownAtQuery = None,
    segment: SegmentQuery = "all",
) -> RegionSeriesOut:
    days = months_between(_month(first, "from"), _month(last, "to"))
    if not days or len(days) > MAX_SERIES_MONTHS:
        said = (
            f"to {last} is before from {first}" if not days else f"{len(days)} months from {first} to {last}"
        )
        raise InvalidInput(
            f"from..to must span 1 to {MAX_SERIES_MONTHS} months",
            [ErrorItem("invalid_range", f"{said}; at most {MAX_SERIES_MONTHS} months", field="to")],
        )
    base = await resolve(session, valid_at=days[0], known_at=known_at_query(known_at))
    results = await region_coverage_on_days(
        session,
        principal=caller,
        code=code,
        tx_seq=base.tx_seq,
        days=days,
        segment=segment,
        skip_missing=True,
    )
    points = [
        SeriesPoint.model_validate({**_figure(results[day].region), "valid_at": day})
        for day in days
        if day in results
    ]
    return RegionSeriesOut(
        region_code=code,
        segment=segment,
        known_at=base.as_dict()["known_at"],
        tx_seq=base.tx_seq,
        points=points,
        as_of=as_of_out(base),
    )
