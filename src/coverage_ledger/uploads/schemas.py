"""Uploads as the API shows them."""

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from coverage_ledger.domain.timeframes import format_instant
from coverage_ledger.http.openapi_document import one_of
from coverage_ledger.uploads.repository import UploadRecord


class UploadProblem(BaseModel):
    """Why an upload failed as a whole."""

    code: str
    message: str


_READING = frozenset({"queued", "validating"})


class UploadStatus(BaseModel):
    """An upload and its progress."""

    upload_id: uuid.UUID
    kind: str = Field(
        description="officer_roster or sponsor_roster",
        json_schema_extra=one_of(("officer_roster", "sponsor_roster")),
    )
    committee: str = Field(description="The committee or sponsor whose roster this is.")
    status: str = Field(
        description="queued, validating, committing, succeeded or failed",
        json_schema_extra=one_of(("queued", "validating", "committing", "succeeded", "failed")),
    )
    dry_run: bool
    policy: str = Field(
        description="all_or_nothing or accept_valid",
        json_schema_extra=one_of(("all_or_nothing", "accept_valid")),
    )
    mode: str = Field(
        description="append or replace_roster", json_schema_extra=one_of(("append", "replace_roster"))
    )
    filename: str
    file_format: str = Field(description="csv or xlsx", json_schema_extra=one_of(("csv", "xlsx")))
    file_sha256: str
    size_bytes: int
    rows_total: int | None = Field(
        description="Data rows in the file (blank rows skipped); null while the file is still being "
        "read (`queued`, `validating`), when only `rows_done` and `size_bytes` are known."
    )
    rows_done: int = Field(description="Rows read and checked so far.")
    rows_accepted: int = Field(
        description="Rows that passed every check: written once `succeeded` (a dry run: that it would "
        "write); a `failed` upload wrote none of them."
    )
    rows_rejected: int = Field(description="Rows with errors; see the errors link.")
    rows_duplicate: int = Field(description="Rows the ledger (or an earlier row) already holds as they are.")
    rows_per_second: float | None = Field(description="Throughput so far, from the start of processing.")
    outcome: dict[str, Any] = Field(
        description="Counts by effect (registered, enrolled, corrected, retracted, unchanged) "
        "and the invoice total. For a key limited to a region, `registered` counts the persons new "
        "to that region, whether or not another region had registered them. Warnings on rows "
        "taken: `rows_without_cover`, `rows_differing_from_registration`, and for a workbook "
        "`rows_hidden_in_sheet` (each with `…_first`, row numbers)."
    )
    phase_seconds: dict[str, Any] = Field(
        description="Seconds spent receiving, parsing, validating, committing."
    )
    tx_seq: int | None = Field(
        description="The tx that committed the rows (null until then, and for dry runs)."
    )
    problem: UploadProblem | None = None
    submitted_at: str
    started_at: str | None
    finished_at: str | None
    links: dict[str, str]

    @classmethod
    def of(cls, record: UploadRecord, *, now: datetime) -> "UploadStatus":
        """The API view of an upload record."""
        started, finished = record.started_at, record.finished_at
        rate = None
        if started is not None and record.rows_done:
            elapsed = ((finished or now) - started).total_seconds()
            rate = round(record.rows_done / elapsed, 1) if elapsed > 0 else None
        base = f"/v1/uploads/{record.upload_id}"
        links = {"self": base, "errors": f"{base}/errors"}
        if record.kind == "officer_roster":
            links["invoice"] = f"{base}/invoice"
        return cls(
            upload_id=record.upload_id,
            kind=record.kind,
            committee=record.committee,
            status=record.status,
            dry_run=record.dry_run,
            policy=record.policy,
            mode=record.mode,
            filename=record.filename,
            file_format=record.file_format,
            file_sha256=record.file_sha256,
            size_bytes=record.size_bytes,
            # 0 until the whole file is read: said as unknown, not as a file of no rows (a client's
            # progress bar divided by it; found by an integrator's probe)
            rows_total=None if record.status in _READING and not record.rows_total else record.rows_total,
            rows_done=record.rows_done,
            rows_accepted=record.rows_accepted,
            rows_rejected=record.rows_rejected,
            rows_duplicate=record.rows_duplicate,
            rows_per_second=rate,
            outcome=record.outcome or {},
            phase_seconds=record.phase_seconds or {},
            tx_seq=record.tx_seq,
            problem=UploadProblem(**record.problem) if record.problem else None,
            submitted_at=format_instant(record.submitted_at),
            started_at=format_instant(started) if started else None,
            finished_at=format_instant(finished) if finished else None,
            links=links,
        )


class UploadList(BaseModel):
    """A page of uploads, newest first."""

    items: list[UploadStatus]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")
