"""HTTP: POST /v1/uploads, GET /v1/uploads, GET /v1/uploads/{id}, …/errors, …/invoice."""

import base64
import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.domain.access import Principal
from coverage_ledger.errors import ErrorItem, InvalidInput
from coverage_ledger.http.dependencies import Caller, Now, Session, hand_back_connection
from coverage_ledger.http.multipart_to_disk import receive_form
from coverage_ledger.http.problems import documented
from coverage_ledger.http.query_contract import NUL, NUL_MESSAGE
from coverage_ledger.private_files import private_directory
from coverage_ledger.uploads.schemas import UploadList, UploadStatus
from coverage_ledger.uploads.service import (
    ReceivedFile,
    UploadOptions,
    UploadRecord,
    error_rows,
    list_visible_uploads,
    submit_upload,
    upload_invoice,
    visible_upload,
)

router = APIRouter(prefix="/v1", tags=["uploads"])

_FORM_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "The roster: CSV (UTF-8, `,` or `;`) or XLSX (first sheet).",
                        },
                        "kind": {
                            "type": "string",
                            "enum": ["officer_roster", "sponsor_roster"],
                            "default": "officer_roster",
                        },
                        "committee": {"type": "string", "description": "Defaults to the key's organisation."},
                        "dry_run": {"type": "boolean", "default": False},
                        "policy": {
                            "type": "string",
                            "enum": ["all_or_nothing", "accept_valid"],
                            "default": "all_or_nothing",
                        },
                        "mode": {"type": "string", "enum": ["append", "replace_roster"], "default": "append"},
                    },
                }
            }
        },
    }
}


OPTION_NAMES = ("kind", "committee", "dry_run", "policy", "mode")
"""The upload's options: form fields, or query parameters of the same names."""


def _options_given(form_fields: dict[str, str], query: list[tuple[str, str]]) -> dict[str, str]:
    """The options from the form and the query; an unknown form field or query parameter, or one
    that disagrees with the form, is a 422: a `dryrun=true` that went unread would write the file."""
    for name, value in (*form_fields.items(), *query):
        if name not in OPTION_NAMES:
            raise InvalidInput(
                f"unknown parameter {name!r}; an upload takes the file and {', '.join(OPTION_NAMES)}",
                [ErrorItem("unknown_parameter", f"{name!r} is not an upload option", field=name)],
            )
        if NUL in value:  # the database would refuse it later as an unstorable value, unnamed
            raise InvalidInput(
                f"{name} holds a NUL character", [ErrorItem("nul_character", NUL_MESSAGE, field=name)]
            )
    given = dict(form_fields)
    for name, value in query:
        if name in given and _normalised(given, name) != _normalised({name: value}, name):
            raise InvalidInput(
                f"{name} is given twice with different values",
                [ErrorItem("conflicting_parameter", "the form and the query disagree", field=name)],
            )
        given[name] = value
    return given


def _normalised(fields: dict[str, str], name: str) -> object:
    """An option's value as it will be read (`on` and `true` are the same dry run)."""
    return _flag(fields, name) if name == "dry_run" else fields.get(name, "").strip()


def _flag(fields: dict[str, str], name: str) -> bool:
    value = fields.get(name, "").strip().lower()
    if value in {"", "0", "false", "no", "off"}:
        return False
    if value in {"1", "true", "yes", "on"}:
        return True
    raise InvalidInput(
        f"{name} must be true or false",
        [ErrorItem("invalid_boolean", f"{value!r} is not a boolean", field=name)],
    )


LOCATION_HEADER = {
    "description": "The upload's own URL, `/v1/uploads/{upload_id}`",
    "schema": {"type": "string"},
}


@router.post(
    "/uploads",
    status_code=202,
    response_model=UploadStatus,
    summary="Upload a committee or sponsor roster",
    description=(
        "Streams the file to disk and answers 202 with the upload at once; validation and the commit "
        "run in the background (poll `GET /v1/uploads/{id}`). `all_or_nothing` (default) writes nothing "
        "if any row is invalid; `accept_valid` commits the valid rows in one tx; `dry_run` only validates. "
        "`replace_roster` treats the file as the committee's complete roster for the roles and districts "
        "it lists and the period its terms span; the outcome names the officers it retracts "
        "(one rejected row then fails the upload: it could be an officer still serving). "
        "The options may also be sent as query parameters of the same names; any other form field "
        "or query parameter, or one that disagrees with the form, is a 422. "
        "The same file with the same options, once committed, answers 200 with the original upload."
    ),
    openapi_extra=_FORM_SCHEMA,
    responses={
        200: {
            "description": "This file was already committed: the original upload",
            "headers": {"Location": LOCATION_HEADER},
            "model": UploadStatus,
        },
        202: {
            "description": "Accepted: poll the upload at `Location`",
            "headers": {"Location": LOCATION_HEADER},
        },
        400: documented("The multipart body cannot be read (cut short, a bad boundary); nothing was kept"),
        413: documented("File too large"),
    },
)
async def post_upload(
    request: Request,
    response: Response,
    session: Session,
    caller: Caller,
    now: Now,
    background: BackgroundTasks,
) -> UploadStatus:
    record, existing = await accept_upload(request, session, principal=caller, now=now, background=background)
    response.headers["Location"] = f"/v1/uploads/{record.upload_id}"
    if existing:
        response.status_code = 200
    return UploadStatus.of(record, now=now)


async def accept_upload(
    request: Request,
    session: AsyncSession,
    *,
    principal: Principal,
    now: datetime,
    background: BackgroundTasks,
) -> tuple[Any, bool]:
    """Receive a multipart roster to disk and record the upload; the job is queued to run after
    the response (so after the request's commit). Shared by the API and the web page."""
    settings = request.app.state.upload_settings
    _options_given({}, request.query_params.multi_items())  # a wrong name fails before the file is read
    target = private_directory(settings.directory) / f"{uuid.uuid4().hex}.upload"
    await hand_back_connection(session)
    form = await receive_form(request, target=target, max_bytes=settings.max_bytes)
    if form.path is None:
        raise InvalidInput(
            "no file was sent", [ErrorItem("missing_field", "attach the roster as `file`", field="file")]
        )
    if form.size_bytes == 0:
        form.path.unlink(missing_ok=True)
        raise InvalidInput(
            "the file is empty", [ErrorItem("empty_file", "the file has no bytes", field="file")]
        )
    received = ReceivedFile(form.path, form.filename or "upload", form.sha256, form.size_bytes, form.seconds)
    try:
        given = _options_given(form.fields, request.query_params.multi_items())
        options = UploadOptions(
            kind=given.get("kind", "").strip() or "officer_roster",
            committee=given.get("committee"),
            dry_run=_flag(given, "dry_run"),
            policy=given.get("policy", "").strip() or "all_or_nothing",
            mode=given.get("mode", "").strip() or "append",
        )
        record, existing = await submit_upload(
            session, principal=principal, options=options, received=received, now=now
        )
    except BaseException:
        form.path.unlink(missing_ok=True)
        raise
    if not existing:
        # runs after the response, so after the request's commit: the job sees the record
        background.add_task(request.app.state.upload_runner.enqueue, record.upload_id)
    return record, existing


def upload_cursor(record: UploadRecord) -> str:
    """The cursor of the page after `record` (newest first)."""
    raw = f"{record.submitted_at.isoformat()}|{record.upload_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def parse_upload_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The (submitted_at, upload_id) a cursor stands for; 422 naming `cursor` when it is not one."""
    try:
        at, upload_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return datetime.fromisoformat(at), uuid.UUID(upload_id)
    except ValueError as exc:
        raise InvalidInput(
            "cursor is not one this service gave",
            [ErrorItem("invalid_cursor", "pass next_cursor back unchanged", field="cursor")],
        ) from exc


@router.get("/uploads", response_model=UploadList, summary="The caller's uploads, newest first")
async def get_uploads(
    session: Session,
    caller: Caller,
    now: Now,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> UploadList:
    records = await list_visible_uploads(
        session, principal=caller, before=parse_upload_cursor(cursor) if cursor else None, limit=limit + 1
    )
    page = records[:limit]
    return UploadList(
        items=[UploadStatus.of(r, now=now) for r in page],
        next_cursor=upload_cursor(page[-1]) if len(records) > limit else None,
    )


@router.get("/uploads/{upload_id}", response_model=UploadStatus, summary="An upload's status and counts")
async def get_upload(upload_id: uuid.UUID, session: Session, caller: Caller, now: Now) -> UploadStatus:
    return UploadStatus.of(await visible_upload(session, principal=caller, upload_id=upload_id), now=now)


def _csv_line(values: list[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue()


@router.get(
    "/uploads/{upload_id}/errors",
    summary="Row errors as CSV",
    description=(
        "`row,column,code,message`; `row` is the line number Excel shows "
        "(the header is row 1; 0 = the file as a whole)."
    ),
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
async def get_upload_errors(
    upload_id: uuid.UUID, request: Request, session: Session, caller: Caller
) -> StreamingResponse:
    await visible_upload(session, principal=caller, upload_id=upload_id)
    return error_csv_response(request.app.state.sessionmaker, upload_id)


def error_csv_response(sessionmaker: Any, upload_id: uuid.UUID) -> StreamingResponse:
    """The upload's row errors as a streamed CSV download (read in a session of its own)."""

    async def lines() -> AsyncIterator[bytes]:
        async with sessionmaker() as reader:
            batch: list[str] = []
            async for values in error_rows(reader, upload_id=upload_id):
                batch.append(_csv_line(values))
                if len(batch) >= 1000:
                    yield "".join(batch).encode()
                    batch = []
            if batch:
                yield "".join(batch).encode()

    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="upload-{upload_id}-errors.csv"'},
    )


@router.get(
    "/uploads/{upload_id}/invoice",
    summary="Contributions owed for a committed officer roster, per region, as CSV",
    description=(
        "Officer months × the officer rate in force on each officer's first day of cover, per "
        "region of enrolment. For a `replace_roster` upload, the change it makes: changed rows "
        "less what their old terms cost, and negative lines (credits) for retracted officers. A "
        "sponsor roster has none (404): it records payments made, totalled in `outcome.amount_total`; "
        "nor has an upload that committed nothing (a dry run, a failed upload)."
    ),
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
async def get_upload_invoice(upload_id: uuid.UUID, session: Session, caller: Caller) -> Response:
    invoice = await upload_invoice(session, principal=caller, upload_id=upload_id)
    return invoice_csv_response(upload_id, invoice)


def invoice_csv_response(upload_id: uuid.UUID, invoice: list[Any]) -> Response:
    """An upload's invoice lines as the CSV download (the API's and the upload page's)."""
    lines = [_csv_line(["region_code", "officers", "officer_months", "amount", "rule_id"])]
    for line in invoice:
        lines.append(
            _csv_line([line.region_code, line.officers, line.officer_months, line.amount, line.rule_id])
        )
    return Response(
        "".join(lines),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="upload-{upload_id}-invoice.csv"'},
    )
