"""Reports as the API shows them: manifests and the access log."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, PlainSerializer, WithJsonSchema

from coverage_ledger.coverage.schemas import AsOfOut
from coverage_ledger.domain.timeframes import format_instant


class AccessOut(BaseModel):
    """One report request."""

    access_id: int
    key_name: str
    requested_at: Annotated[
        datetime,
        # the one text form of an instant in responses (UTC, microseconds, Z), as every known_at;
        # the database session's zone gave +07:00 here
        PlainSerializer(format_instant, return_type=str),
        WithJsonSchema({"type": "string", "format": "date-time"}),
    ]
    report: str
    parameters: dict[str, Any]
    tx_seq: int
    rows: int | None = Field(description="Null when the download did not reach its end.")
    content_sha256: str | None
    software_version: str | None = Field(
        description="The coverage-ledger version that made the content (null for requests logged "
        "before release 0.6.0): a release may change a report's bytes, see docs/changes.md."
    )


class AccessLogOut(BaseModel):
    """Report requests, newest first."""

    items: list[AccessOut]
    next_cursor: int | None = Field(description="Pass as `before` for older entries.")


class LedgerHeadOut(BaseModel):
    """The ledger's head at the report's tx."""

    tx_seq: int
    hash: str | None
    recorded_at: str | None


class ManifestOut(BaseModel):
    """What a report holds and how to check it later."""

    report: str
    format: str
    region: str | None
    as_of: AsOfOut
    rows: int
    sha256: str = Field(description="sha256 hex of the report's bytes in this format.")
    ledger_head: LedgerHeadOut
    software_version: str


class DiffManifestOut(BaseModel):
    """What a coverage diff holds and how to check it later."""

    report: str
    format: str
    region: str | None
    known_then: AsOfOut = Field(description="The earlier moment, resolved as a read's `as_of`.")
    known_now: AsOfOut = Field(description="The later moment; `ledger_head` is at its tx.")
    rows: int
    sha256: str = Field(description="sha256 hex of the diff's bytes in this format.")
    ledger_head: LedgerHeadOut
    software_version: str


TABLE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A report as one table: the point it answers for and its parameters (`report`, "
    "`as_of` or `known_then`/`known_now`, `region`, …), then `columns`, then `rows`, each row a list "
    "of values in the columns' order.",
    "required": ["report", "columns", "rows"],
    "properties": {
        "report": {"type": "string"},
        "columns": {"type": "array", "items": {"type": "string"}},
        "rows": {"type": "array", "items": {"type": "array", "items": {}}},
    },
    "additionalProperties": True,
}
_MEDIA_SCHEMAS: dict[str, dict[str, Any]] = {
    "application/json": TABLE_SCHEMA,
    "text/csv": {"type": "string", "description": "UTF-8 CSV with a header line"},
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
        "type": "string",
        "format": "binary",
    },
}


def table_responses(media_types: list[str]) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI 200 of a report served in these media types, with the file name it is saved as."""
    return {
        200: {
            "description": "The report, streamed: the same bytes for the same point, whatever comes later",
            "headers": {
                "Content-Disposition": {
                    "description": "attachment; the file name names the report, region, day and tx",
                    "schema": {"type": "string"},
                }
            },
            "content": {media: {"schema": _MEDIA_SCHEMAS[media.split(";")[0]]} for media in media_types},
        }
    }
