"""A sponsor roster's chunks (read and checked by `sponsor_reading`) appended through the ledger's own
append path (into the writing pass's unnumbered tx, or a tx of their own), refused rows taken out
and the rest tried again. The job that drives the passes is `sponsor_job`."""

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.domain.access import Principal, Role
from coverage_ledger.errors import ErrorItem, LedgerError, Unauthenticated
from coverage_ledger.ledger import projections_repository
from coverage_ledger.ledger import repository as ledger_repository
from coverage_ledger.ledger.projections_repository import InForceEvent
from coverage_ledger.ledger.schemas import AppendableEvent
from coverage_ledger.ledger.service import AppendResult, append_events
from coverage_ledger.ledger.unnumbered import NotEnterOnly, number_tx, write_chunk
from coverage_ledger.uploads import sponsor_notes
from coverage_ledger.uploads.formats import FileRejected
from coverage_ledger.uploads.job_progress import key_gone
from coverage_ledger.uploads.repository import UploadRecord
from coverage_ledger.uploads.sponsor_rows import (
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    SponsorRow,
    defaulted_day_note,
    sponsor_events,
)
from coverage_ledger.uploads.sponsor_tally import SponsorTally
from coverage_ledger.validation_codes import validation_code

log = logging.getLogger(__name__)

_EVENTS = TypeAdapter(list[AppendableEvent])
_FIELD = re.compile(r"^events\[(\d+)\](?:\.(\w+))?")


def _events_of(
    rows: Sequence[SponsorRow],
    *,
    registered: set[str],
    enrolled: set[str],
    sponsor: str,
    prefix: str,
    day: date,
) -> tuple[list[dict[str, Any]], list[SponsorRow]]:
    events: list[dict[str, Any]] = []
    owners: list[SponsorRow] = []
    registered, enrolled = set(registered), set(enrolled)
    # a worker's rows in the order of their months, whatever the file's: a worker new to the
    # ledger is a member from the first month paid, and each month is paid after the ones before
    # (April's row before January's had the membership begin in April and refused January)
    for item in sorted(rows, key=lambda r: (r.nik, r.months_from, r.row)):
        batch = sponsor_events(
            item,
            sponsor=sponsor,
            event_prefix=prefix,
            register=item.nik not in registered,
            enrol=item.nik not in enrolled,
            recording_day=day,
        )
        registered.add(item.nik)
        enrolled.add(item.nik)
        events.extend(batch)
        owners.extend([item] * len(batch))
    return events, owners


def _workers_of(rows: Sequence[SponsorRow], errors: Sequence[ErrorItem]) -> set[str]:
    """The workers of the rows the errors name."""
    refused = {e.row for e in errors}
    return {item.nik for item in rows if item.row in refused}


def _column_of(field: str) -> str | None:
    """The roster column behind an event field (the payer's budget is the `budget` column)."""
    if field == "payer":
        return "budget"
    return field if field in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS) else None


def _row_errors(
    items: Sequence[ErrorItem], owners: Sequence[SponsorRow], events: Sequence[dict[str, Any]]
) -> list[ErrorItem]:
    enrolling = {
        owner.row for owner, e in zip(owners, events, strict=True) if e["type"] == "informal.enrolled"
    }
    mapped = []
    for item in items:
        found = _FIELD.match(item.field or "")
        if found is None:
            continue
        owner = owners[int(found.group(1))]
        column = _column_of(found.group(2) or "")
        message = item.message + defaulted_day_note(
            owner, column=column, code=item.code, enrols=owner.row in enrolling
        )
        mapped.append(ErrorItem(item.code, message, row=owner.row, column=column))
    return mapped


CHECK_READS = 3
"""Times the checking pass reads a chunk's workers again when the ledger moved under its check."""


async def append_sponsor_chunk(
    session: AsyncSession,
    *,
    record: UploadRecord,
    rows: list[SponsorRow],
    tally: SponsorTally,
    recording_day: date,
    now: datetime,
    write: bool,
) -> list[ErrorItem]:
    """Append (or, `write=False`, only check) one chunk's rows; the row errors found."""
    # the checking pass takes no lock: a worker's events may change between its read of the
    # chunk's workers and the check of their events (found by a race probe: a membership
    # retracted there refused its row `no_membership`, planned as a payment for it), so a chunk
    # whose refused rows' workers moved is read and checked again
    for read in range(1, CHECK_READS + 1):
        duplicates = tally.duplicate
        try:
            return await _append_chunk(
                session,
                record=record,
                rows=rows,
                tally=tally,
                recording_day=recording_day,
                now=now,
                write=write,
                read_again_if_moved=not write and read < CHECK_READS,
            )
        except _MovedUnderCheck:
            tally.duplicate = duplicates
            log.info("upload %s: the ledger moved under a chunk's check; read again", record.upload_id)
    raise AssertionError("the last read never asks to read again")


class _MovedUnderCheck(Exception):
    """Rows the checking pass refused belong to workers whose events changed since it read them."""


@dataclass(frozen=True)
class _KnownWorkers:
    """What the ledger holds in force for a chunk's workers, as this transaction sees it
    (earlier chunks of the writing pass included)."""

    known: list[InForceEvent]
    """Their registrations, memberships and payments (and, for a regional key, officer terms)."""
    registered: set[str]
    enrolled: set[str]
    """NIKs with a BPU membership in force, in any region."""
    seen: set[str]
    """NIKs a regional key knows: a registration, membership or officer term in its region."""
    memberships_here: list[dict[str, Any]]
    elsewhere: set[str]
    """NIKs whose only memberships lie outside the key's region: such a worker can be neither
    enrolled again nor paid for here (said so, without where)."""

    @classmethod
    async def read(cls, session: AsyncSession, *, principal: Principal, niks: set[str]) -> "_KnownWorkers":
        """Read what the ledger holds for these workers."""
        regional = principal.region_prefix is not None
        known = await projections_repository.in_force_events_of(
            session,
            niks=niks,
            types=[
                "person.registered",
                "informal.enrolled",
                "contribution.paid",
                *(["officer.enrolled"] if regional else []),
            ],
        )
        memberships = [e.payload for e in known if e.type == "informal.enrolled"]
        memberships_here = [p for p in memberships if principal.sees(p["region_code"])]
        enrolled = {p["nik"] for p in memberships}
        return cls(
            known=known,
            registered={e.payload["nik"] for e in known if e.type == "person.registered"},
            enrolled=enrolled,
            seen={
                e.payload["nik"]
                for e in known
                if e.type in ("person.registered", "informal.enrolled", "officer.enrolled")
                and principal.sees(e.payload["region_code"])
            },
            memberships_here=memberships_here,
            elsewhere=enrolled - {p["nik"] for p in memberships_here},
        )


async def _tally_accepted(
    session: AsyncSession,
    *,
    tally: SponsorTally,
    rows: list[SponsorRow],
    events: list[dict[str, Any]],
    workers: _KnownWorkers,
    principal: Principal,
) -> None:
    """Count a chunk's accepted rows and what they wrote."""
    tally.accepted += len(rows)
    tally.differing_membership.note(sponsor_notes.differing_rows(rows, workers.memberships_here))
    tally.differing_registration.note(
        await sponsor_notes.differing_registration_rows(
            session, rows=rows, known=workers.known, principal=principal
        )
    )
    tally.amount_total += sum(item.amount for item in rows)
    # a regional key's outcome counts as registered the workers it did not know, so that it tells
    # nothing of registrations elsewhere
    tally.registered += (
        len({item.nik for item in rows} - workers.seen)
        if principal.region_prefix is not None
        else sum(1 for e in events if e["type"] == "person.registered")
    )
    tally.enrolled += sum(1 for e in events if e["type"] == "informal.enrolled")


async def _append_chunk(
    session: AsyncSession,
    *,
    record: UploadRecord,
    rows: list[SponsorRow],
    tally: SponsorTally,
    recording_day: date,
    now: datetime,
    write: bool,
    read_again_if_moved: bool,
) -> list[ErrorItem]:
    """Append one chunk's rows (`write=False`: check only, no lock, nothing written): into the
    tally's unnumbered tx, or else as a tx of its own. Refused rows are taken out and the rest
    tried again. The row errors found."""
    principal = sponsor_principal(record)
    # the head the chunk's workers are read at, when a refusal may send the chunk round again
    read_at = await ledger_repository.resolve_known_at(session) if read_again_if_moved else None
    workers = await _KnownWorkers.read(session, principal=principal, niks={item.nik for item in rows})
    elsewhere = workers.elsewhere
    found = [
        ErrorItem(
            "membership_outside_region",
            "the worker has a BPU membership outside your region: the regional office that holds "
            "it must end it before the worker can be enrolled and paid for here",
            row=item.row,
            column="nik",
        )
        for item in rows
        if item.nik in elsewhere
    ]
    if found and write:  # a membership that appeared since the checking pass
        raise LateRefusal(found, _workers_of(rows, found))
    rows = [item for item in rows if item.nik not in elsewhere]
    restated = sponsor_notes.restated_rows(rows, workers.known, principal=principal, record=record)
    tally.duplicate += len(restated)
    rows = [item for item in rows if item.row not in restated]
    while rows:
        events, owners = _events_of(
            rows,
            registered=workers.registered,
            enrolled=workers.enrolled,
            sponsor=record.committee,
            prefix=record.upload_id.hex,
            day=recording_day,
        )
        try:
            parsed = _EVENTS.validate_python(events)
        except ValidationError as exc:
            refused = [
                ErrorItem(*validation_code(e), row=owners[int(e["loc"][0])].row)
                for e in exc.errors()
                if e["loc"] and isinstance(e["loc"][0], int)
            ]
            if write:
                # a row checked only when written (its worker appeared in an earlier chunk): the
                # writing pass decides on it like on a refusal by the ledger
                raise LateRefusal(refused, _workers_of(rows, refused)) from exc
        else:
            try:
                result = await _write_or_check(
                    session, record=record, tally=tally, events=parsed, now=now, write=write
                )
            except Unauthenticated as exc:  # the key revoked while the chunk waited for the lock
                raise key_gone(principal.key_name, exc) from exc
            except LedgerError as exc:
                refused = _row_errors(exc.errors, owners, events)
                if not refused:
                    raise FileRejected(exc.slug, exc.detail) from exc
                if read_at is not None and await projections_repository.persons_touched_since(
                    session, niks=_workers_of(rows, refused), since_tx=read_at
                ):
                    raise _MovedUnderCheck() from exc
                if write:
                    # the chunk may have written events before it was refused, and only the whole
                    # writing pass can be undone: a savepoint per chunk would give each its own
                    # subtransaction, and past 64 of them PostgreSQL slows every other session
                    raise LateRefusal(refused, _workers_of(rows, refused)) from exc
            else:
                await _tally_accepted(
                    session, tally=tally, rows=rows, events=events, workers=workers, principal=principal
                )
                if write and tally.unnumbered is None:
                    tally.txs.append(result.tx_seq)
                return found
        found.extend(refused)
        bad = {e.row for e in refused}
        rows = [item for item in rows if item.row not in bad]
    return found


async def _write_or_check(
    session: AsyncSession,
    *,
    record: UploadRecord,
    tally: SponsorTally,
    events: list[AppendableEvent],
    now: datetime,
    write: bool,
) -> AppendResult:
    """A chunk's events into the writing pass's unnumbered tx, else as a tx of their own (or,
    `write=False`, only checked)."""
    principal = sponsor_principal(record)
    if write and tally.unnumbered is not None:
        try:
            return await write_chunk(
                session, tx=tally.unnumbered, principal=principal, events=events, now=now
            )
        except NotEnterOnly:  # (nothing of the chunk written) it goes as a tx of its own
            await number_written(session, record=record, tally=tally)
    return await append_events(
        session,
        principal=principal,
        events=events,
        source=f"upload:{record.upload_id}",
        now=now,
        validate_only=not write,
    )


def sponsor_principal(record: UploadRecord) -> Principal:
    """The sponsor key an upload was made with, as the append path checks it."""
    return Principal(
        key_name=record.key_name,
        role=Role.SPONSOR,
        region_prefix=record.key_region_prefix,
        organisation=record.committee,
        is_system=record.key_name == "system",
    )


async def number_written(session: AsyncSession, *, record: UploadRecord, tally: SponsorTally) -> None:
    """Number the writing pass's unnumbered tx, if it holds anything; from then on the pass
    appends a chunk per tx under the lock. `ChangedMeanwhile` if the ledger moved under it."""
    tx, tally.unnumbered = tally.unnumbered, None
    if tx is None or not tx.written:
        return
    outcome = await number_tx(
        session, tx=tx, actor=sponsor_principal(record).actor, source=f"upload:{record.upload_id}"
    )
    tally.locked_since = tx.locked_at
    if outcome.status != "ok":
        raise ChangedMeanwhile()
    assert outcome.tx_seq is not None
    tally.txs.append(outcome.tx_seq)


class ChangedMeanwhile(Exception):
    """Something the writing pass's chunks were checked against changed before they were
    numbered: the pass is undone and written again (under the lock after `UNLOCKED_PASSES`)."""


class LateRefusal(Exception):
    """Rows the writing pass refused (their worker appeared in an earlier chunk, or the ledger
    changed since the checking pass): the pass is undone and, if the policy allows, run again
    without them. `niks`: the refused rows' workers."""

    def __init__(self, errors: list[ErrorItem], niks: set[str]) -> None:
        super().__init__(f"{len(errors)} row(s) refused while writing")
        self.errors = errors
        self.niks = niks
