"""HTTP: GET /v1/persons/{nik}/coverage and /history."""

from datetime import date
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request, Response

from coverage_ledger.coverage.history import person_history
from coverage_ledger.coverage.schemas import (
    AsOfOut,
    CoverageOut,
    HistoryOut,
    LookupRequest,
    LookupResponse,
    PersonItem,
    PersonPage,
)
from coverage_ledger.coverage.service import (
    PERSON_NOT_FOUND,
    PersonCoverage,
    coverage_lookup,
    person_coverage,
    search_persons,
)
from coverage_ledger.domain.coverage import CoverageStatus
from coverage_ledger.domain.nik import NIK_PATTERN
from coverage_ledger.domain.timeframes import (
    DateOutOfRange,
    InvalidKnownAt,
    KnownAt,
    jakarta_date,
    parse_known_at,
    parse_valid_at,
)
from coverage_ledger.errors import ErrorItem, InvalidInput
from coverage_ledger.http.dependencies import Caller, Now, RegionQuery, Session, today_in_jakarta
from coverage_ledger.http.paging import CursorQuery, page_cursor, page_point, person_filters
from coverage_ledger.ledger.asof import AsOf, resolve

router = APIRouter(prefix="/v1", tags=["coverage"])

NikPath = Annotated[str, Path(description="16-digit NIK", pattern=NIK_PATTERN)]
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
    today: Annotated[date, Depends(today_in_jakarta)],
    valid_at: ValidAtQuery = None,
    known_at: KnownAtQuery = None,
) -> AsOf:
    """The (valid_at, known_at) of a read, resolved to a tx_seq."""
    valid, known = read_coordinates(valid_at, known_at, today=today)
    return await resolve(session, valid_at=valid, known_at=known)


def read_coordinates(valid_at: str | None, known_at: str | None, *, today: date) -> tuple[date, KnownAt]:
    """The `valid_at` and `known_at` query parameters parsed; 422 naming the field that is wrong."""
    try:
        valid = parse_valid_at(valid_at, today=today)
    except ValueError as exc:
        # the codes a request body gives the same mistakes (found by a date probe)
        code = "date_out_of_range" if isinstance(exc, DateOutOfRange) else "invalid_date"
        raise InvalidInput(str(exc), [ErrorItem(code, str(exc), field="valid_at")]) from exc
    return valid, known_at_query(known_at)


def known_at_query(text: str | None, *, field: str = "known_at") -> KnownAt:
    """A `known_at`-like query parameter parsed; 422 naming `field` when it is not one."""
    try:
        return parse_known_at(text)
    except InvalidKnownAt as exc:
        raise InvalidInput(str(exc), [ErrorItem("invalid_known_at", str(exc), field=field)]) from exc


ReadPoint = Annotated[AsOf, Depends(read_point)]


def as_of_out(as_of: AsOf) -> AsOfOut:
    """The `as_of` object of a response."""
    return AsOfOut.model_validate(as_of.as_dict())


@router.get("/persons/{nik}/coverage", response_model=CoverageOut, summary="Is this person covered?")
async def get_coverage(nik: NikPath, session: Session, caller: Caller, point: ReadPoint) -> dict[str, Any]:
    """Served by `coverage/lean.py` (same checks, same answer) unless the lean reads are switched off."""
    return coverage_document(await person_coverage(session, principal=caller, nik=nik, as_of=point))


def coverage_document(result: PersonCoverage) -> dict[str, Any]:
    """The body of a coverage lookup, in `CoverageOut`'s shape (FastAPI validates it against the
    model; the lean read serialises it as it is, and the tests hold the two to the same bytes)."""
    answer = result.answer
    return {
        "nik": result.nik,
        "covered": answer.covered,
        "status": answer.status.value,
        "programs": list(answer.programs),
        "sources": [
            {
                "kind": s.kind,
                "event_id": s.event_id,
                "status": s.status.value,
                "programs": list(s.programs),
                "valid_from": s.valid_from,
                "valid_to": s.valid_to,
                "covers_from": s.covers_from,
                "region_code": s.region_code,
                "role": s.role,
                "committee": s.committee,
            }
            for s in answer.sources
        ],
        "sources_outside_region": answer.sources_outside_region,
        "period": {"valid_from": answer.period[0], "valid_to": answer.period[1]} if answer.period else None,
        "reason": answer.reason,
        "evidence": list(answer.evidence),
        "as_of": result.as_of.as_dict(),
    }


@router.post(
    "/coverage/lookup",
    response_model=LookupResponse,
    summary="Coverage of up to 10,000 NIKs in one round trip",
    description="One status per NIK for one (valid_at, known_at); NIKs unknown or outside the key's "
    "region come back with found=false, the same for both.",
)
async def post_lookup(body: LookupRequest, session: Session, caller: Caller, now: Now) -> Response:
    """The body is written straight to JSON: 10,000 results validated again against the response
    model cost a tenth of the lookup (the tests check the body against `LookupResponse`)."""
    point = await resolve(
        session, valid_at=body.valid_at or jakarta_date(now), known_at=known_at_query(body.known_at)
    )
    results = await coverage_lookup(session, principal=caller, niks=body.niks, as_of=point)
    document = {
        "results": [
            {
                "nik": nik,
                "found": answer is not None,
                "covered": answer.covered if answer else False,
                "status": answer.status.value if answer else None,
                "programs": list(answer.programs) if answer else [],
                "reason": answer.reason if answer else PERSON_NOT_FOUND,
                "evidence": list(answer.evidence) if answer else [],
            }
            for nik, answer in results
        ],
        "as_of": point.as_dict(),
    }
    return Response(orjson.dumps(document), media_type="application/json")


@router.get(
    "/persons",
    response_model=PersonPage,
    summary="Persons of a region or committee with their status",
    description="Cursor-paginated in NIK order; every page is read at the tx of the first (the "
    "cursor carries it), with the first page's filters (a cursor sent with others is a 422). "
    "`region` defaults to the key's region; `status` filters on the status on "
    "`valid_at` as known at `known_at`.",
)
async def get_persons(
    session: Session,
    caller: Caller,
    point: ReadPoint,
    request: Request,
    region: RegionQuery = None,
    committee: Annotated[str | None, Query(max_length=200)] = None,
    status: Annotated[CoverageStatus | None, Query()] = None,
    cursor: CursorQuery = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> PersonPage:
    filters = person_filters(
        principal=caller, region=region, committee=committee, status=status.value if status else None
    )
    point, after = await page_point(session, request, point, cursor, filters=filters)
    page = await search_persons(
        session,
        principal=caller,
        as_of=point,
        region=region,
        committee=committee,
        status=status,
        cursor=after,
        limit=limit,
    )
    return PersonPage(
        items=[
            PersonItem(
                nik=nik,
                status=answer.status.value,
                covered=answer.covered,
                programs=list(answer.programs),
                region_code=scoped_region,
                reason=answer.reason,
            )
            for nik, answer, scoped_region in page.items
        ],
        next_cursor=page_cursor(point, page.next_cursor, filters=filters),
        as_of=as_of_out(point),
    )


@router.get("/persons/{nik}/history", response_model=HistoryOut, summary="Every event about a person")
async def get_history(nik: NikPath, session: Session, caller: Caller, point: ReadPoint) -> HistoryOut:
    history = await person_history(session, principal=caller, nik=nik, as_of=point)
    return HistoryOut.model_validate({**history, "as_of": point.as_dict()})
