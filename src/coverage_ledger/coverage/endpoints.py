"""HTTP: GET /v1/persons/{nik}/coverage and /history."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from coverage_ledger.coverage.schemas import AsOfOut, CoverageOut, HistoryOut, PeriodOut, SourceOut
from coverage_ledger.coverage.service import person_coverage, person_history
from coverage_ledger.domain.timeframes import InvalidKnownAt, parse_known_at, parse_valid_at
from coverage_ledger.errors import ErrorItem, InvalidInput
from coverage_ledger.http.dependencies import Caller, Now, Session, today_in_jakarta
from coverage_ledger.ledger.asof import AsOf, resolve

router = APIRouter(prefix="/v1", tags=["coverage"])

NikPath = Annotated[str, Path(description="16-digit NIK", pattern=r"^\d{16}$")]
ValidAtQuery = Annotated[
    str | None,
    Query(description="Date the answer is for (YYYY-MM-DD); default today in Asia/Jakarta."),
]
KnownAtQuery = Annotated[
    str | None,
    Query(description="RFC 3339 timestamp, date (end of that day in Asia/Jakarta) or tx:N; default now."),
]


async def read_point(
    session: Session,
    now: Now,
    today: Annotated[date, Depends(today_in_jakarta)],
    valid_at: ValidAtQuery = None,
    known_at: KnownAtQuery = None,
) -> AsOf:
    """The (valid_at, known_at) of a read, resolved to a tx_seq."""
    try:
        valid = parse_valid_at(valid_at, today=today)
    except ValueError as exc:
        raise InvalidInput(str(exc), [ErrorItem("invalid_date", str(exc), field="valid_at")]) from exc
    try:
        known = parse_known_at(known_at)
    except InvalidKnownAt as exc:
        raise InvalidInput(str(exc), [ErrorItem("invalid_known_at", str(exc), field="known_at")]) from exc
    return await resolve(session, valid_at=valid, known_at=known, now=now)


ReadPoint = Annotated[AsOf, Depends(read_point)]


def as_of_out(as_of: AsOf) -> AsOfOut:
    """The `as_of` object of a response."""
    return AsOfOut.model_validate(as_of.as_dict())


@router.get("/persons/{nik}/coverage", response_model=CoverageOut, summary="Is this person covered?")
async def get_coverage(nik: NikPath, session: Session, caller: Caller, point: ReadPoint) -> CoverageOut:
    result = await person_coverage(session, principal=caller, nik=nik, as_of=point)
    answer = result.answer
    return CoverageOut(
        nik=nik,
        covered=answer.covered,
        status=answer.status.value,
        programs=list(answer.programs),
        sources=[
            SourceOut(
                kind=s.kind,
                event_id=s.event_id,
                status=s.status.value,
                programs=list(s.programs),
                valid_from=s.valid_from,
                valid_to=s.valid_to,
                covers_from=s.covers_from,
                region_code=s.region_code,
                role=s.role,
                committee=s.committee,
            )
            for s in answer.sources
        ],
        period=PeriodOut(valid_from=answer.period[0], valid_to=answer.period[1]) if answer.period else None,
        reason=answer.reason,
        evidence=list(answer.evidence),
        as_of=as_of_out(point),
    )


@router.get("/persons/{nik}/history", response_model=HistoryOut, summary="Every event about a person")
async def get_history(nik: NikPath, session: Session, caller: Caller, point: ReadPoint) -> HistoryOut:
    history = await person_history(session, principal=caller, nik=nik, as_of=point)
    return HistoryOut.model_validate({**history, "as_of": point.as_dict()})
