"""The reports page: choose a report and its point in time, see its manifest (rows, sha256, the
ledger head it was read at), download it as CSV, JSON or XLSX. Logged like the API's."""

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response

from coverage_ledger.errors import ErrorItem, Forbidden, InvalidInput, LedgerError, NotFound
from coverage_ledger.http.dependencies import Now, Opener, Session
from coverage_ledger.http.head_requests import HEAD_ONLY
from coverage_ledger.http.query_contract import query_errors
from coverage_ledger.reports.endpoints import logged_manifest, report_download
from coverage_ledger.reports.service import READERS, REPORT_NAMES
from coverage_ledger.web.endpoints import Visitor, page, point_of, problem_page, sign_in_first

router = APIRouter(include_in_schema=False)

PAGE_PARAMETERS = frozenset({"name", "valid_at", "known_at", "region"})
DOWNLOAD_PARAMETERS = PAGE_PARAMETERS | {"format"}


def _odd_parameters(request: Request, taken: frozenset[str]) -> InvalidInput | None:
    """A report's query holding a name it does not take, or one given twice: refused as the
    API's is (found by a probe: `knownat=tx:47` downloaded the report as known now, and of
    `known_at=tx:47&known_at=tx:3` the last won, where an auditor reading the URL could not tell)."""
    errors = query_errors(request.scope["query_string"], names=taken)
    return InvalidInput(f"{len(errors)} invalid parameter(s)", errors) if errors else None


@router.get("/reports")
async def reports_page(
    request: Request,
    session: Session,
    now: Now,
    visitor: Visitor,
    name: str | None = None,
    valid_at: str | None = None,
    known_at: str | None = None,
    region: str | None = None,
) -> Response:
    if visitor is None:
        return sign_in_first()
    if visitor.role not in READERS:  # the form would only lead to the 403 (found by a web probe)
        return problem_page(request, visitor, Forbidden(f"role {visitor.role} does not pull reports"))
    if (odd := _odd_parameters(request, PAGE_PARAMETERS)) is not None:
        return problem_page(request, visitor, odd)
    chosen = name if name in REPORT_NAMES else None
    region = region or visitor.region_prefix
    manifest = None
    try:
        point = await point_of(session, now, valid_at or None, known_at or None)
        if chosen is not None:
            manifest = await logged_manifest(
                session,
                principal=visitor,
                now=now,
                name=chosen,
                point=point,
                region=region,
                format="csv",
                head_only=bool(request.scope.get(HEAD_ONLY)),
            )
    except LedgerError as error:
        return problem_page(request, visitor, error)
    return page(
        request,
        "reports.html",
        visitor,
        names=REPORT_NAMES,
        chosen=chosen,
        manifest=manifest,
        point=point,
        valid_at=valid_at or "",
        known_at=known_at or "",
        region=region or "",
    )


@router.get("/reports/download")
async def report_file(
    request: Request,
    session: Session,
    opener: Opener,
    now: Now,
    visitor: Visitor,
    name: str,
    format: Literal["csv", "json", "xlsx"] = "csv",
    valid_at: str | None = None,
    known_at: str | None = None,
    region: str | None = None,
) -> Response:
    if visitor is None:
        return sign_in_first()
    if (odd := _odd_parameters(request, DOWNLOAD_PARAMETERS)) is not None:
        return problem_page(request, visitor, odd)
    try:
        if name not in REPORT_NAMES:
            raise NotFound(f"no report {name!r}", [ErrorItem("unknown_report", name, field="name")])
        point = await point_of(session, now, valid_at or None, known_at or None)
        return await report_download(
            session,
            opener=opener,
            principal=visitor,
            now=now,
            name=name,
            point=point,
            region=region or None,
            format=format,
            head_only=bool(request.scope.get(HEAD_ONLY)),
        )
    except LedgerError as error:
        return problem_page(request, visitor, error)
