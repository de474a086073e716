"""Uploads: accept a roster file (it is then processed in the background: `running`); who may
upload and who may see an upload."""

import uuid
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.domain.access import Principal, Role
from coverage_ledger.domain.names import TEXT_MAX_CHARS, hidden_character, shown_safely
from coverage_ledger.errors import ErrorItem, Forbidden, InvalidInput, NotFound
from coverage_ledger.uploads import repository
from coverage_ledger.uploads.formats import detect_format
from coverage_ledger.uploads.repository import UploadRecord as UploadRecord  # the uploads answer records

KINDS = ("officer_roster", "sponsor_roster")
POLICIES = ("all_or_nothing", "accept_valid")
MODES = ("append", "replace_roster")
UPLOADER_ROLES = {
    "officer_roster": {Role.ADMIN, Role.REGIONAL_OFFICE, Role.COMMITTEE},
    "sponsor_roster": {Role.ADMIN, Role.REGIONAL_OFFICE, Role.SPONSOR},
}


@dataclass(frozen=True, slots=True)
class ReceivedFile:
    """A file the endpoint (or the CLI) stored on disk."""

    path: Path
    filename: str
    sha256: str
    size_bytes: int
    receive_seconds: float


@dataclass(frozen=True, slots=True)
class UploadOptions:
    """What the uploader asked for."""

    kind: str
    committee: str | None
    dry_run: bool
    policy: str
    mode: str


def _choice(value: str, allowed: tuple[str, ...], name: str) -> str:
    if value not in allowed:
        raise InvalidInput(
            f"{name} must be one of {', '.join(allowed)}",
            [ErrorItem("invalid_choice", f"{value!r} is not one of {', '.join(allowed)}", field=name)],
        )
    return value


def check_choices(*, options: UploadOptions) -> None:
    """422 for a kind, policy or mode the service does not know, or a mode the kind has not."""
    _choice(options.kind, KINDS, "kind")
    _choice(options.policy, POLICIES, "policy")
    _choice(options.mode, MODES, "mode")
    if options.kind == "sponsor_roster" and options.mode != "append":
        # a sponsor roster pays months: there is no complete roster of payments to replace
        raise InvalidInput(
            f"mode={options.mode} is for committee rosters (kind=officer_roster); a sponsor roster "
            "only appends (mode=append)",
            [ErrorItem("invalid_choice", "a sponsor roster takes mode=append", field="mode")],
        )


def _committee_for(principal: Principal, options: UploadOptions) -> str:
    if principal.role not in UPLOADER_ROLES[options.kind]:
        raise Forbidden(f"role {principal.role} may not upload kind={options.kind}")
    committee = (options.committee or "").strip() or principal.organisation
    if principal.role in {Role.COMMITTEE, Role.SPONSOR} and committee != principal.organisation:
        raise Forbidden(
            f"a key of {principal.organisation} cannot upload for {committee}",
            [ErrorItem("committee_mismatch", "committee must be the key's organisation", field="committee")],
        )
    if not committee:
        raise InvalidInput(
            "committee is required for keys without an organisation",
            [ErrorItem("missing_field", "name the committee (or sponsor) of the roster", field="committee")],
        )
    if len(committee) > TEXT_MAX_CHARS:
        # every enrolment of the roster holds it, and an event's committee is at most this long
        # (found by a web probe: the roster's events took what the events API refuses)
        raise InvalidInput(
            f"committee is {len(committee)} characters long; the longest is {TEXT_MAX_CHARS}",
            [ErrorItem("too_long", f"at most {TEXT_MAX_CHARS} characters", field="committee")],
        )
    if (hidden := hidden_character(committee)) is not None:
        # it is printed in every event, report and page of the roster (a right-to-left override
        # made one committee read as another's: found by a web probe)
        raise InvalidInput(
            f"committee holds the control or invisible character {hidden}",
            [ErrorItem("hidden_character", f"send visible text only (found {hidden})", field="committee")],
        )
    return committee


async def submit_upload(
    session: AsyncSession,
    *,
    principal: Principal,
    options: UploadOptions,
    received: ReceivedFile,
    now: datetime,
) -> tuple[UploadRecord, bool]:
    """Record a received file as a queued upload; (record, whether it is a committed twin)."""
    # When the same file already committed with the same options, the original record is returned with True.
    check_choices(options=options)
    committee = _committee_for(principal, options)
    if not options.dry_run:
        twin = await repository.find_committed_twin(
            session,
            committee=committee,
            kind=options.kind,
            sha256=received.sha256,
            policy=options.policy,
            mode=options.mode,
            key_region_prefix=principal.region_prefix,
        )
        if twin is not None:
            received.path.unlink(missing_ok=True)
            return twin, True
    upload_id = uuid.uuid4()
    await repository.insert_upload(
        session,
        values={
            "upload_id": upload_id,
            "kind": options.kind,
            "committee": committee,
            "key_name": principal.key_name,
            "key_region_prefix": principal.region_prefix,
            "dry_run": options.dry_run,
            "policy": options.policy,
            "mode": options.mode,
            "filename": shown_safely(received.filename),  # shown on pages: nothing hidden in it
            "file_format": detect_format(received.path),
            "file_sha256": received.sha256,
            "size_bytes": received.size_bytes,
            "stored_path": str(received.path),
            "phase_seconds": {"receive": round(received.receive_seconds, 3)},
            "submitted_at": now,
        },
    )
    record = await repository.get_upload(session, upload_id)
    assert record is not None, upload_id  # inserted just above, in this transaction
    return record, False


def may_see_upload(*, principal: Principal, record: UploadRecord) -> bool:
    """Whether the key may see the upload."""
    # Admins and auditors see every upload; a regional office those of keys inside its region; a committee or
    # sponsor the uploads of its kind and organisation by keys inside its region (an organisation name alone
    # is no proof: any key may be created with any name).
    if principal.role in {Role.ADMIN, Role.AUDITOR}:
        return True
    prefix = record.key_region_prefix
    inside = principal.region_prefix is None or (prefix is not None and principal.sees(prefix))
    if principal.role is Role.REGIONAL_OFFICE:
        return inside
    return (
        inside
        and record.committee == principal.organisation
        and record.kind == _UPLOAD_KIND_OF[principal.role]
    )


async def visible_upload(session: AsyncSession, *, principal: Principal, upload_id: uuid.UUID) -> Any:
    """The upload record if the caller may see it; 404 otherwise (unknown or not theirs alike)."""
    record = await repository.get_upload(session, upload_id)
    if record is None or not may_see_upload(principal=principal, record=record):
        raise NotFound(f"no upload {upload_id}")
    return record


async def list_visible_uploads(
    session: AsyncSession, *, principal: Principal, before: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[Any]:
    """The caller's uploads (as `may_see_upload` defines them), newest first."""
    committee = principal.organisation if principal.role in {Role.COMMITTEE, Role.SPONSOR} else None
    national = principal.role in {Role.ADMIN, Role.AUDITOR}
    return await repository.list_uploads(
        session,
        key_name=None,
        kind=_UPLOAD_KIND_OF.get(principal.role),
        committee=committee,
        region_prefix=None if national else principal.region_prefix,
        before=before,
        limit=limit,
    )


_UPLOAD_KIND_OF = {Role.COMMITTEE: "officer_roster", Role.SPONSOR: "sponsor_roster"}
"""The one kind of upload a committee or sponsor key makes, and sees."""


ERROR_CSV_COLUMNS = ("row", "column", "code", "message")
"""Columns of an upload's error file (`row` as Excel numbers it, 0 for the file)."""


async def error_rows(session: AsyncSession, *, upload_id: uuid.UUID) -> AsyncGenerator[list[object], None]:
    """The upload's errors as CSV rows in row order, the header first."""
    yield list(ERROR_CSV_COLUMNS)
    async for row, column, code, message in repository.stream_errors(session, upload_id):
        yield [row, column or "", code, message]


async def upload_invoice(session: AsyncSession, *, principal: Principal, upload_id: uuid.UUID) -> list[Any]:
    """The invoice lines (per region) of a committed officer roster the principal may see."""
    record = await visible_upload(session, principal=principal, upload_id=upload_id)
    if record.kind != "officer_roster":
        raise NotFound(
            f"upload {upload_id} is a {record.kind}: it records contributions paid, not owed, so it has "
            "no invoice (their total is the status's outcome.amount_total)"
        )
    if record.tx_seq is None:
        raise NotFound(
            f"upload {upload_id} committed nothing ({'a dry run' if record.dry_run else record.status}): "
            "it has no invoice"
        )
    return list(await repository.invoice_lines(session, upload_id))
