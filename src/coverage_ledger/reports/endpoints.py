"""HTTP: GET /v1/reports/{name}, …/{name}/manifest, /v1/reports/coverage-diff[/manifest], …/access-log."""

from collections.abc import AsyncIterator, Callable
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.coverage.endpoints import (
    KnownAtQuery,
    ReadPoint,
    ValidAtQuery,
    known_at_query,
    read_coordinates,
)
from coverage_ledger.domain.access import Principal
from coverage_ledger.errors import ErrorItem, InvalidInput, NotFound
from coverage_ledger.http.dependencies import (
    LARGEST_STORED_NUMBER,
    Caller,
    Now,
    Opener,
    RegionQuery,
    Session,
    SessionOpener,
    today_in_jakarta,
)
from coverage_ledger.http.head_requests import HeadOnly
from coverage_ledger.ledger.asof import AsOf, resolve
from coverage_ledger.reports import access
from coverage_ledger.reports.diff import DiffRequest, diff_chunks, diff_manifest
from coverage_ledger.reports.schemas import (
    AccessLogOut,
    AccessOut,
    DiffManifestOut,
    ManifestOut,
    table_responses,
)
from coverage_ledger.reports.service import (
    FORMATS,
    REPORT_NAMES,
    ReportRequest,
    Tally,
    authorise,
    file_name,
    manifest,
    report_chunks,
)

router = APIRouter(prefix="/v1", tags=["reports"])

NamePath = Annotated[str, Path(description="One of: " + ", ".join(REPORT_NAMES))]
FormatQuery = Annotated[Literal["json", "csv", "xlsx"], Query(description="json, csv or xlsx")]
REPORT_DESCRIPTION = (
    "`coverage-roster`: every person covered on `valid_at` as known at `known_at`, with the covered "
    "period (`covered_from` to `covered_until`, half-open: `covered_until` is the first day not "
    "covered, the day after a term's last day of duty), programs and segment, and the role and "
    "committee or payer of the term or membership when it lies in the report's region. `payouts`: "
    "the claims with their amounts. `coverage-ratios`: the region and its children, per segment. "
    "`uploads`: the uploads committed (succeeded, not dry runs) by keys of the region, with their "
    "counts; failed uploads and dry runs wrote nothing and are not listed. `overdue-claims`: "
    "claims unpaid after their due date on `valid_at`, with the penalty owed. The same parameters "
    "give the same bytes, whatever was appended since (pass `known_at=tx:N` or a past instant); "
    "large reports stream. Every request is recorded in the access log."
)


ChunkSource = Callable[[AsyncSession, Tally], AsyncIterator[bytes]]


async def _no_body() -> AsyncIterator[bytes]:
    """A HEAD's body: nothing made, nothing sent."""
    yield b""


async def _stream(opener: SessionOpener, chunks: ChunkSource, access_id: int) -> AsyncIterator[bytes]:
    """The report's bytes from a session of its own (the request's has committed), then the
    access log completed with what was delivered."""
    tally = Tally()
    async with opener() as session:
        async with session.begin():
            async for chunk in chunks(session, tally):
                yield chunk
        async with session.begin():
            await access.record_delivery(
                session, access_id=access_id, rows=tally.rows, content_sha256=tally.digest.hexdigest()
            )


async def diff_request(
    session: Session,
    caller: Caller,
    today: Annotated[date, Depends(today_in_jakarta)],
    request: Request,
    known_then: Annotated[
        str,
        Query(
            description="The earlier moment: RFC 3339 timestamp, date (end of that day in "
            "Asia/Jakarta) or tx:N."
        ),
    ],
    known_now: KnownAtQuery = None,
    valid_at: ValidAtQuery = None,
    region: RegionQuery = None,
) -> DiffRequest:
    """The diff's two moments and region, checked for the caller (shared by the diff and its
    manifest)."""
    if "known_at" in request.query_params:
        # a diff has two moments: a single one would be silently ignored
        raise InvalidInput(
            "coverage-diff compares known_then with known_now; it takes no known_at",
            [ErrorItem("unexpected_parameter", "use known_then and known_now", field="known_at")],
        )
    valid, _ = read_coordinates(valid_at, None, today=today)
    later = await resolve(session, valid_at=valid, known_at=known_at_query(known_now, field="known_now"))
    scope = await authorise(session, principal=caller, name="coverage-diff", region=region, as_of=later)
    then = await resolve(session, valid_at=valid, known_at=known_at_query(known_then, field="known_then"))
    if then.tx_seq > later.tx_seq:
        raise InvalidInput(
            f"known_then (tx {then.tx_seq}) is later than known_now (tx {later.tx_seq})",
            [ErrorItem("invalid_range", "known_then must come before known_now", field="known_then")],
        )
    return DiffRequest(then, later, scope)


DiffPoint = Annotated[DiffRequest, Depends(diff_request)]
DiffFormatQuery = Annotated[Literal["json", "csv"], Query(description="json or csv")]
DIFF_DESCRIPTION = (
    "Persons covered on `valid_at` as known at `known_then` but not as known at `known_now` (or "
    "the other way, or counted in another region), with their status at both moments and the "
    "events that entered or left force in between (`tx:event_id:type:entered|left`) and the "
    "sources of those txs (`upload:<id>` names the roster upload)."
)


@router.get(
    "/reports/coverage-diff",
    summary="Persons whose cover on a day differs between two moments of knowledge",
    description=DIFF_DESCRIPTION,
    response_class=StreamingResponse,
    responses=table_responses([FORMATS["json"], FORMATS["csv"]]),
)
async def get_coverage_diff(
    opener: Opener,
    session: Session,
    caller: Caller,
    now: Now,
    diff: DiffPoint,
    head_only: HeadOnly,
    format: DiffFormatQuery = "json",
) -> StreamingResponse:
    headers = {
        "Content-Disposition": f'attachment; filename="{diff.file_name(format)}"',
        "X-Ledger-Tx": str(diff.now.tx_seq),
    }
    if head_only:
        return StreamingResponse(_no_body(), media_type=FORMATS[format], headers=headers)
    access_id = await access.record_request(
        session,
        principal=caller,
        requested_at=now,
        report="coverage-diff",
        parameters=diff.header() | {"format": format},
        tx_seq=diff.now.tx_seq,
    )
    return StreamingResponse(
        _stream(
            opener,
            lambda stream_session, tally: diff_chunks(
                stream_session, request=diff, format=format, tally=tally
            ),
            access_id,
        ),
        media_type=FORMATS[format],
        headers=headers,
    )


@router.get(
    "/reports/coverage-diff/manifest",
    response_model=DiffManifestOut,
    summary="A coverage diff's manifest: both moments, rows, sha256, ledger head hash, software version",
    description="Same parameters as the diff. " + DIFF_DESCRIPTION,
)
async def get_coverage_diff_manifest(
    session: Session,
    caller: Caller,
    now: Now,
    diff: DiffPoint,
    head_only: HeadOnly,
    format: DiffFormatQuery = "json",
) -> DiffManifestOut:
    body = await diff_manifest(session, request=diff, format=format)
    if head_only:
        return DiffManifestOut.model_validate(body)
    await access.record_request(
        session,
        principal=caller,
        requested_at=now,
        report="coverage-diff/manifest",
        parameters=diff.header() | {"format": format},
        tx_seq=diff.now.tx_seq,
        rows=body["rows"],
        content_sha256=body["sha256"],
    )
    return DiffManifestOut.model_validate(body)


@router.get("/reports/access-log", response_model=AccessLogOut, summary="Who pulled which report, when")
async def get_access_log(
    session: Session,
    caller: Caller,
    before: Annotated[
        int | None, Query(ge=1, le=LARGEST_STORED_NUMBER, description="next_cursor of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AccessLogOut:
    page, next_cursor = await access.access_log_page(session, principal=caller, before=before, limit=limit)
    return AccessLogOut(items=[AccessOut.model_validate(row) for row in page], next_cursor=next_cursor)


async def logged_manifest(
    session: AsyncSession,
    *,
    principal: Principal,
    now: datetime,
    name: str,
    point: AsOf,
    region: str | None,
    format: str,
    head_only: bool = False,
) -> dict[str, Any]:
    """A report's manifest, its request written to the access log unless it answers a HEAD, which
    delivers nothing (shared by the API and the page)."""
    if name not in REPORT_NAMES:
        # coverage-diff compares two moments of knowledge: its manifest is its own operation
        raise NotFound(
            f"no manifest for report {name!r}; manifests: {', '.join(REPORT_NAMES)}, and coverage-diff's "
            "(with known_then and known_now)"
        )
    scope = await authorise(session, principal=principal, name=name, region=region, as_of=point)
    report = ReportRequest(name, point, scope, format)
    body = await manifest(session, request=report)
    if head_only:
        return body
    await access.record_request(
        session,
        principal=principal,
        requested_at=now,
        report=f"{name}/manifest",
        parameters=report.parameters(),
        tx_seq=point.tx_seq,
        rows=body["rows"],
        content_sha256=body["sha256"],
    )
    return body


@router.get(
    "/reports/{name}/manifest",
    response_model=ManifestOut,
    summary="A report's manifest: as_of, rows, sha256, ledger head hash, software version",
    description="Same parameters as the report. " + REPORT_DESCRIPTION,
)
async def get_manifest(
    name: NamePath,
    session: Session,
    caller: Caller,
    now: Now,
    point: ReadPoint,
    head_only: HeadOnly,
    region: RegionQuery = None,
    format: FormatQuery = "json",
) -> ManifestOut:
    body = await logged_manifest(
        session,
        principal=caller,
        now=now,
        name=name,
        point=point,
        region=region,
        format=format,
        head_only=head_only,
    )
    return ManifestOut.model_validate(body)


@router.get(
    "/reports/{name}",
    summary="An auditor report as of (valid_at, known_at)",
    description=REPORT_DESCRIPTION,
    response_class=StreamingResponse,
    responses=table_responses(list(FORMATS.values())),
)
async def get_report(
    name: NamePath,
    opener: Opener,
    session: Session,
    caller: Caller,
    now: Now,
    point: ReadPoint,
    head_only: HeadOnly,
    region: RegionQuery = None,
    format: FormatQuery = "json",
) -> StreamingResponse:
    return await report_download(
        session,
        opener=opener,
        principal=caller,
        now=now,
        name=name,
        point=point,
        region=region,
        format=format,
        head_only=head_only,
    )


async def report_download(
    session: AsyncSession,
    *,
    opener: SessionOpener,
    principal: Principal,
    now: datetime,
    name: str,
    point: AsOf,
    region: str | None,
    format: str,
    head_only: bool = False,
) -> StreamingResponse:
    """Check the caller may have the report, log the request, and stream the report (shared by
    the API and the web page); for a HEAD, only the headers."""
    scope = await authorise(session, principal=principal, name=name, region=region, as_of=point)
    report = ReportRequest(name, point, scope, format)
    headers = {
        "Content-Disposition": f'attachment; filename="{file_name(request=report)}"',
        "X-Ledger-Tx": str(point.tx_seq),
    }
    if head_only:
        return StreamingResponse(_no_body(), media_type=FORMATS[format], headers=headers)
    access_id = await access.record_request(
        session,
        principal=principal,
        requested_at=now,
        report=name,
        parameters=report.parameters(),
        tx_seq=point.tx_seq,
    )
    return StreamingResponse(
        _stream(
            opener,
            lambda stream_session, tally: report_chunks(stream_session, request=report, tally=tally),
            access_id,
        ),
        media_type=FORMATS[format],
        headers=headers,
    )
