"""The uploads pages: choose a roster, watch it being checked, see the rows in error (and
download them all), then commit it. The same upload service and scoping as the API."""

import uuid
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.domain.access import Role
from coverage_ledger.domain.names import TEXT_MAX_CHARS
from coverage_ledger.errors import LedgerError
from coverage_ledger.http.dependencies import Now, Session
from coverage_ledger.uploads.endpoints import (
    accept_upload,
    error_csv_response,
    invoice_csv_response,
    parse_upload_cursor,
    upload_cursor,
)
from coverage_ledger.uploads.service import (
    UPLOADER_ROLES,
    UploadRecord,
    error_rows,
    list_visible_uploads,
    upload_invoice,
    visible_upload,
)
from coverage_ledger.web.endpoints import Visitor, language_of, page, problem_page, sign_in_first
from coverage_ledger.web.labels import outcome_lines
from coverage_ledger.web.session import same_site_form

router = APIRouter(include_in_schema=False)
OFFICER_KIND, SPONSOR_KIND = "officer_roster", "sponsor_roster"
SHOWN_ERRORS = 200
"""Error rows shown on the page; the CSV download has them all."""
UploadPath = Annotated[uuid.UUID, Path()]


UPLOADS_PER_PAGE = 50


@router.get("/uploads")
async def uploads_page(
    request: Request, session: Session, visitor: Visitor, cursor: Annotated[str | None, Query()] = None
) -> Response:
    if visitor is None:
        return sign_in_first()
    try:
        before = parse_upload_cursor(cursor) if cursor else None
    except LedgerError as error:
        return problem_page(request, visitor, error)
    records = await list_visible_uploads(
        session, principal=visitor, before=before, limit=UPLOADS_PER_PAGE + 1
    )
    shown = records[:UPLOADS_PER_PAGE]
    return page(
        request,
        "uploads.html",
        visitor,
        uploads=shown,
        next_cursor=upload_cursor(shown[-1]) if len(records) > UPLOADS_PER_PAGE else None,
        # a committee or sponsor uploads for its own organisation; other keys name the committee
        asks_committee=visitor.organisation is None,
        committee_max=TEXT_MAX_CHARS,
        kind=SPONSOR_KIND if visitor.role is Role.SPONSOR else OFFICER_KIND,
        # only the kinds this key may upload: a committee offered sponsor rosters met a 403 page
        kinds=[k for k in (OFFICER_KIND, SPONSOR_KIND) if visitor.role in UPLOADER_ROLES[k]],
    )


@router.post("/uploads", dependencies=[Depends(same_site_form)])
async def upload(
    request: Request, session: Session, now: Now, visitor: Visitor, background: BackgroundTasks
) -> Response:
    if visitor is None:
        return sign_in_first()
    try:
        record, _ = await accept_upload(request, session, principal=visitor, now=now, background=background)
    except LedgerError as error:
        return problem_page(request, visitor, error)
    return RedirectResponse(f"/uploads/{record.upload_id}", status_code=303)


@router.get("/uploads/{upload_id}")
async def upload_page(
    upload_id: UploadPath, request: Request, session: Session, visitor: Visitor
) -> Response:
    if visitor is None:
        return sign_in_first()
    try:
        record = await visible_upload(session, principal=visitor, upload_id=upload_id)
    except LedgerError as error:
        return problem_page(request, visitor, error)
    rows = [row async for row in _first_errors(session, upload_id)]
    finished = record.status in {"succeeded", "failed"}
    return page(
        request,
        "upload.html",
        visitor,
        upload=record,
        errors=rows[:SHOWN_ERRORS],
        errors_cut=len(rows) > SHOWN_ERRORS,
        finished=finished,
        outcome=outcome_lines(record.outcome, language_of(request)) if finished else [],
        hint=_dry_run_hint(record) if finished else None,
    )


def _dry_run_hint(record: UploadRecord) -> str | None:
    """What a finished dry run tells the clerk to do next (a label key), None for a real upload."""
    # found by a web probe: every dry run without errors said "upload it again to save it", also
    # one that would write nothing and one that would retract officers the file left out
    if not record.dry_run or record.status != "succeeded":
        return None
    if not record.outcome.get("would_commit", not record.rows_rejected):
        return "would_write_nothing"
    return "commit_hint_partial" if record.rows_rejected else "commit_hint"


@router.get("/uploads/{upload_id}/invoice.csv")
async def upload_invoice_csv(
    upload_id: UploadPath, request: Request, session: Session, visitor: Visitor
) -> Response:
    if visitor is None:
        return sign_in_first()
    try:
        invoice = await upload_invoice(session, principal=visitor, upload_id=upload_id)
    except LedgerError as error:
        return problem_page(request, visitor, error)
    return invoice_csv_response(upload_id, invoice)


async def _first_errors(session: AsyncSession, upload_id: uuid.UUID) -> AsyncIterator[list[object]]:
    async with aclosing(error_rows(session, upload_id=upload_id)) as rows:
        count = -1  # the header comes first
        async for row in rows:
            if count >= 0:
                yield row
            count += 1
            if count > SHOWN_ERRORS:  # one more than shown: the page says the list goes on
                return


@router.get("/uploads/{upload_id}/errors.csv")
async def upload_errors(
    upload_id: UploadPath, request: Request, session: Session, visitor: Visitor
) -> Response:
    if visitor is None:
        return sign_in_first()
    try:
        await visible_upload(session, principal=visitor, upload_id=upload_id)
    except LedgerError as error:
        return problem_page(request, visitor, error)
    return error_csv_response(request.app.state.sessionmaker, upload_id)
