"""Uploads: accept a roster file, then process it in the background (officer_job, sponsor_job)
to `succeeded` or `failed`; who may upload and who may see an upload.

The job follows DESIGN.md's append path at scale: the file is read in chunks in a worker thread
and staged with COPY; duplicates and overlaps are checked set-based in SQL; the events are
written under a provisional tx id inside a savepoint; only then is the append lock taken. If an
enrolment of a staged NIK entered force meanwhile, the savepoint is rolled back and the checks
run again under the lock. Errors are committed apart from the ledger write, so a rejected file
still tells its uploader what is wrong."""

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from coverage_ledger.database.outage import outage_reason
from coverage_ledger.domain.access import Principal, Role
from coverage_ledger.errors import ErrorItem, Forbidden, InvalidInput, NotFound
from coverage_ledger.uploads import repository, staging_repository
from coverage_ledger.uploads.formats import FileRejected, detect_format
from coverage_ledger.uploads.job import Progress, discard_files
from coverage_ledger.uploads.officer_job import OfficerRosterJob
from coverage_ledger.uploads.sponsor_job import SponsorRosterJob

log = logging.getLogger(__name__)

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


def check_choices(options: UploadOptions) -> None:
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
    return committee


async def submit_upload(
    session: AsyncSession,
    *,
    principal: Principal,
    options: UploadOptions,
    received: ReceivedFile,
    now: datetime,
) -> tuple[Any, bool]:
    """Record a received file as a queued upload; (record, is it a committed twin).

    When the same file already committed with the same options, the original record is returned
    with True."""
    check_choices(options)
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
            "filename": received.filename,
            "file_format": detect_format(received.path),
            "file_sha256": received.sha256,
            "size_bytes": received.size_bytes,
            "stored_path": str(received.path),
            "phase_seconds": {"receive": round(received.receive_seconds, 3)},
            "submitted_at": now,
        },
    )
    record = await repository.get_upload(session, upload_id)
    return record, False


async def run_upload(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    upload_id: uuid.UUID,
    clock: Callable[[], datetime],
) -> None:
    """Process a queued upload to `succeeded` or `failed`; never raises for bad input."""
    # the staging tables are temporary tables of one connection: the job's session is bound to a
    # connection of its own, which its commits keep (a pooled session would hand it back)
    engine = sessionmaker.kw["bind"]
    async with engine.connect() as connection, sessionmaker() as side, sessionmaker(bind=connection) as work:
        if not await repository.take_upload(work, upload_id):
            # another live process runs it (two `serve` processes on one database, one started
            # while the other was processing): its outcome stands, this one writes nothing
            log.info("upload %s is being processed by another process; left to it", upload_id)
            await work.rollback()
            return
        try:
            await _run_held(work, side, upload_id=upload_id, clock=clock)
        finally:
            try:
                await work.rollback()  # (the lock is the connection's: it outlives the transaction)
                await repository.release_upload(work, upload_id)
                await work.commit()
            except Exception:
                # a connection that could not let go must not go back to the pool holding it
                log.exception("upload %s: could not release it; its connection is discarded", upload_id)
                await connection.invalidate()


async def _run_held(
    work: AsyncSession, side: AsyncSession, *, upload_id: uuid.UUID, clock: Callable[[], datetime]
) -> None:
    """`run_upload` once the upload is held by this process."""
    progress = Progress(side, upload_id)
    record = await repository.get_upload(side, upload_id)
    if record is None or record.status in {"succeeded", "failed"}:
        return
    await repository.forget_errors(side, upload_id)
    await progress.set(status="validating", started_at=clock())
    job_class = OfficerRosterJob if record.kind == "officer_roster" else SponsorRosterJob
    job = job_class(work, progress, record, clock)
    work_usable = True
    try:
        await job.run()
    except FileRejected as exc:
        await work.rollback()
        await _fail(job, progress, exc.code, exc.message, [exc.as_item()])
    except asyncio.CancelledError:
        # the service is stopping: the file stays and the upload resumes on the next start
        await work.rollback()
        raise
    except Exception as exc:
        reason = outage_reason(exc)
        if reason is None:
            log.exception("upload %s failed unexpectedly; nothing was written", upload_id)
            await work.rollback()
            await _fail(job, progress, "internal_error", "the error was logged; nothing was written", [])
        else:
            # the database restarted, its disk filled, or the connection broke: the tx died
            # uncommitted; the connection is `run_upload`'s to discard
            log.error("upload %s: the database failed it (%s); nothing was written", upload_id, reason)
            work_usable = False
            being = _BEING.get(progress.status or "", "read")
            await _fail(
                job,
                progress,
                "database_unavailable",
                f"the database stopped the upload while it was {being} ({reason}); "
                "nothing was written: upload the file again",
                [],
            )
    finally:
        if work_usable:
            await staging_repository.drop_staging(work)
            await work.commit()
    if record.stored_path:
        discard_files(Path(record.stored_path))


_BEING = {"validating": "being checked", "committing": "being committed"}
"""An upload's status as a failure's message words it."""
RECORD_FAILURE_SECONDS = 300.0
"""How long a job whose database failed it keeps trying to record that it failed (a restarted
cluster answers again within seconds; one whose disk is full, once space is freed). Past that,
the upload is left as it stands, to be run again from its file at the next start."""
RECORD_FAILURE_RETRY_SECONDS = 2.0


async def _fail(job: Any, progress: Progress, code: str, message: str, errors: list[ErrorItem]) -> None:
    """Mark the upload failed with its problem; if even that cannot be written, with a plain one
    (an upload must never stay `validating`); while the database is out of reach, again and again
    until it answers (an upload must not stay `committing` behind a restarted database)."""
    give_up_at = time.monotonic() + RECORD_FAILURE_SECONDS
    while True:
        try:
            stored = await repository.get_upload(progress.side, progress.upload_id)
            if stored is not None and stored.status == "succeeded":
                # its COMMIT went through before the connection was lost (its status commits with
                # the tx): it stands (found by a review: it was marked failed, "nothing written")
                log.warning(
                    "upload %s committed before its connection was lost; it stands", progress.upload_id
                )
                return
            await progress.errors(errors)
            await job.finish("failed", problem={"code": code, "message": message})
            return
        except Exception as exc:
            if outage_reason(exc) is None:
                break
            await _abandon_transaction(progress.side)
            if time.monotonic() >= give_up_at:
                log.error("upload %s: no database to record its failure in", progress.upload_id)
                raise
            await asyncio.sleep(RECORD_FAILURE_RETRY_SECONDS)
    log.exception("upload %s: its failure could not be recorded as given", progress.upload_id)
    await progress.side.rollback()
    await job.finish(
        "failed",
        problem={"code": "internal_error", "message": "the error was logged; nothing was written"},
    )


async def _abandon_transaction(session: AsyncSession) -> None:
    """End a session's transaction whose connection may be gone (statements sent through the
    driver, as `raw` sends them, leave SQLAlchemy unaware of it): rolled back if it can be, its
    connection discarded if not, so the session's next statement opens a new one."""
    try:
        await session.rollback()
    except Exception:
        await session.invalidate()


def may_see_upload(principal: Principal, record: Any) -> bool:
    """Whether the key may see the upload.

    Admins and auditors see every upload; a regional office those of keys inside its region; a
    committee or sponsor the uploads of its kind and organisation by keys inside its region (an
    organisation name alone is no proof: any key may be created with any name)."""
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
    if record is None or not may_see_upload(principal, record):
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
