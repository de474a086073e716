"""Processing a sponsor roster: every row checked on its own, then the rows' events appended
through the ledger's own append path (the same BPU rules as `POST /v1/events`: the amount due
under the rule in force, grace and lapse, a month paid once), a chunk of rows per tx, all in
one transaction. Rows the append path refuses are taken out by the errors' event index and the
rest of their chunk tried again, so every bad row is reported.

Two passes over the file keep memory flat: the first checks every chunk without writing or
taking the append lock (all a dry run does, and the writers are not held back); only when the
policy and the rows allow it does the second write the chunks, inside one savepoint. A late
refusal (a month paid twice across chunks) undoes it, and the upload fails (all_or_nothing) or
is written again without the refused rows.

The writing pass writes its chunks into one tx without the append lock and numbers it at the end
(`ledger.unnumbered`), so other writers wait only for that last step. A chunk naming a worker of
an earlier chunk needs that chunk in force: the tx so far is numbered then, and the rest of the
file goes a chunk per tx under the lock, held to the COMMIT as for any tx. If what the chunks
were checked against changed before the numbering, the pass is undone and written again, the
second time it happens under the lock (a look every few chunks finds most such changes early).
Between chunks the event loop serves other requests."""

import asyncio
import logging
import re
import time
from collections.abc import Container, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.domain.access import Principal, Role
from coverage_ledger.domain.timeframes import jakarta_date
from coverage_ledger.errors import ErrorItem, LedgerError
from coverage_ledger.ledger import projections
from coverage_ledger.ledger import repository as ledger_repository
from coverage_ledger.ledger.schemas import AppendableEvent
from coverage_ledger.ledger.service import append_events
from coverage_ledger.ledger.unnumbered import (
    NotEnterOnly,
    UnnumberedTx,
    moved_meanwhile,
    number_tx,
    write_chunk,
)
from coverage_ledger.uploads import repository
from coverage_ledger.uploads.cells import first_month_first, refuse_month_first, row_values
from coverage_ledger.uploads.formats import FileRejected
from coverage_ledger.uploads.job import PROGRESS_SECONDS, ROWS_SHOWN, Job
from coverage_ledger.uploads.sponsor_rows import (
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    SponsorRow,
    check_sponsor_header,
    check_sponsor_row,
    sponsor_events,
)

log = logging.getLogger(__name__)
_EVENTS = TypeAdapter(list[AppendableEvent])
_FIELD = re.compile(r"^events\[(\d+)\](?:\.(\w+))?")
CHUNK_ROWS = 2_000
"""Rows appended per tx: a chunk's events (up to three a row) are checked on the event loop, so
its size bounds how long other requests wait; a roster of up to this many rows is one tx."""


@dataclass
class SponsorTally:
    """What a sponsor roster has come to so far."""

    rows_total: int = 0
    rejected: set[int] = field(default_factory=set)
    """Row numbers with an error: skipped by the writing pass."""
    accepted: int = 0
    registered: int = 0
    enrolled: int = 0
    amount_total: int = 0
    txs: list[int] = field(default_factory=list)
    seen: set[int] = field(default_factory=set)
    """NIKs (as numbers: a million of them fit in tens of megabytes) of earlier chunks."""
    unnumbered: UnnumberedTx | None = None
    """The writing pass's tx while its chunks are written without the lock; None once it is
    numbered (or from the start, when the pass runs under the lock)."""
    locked_since: float | None = None
    """When the writing pass took the append lock (monotonic seconds)."""
    chunks_unlooked: int = 0
    """Chunks written unnumbered since the last look at whether the ledger moved under them."""
    month_first: ErrorItem | None = None
    """The first date only month/day/year reads: the file's other slash dates are then in doubt."""
    deferred: int = 0
    """Rows of the checking pass whose NIK an earlier chunk holds: their events depend on that
    chunk's, which the checking pass does not write, so they are checked when written."""
    differing: int = 0
    """Accepted rows of workers already members whose region, programs, income or sector differ
    from the membership in force (the payment is recorded against that membership)."""
    differing_first: list[int] = field(default_factory=list)
    """The first ROWS_SHOWN of those row numbers."""


@dataclass
class _Chunk:
    rows: list[SponsorRow] = field(default_factory=list)
    errors: list[ErrorItem] = field(default_factory=list)
    seen: int = 0
    exhausted: bool = False


def _read_chunk(
    rows: Iterator[tuple[int, list[str]]],
    positions: dict[str, int],
    *,
    districts: Container[str],
    regions: Container[str],
    key_region_prefix: str | None,
    skip: Container[int],
    today: date,
) -> _Chunk:
    """Check up to `CHUNK_ROWS` rows on their own (run in a worker thread); rows in `skip` are passed."""
    chunk = _Chunk()
    while len(chunk.rows) + len(chunk.errors) < CHUNK_ROWS:
        item = next(rows, None)
        if item is None:
            chunk.exhausted = True
            break
        row, cells = item
        chunk.seen += 1
        if row in skip:
            continue
        values = row_values(row, cells, positions)
        if isinstance(values, ErrorItem):
            chunk.errors.append(values)
            continue
        checked = check_sponsor_row(
            row,
            values,
            districts=districts,
            regions=regions,
            key_region_prefix=key_region_prefix,
            today=today,
        )
        if isinstance(checked, list):
            chunk.errors.extend(checked)
        else:
            chunk.rows.append(checked)
    return chunk


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
    for item in rows:
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


def _column_of(field: str) -> str | None:
    """The roster column behind an event field (the payer's budget is the `budget` column)."""
    if field == "payer":
        return "budget"
    return field if field in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS) else None


def _row_errors(items: Sequence[ErrorItem], owners: Sequence[SponsorRow]) -> list[ErrorItem]:
    mapped = []
    for item in items:
        found = _FIELD.match(item.field or "")
        if found is None:
            continue
        owner = owners[int(found.group(1))]
        column = _column_of(found.group(2) or "")
        mapped.append(ErrorItem(item.code, item.message, row=owner.row, column=column))
    return mapped


async def append_sponsor_chunk(
    session: AsyncSession,
    *,
    record: Any,
    rows: list[SponsorRow],
    tally: SponsorTally,
    recording_day: date,
    now: datetime,
    write: bool,
) -> list[ErrorItem]:
    """Append one chunk's rows (`write=False`: check only, no lock, nothing written): into the
    tally's unnumbered tx, or else as a tx of its own. Refused rows are taken out and the rest
    tried again. The row errors found."""
    principal = sponsor_principal(record)
    # the ledger as this transaction sees it, earlier chunks of the writing pass included
    known = await projections.in_force_events_of(
        session, niks={item.nik for item in rows}, types=["person.registered", "informal.enrolled"]
    )
    registered = {e.payload["nik"] for e in known if e.type == "person.registered"}
    memberships = [e.payload for e in known if e.type == "informal.enrolled"]
    enrolled = {p["nik"] for p in memberships}
    # a worker whose only memberships lie outside the key's region can be neither enrolled
    # again nor paid for here: said so, without where
    elsewhere = enrolled - {p["nik"] for p in memberships if principal.sees(p["region_code"])}
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
        raise LateRefusal(found)
    rows = [item for item in rows if item.nik not in elsewhere]
    while rows:
        events, owners = _events_of(
            rows,
            registered=registered,
            enrolled=enrolled,
            sponsor=record.committee,
            prefix=record.upload_id.hex,
            day=recording_day,
        )
        try:
            parsed = _EVENTS.validate_python(events)
        except ValidationError as exc:
            refused = [
                ErrorItem(str(e["type"]), str(e["msg"]), row=owners[int(e["loc"][0])].row)
                for e in exc.errors()
                if e["loc"] and isinstance(e["loc"][0], int)
            ]
            if write:
                # a row checked only when written (its worker appeared in an earlier chunk): the
                # writing pass decides on it like on a refusal by the ledger
                raise LateRefusal(refused) from exc
        else:
            try:
                result = None
                if write and tally.unnumbered is not None:
                    try:
                        result = await write_chunk(
                            session, tx=tally.unnumbered, principal=principal, events=parsed, now=now
                        )
                    except NotEnterOnly:  # (nothing of the chunk written) it goes as a tx of its own
                        await number_written(session, record=record, tally=tally)
                if result is None:
                    result = await append_events(
                        session,
                        principal=principal,
                        events=parsed,
                        source=f"upload:{record.upload_id}",
                        now=now,
                        validate_only=not write,
                    )
            except LedgerError as exc:
                refused = _row_errors(exc.errors, owners)
                if not refused:
                    raise FileRejected(exc.slug, exc.detail) from exc
                if write:
                    # the chunk may have written events before it was refused, and only the whole
                    # writing pass can be undone: a savepoint per chunk would give each its own
                    # subtransaction, and past 64 of them PostgreSQL slows every other session
                    raise LateRefusal(refused) from exc
            else:
                tally.accepted += len(rows)
                _count_differing(rows, memberships, tally)
                tally.amount_total += sum(item.amount for item in rows)
                tally.registered += sum(1 for e in events if e["type"] == "person.registered")
                tally.enrolled += sum(1 for e in events if e["type"] == "informal.enrolled")
                if write and tally.unnumbered is None:
                    tally.txs.append(result.tx_seq)
                return found
        found.extend(refused)
        bad = {e.row for e in refused}
        rows = [item for item in rows if item.row not in bad]
    return found


def _count_differing(
    rows: Sequence[SponsorRow], memberships: Sequence[dict[str, Any]], tally: SponsorTally
) -> None:
    """Tally the accepted rows whose worker's membership in force says otherwise than the row."""
    latest: dict[str, dict[str, Any]] = {}
    for payload in sorted(memberships, key=lambda p: p["valid_from"]):
        latest[payload["nik"]] = payload
    for item in rows:
        membership = latest.get(item.nik)
        if membership is None:
            continue
        if (
            membership["region_code"] != item.region_code
            or set(membership["programs"]) != set(item.programs)
            or int(membership["declared_income"]) != item.declared_income
            or membership.get("sector", "other") != item.sector
        ):
            tally.differing += 1
            if len(tally.differing_first) < ROWS_SHOWN:
                tally.differing_first.append(item.row)


def sponsor_principal(record: Any) -> Principal:
    """The sponsor key an upload was made with, as the append path checks it."""
    return Principal(
        key_name=record.key_name,
        role=Role.SPONSOR,
        region_prefix=record.key_region_prefix,
        organisation=record.committee,
        is_system=record.key_name == "system",
    )


async def number_written(session: AsyncSession, *, record: Any, tally: SponsorTally) -> None:
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


LOOK_EVERY_CHUNKS = 10
"""Chunks of an unnumbered pass between two looks at whether the ledger moved under it."""
UNLOCKED_PASSES = 2
"""Writing passes tried without the lock before one under it: a worker touched over the API
during a long upload costs a second pass, not the writers' wait through the whole file."""


class LateRefusal(Exception):
    """Rows the writing pass refused (their worker appeared in an earlier chunk, or the ledger
    changed since the checking pass): the pass is undone and, if the policy allows, run again
    without them."""

    def __init__(self, errors: list[ErrorItem]) -> None:
        super().__init__(f"{len(errors)} row(s) refused while writing")
        self.errors = errors


WRITE_ATTEMPTS = 3
"""Writing passes refused (rows taken out each time) before the next ones run under the lock."""


class SponsorRosterJob(Job):
    """One run of one sponsor roster upload."""

    async def run(self) -> None:
        record = self.record
        started = time.monotonic()
        checking = SponsorTally()
        await self._pass(checking, write=False)
        self.phases["validate"] = round(time.monotonic() - started, 3)
        if checking.rows_total == 0:
            raise FileRejected("no_rows", "the file has a header but no data rows")
        refuse_month_first(checking.month_first)
        rejected = len(checking.rejected)
        to_write = checking.accepted + checking.deferred
        self.counts = {
            "rows_total": checking.rows_total,
            "rows_done": checking.rows_total,
            "rows_rejected": rejected,
            "rows_duplicate": 0,
            # rows that passed every check: a deferred row is neither accepted nor rejected yet
            "rows_accepted": checking.accepted,
        }
        allowed = record.policy == "accept_valid" or not rejected
        if record.dry_run or not allowed or not to_write:
            self.outcome = self._outcome(checking, written=False)
            if checking.deferred:
                self.outcome["checked_when_written"] = checking.deferred
            if record.dry_run:
                self.outcome["would_commit"] = bool(to_write) and allowed
            await self.work.commit()
            await self._finish_unwritten(rejected, failed=not allowed and not record.dry_run)
            return
        started = time.monotonic()
        await self.progress.set(status="committing", **self.counts)
        refused = set(checking.rejected)
        locked_since: float | None = None
        """Set once the pass runs under the lock: held from then on to the COMMIT."""
        refusals = moved = 0
        while True:
            await repository.savepoint(self.work, "sponsor")
            writing = SponsorTally(
                rejected=set(refused),
                unnumbered=UnnumberedTx() if locked_since is None else None,
                locked_since=locked_since,
            )
            try:
                await self._pass(writing, write=True)
                await number_written(self.work, record=record, tally=writing)
                break
            except ChangedMeanwhile:
                await repository.rollback_to(self.work, "sponsor")
                refused |= writing.rejected  # (already reported: not again)
                moved += 1
                if moved < UNLOCKED_PASSES:
                    log.info("upload %s: the ledger moved while writing; writing again", record.upload_id)
                    continue
                # under the lock nothing can change beneath the pass: this happens once at most
                log.info("upload %s: the ledger moved while writing; again under the lock", record.upload_id)
                await ledger_repository.take_append_lock(self.work)
                locked_since = time.monotonic()
            except LateRefusal as late:
                await repository.rollback_to(self.work, "sponsor")
                await self.progress.errors(sorted(late.errors, key=lambda e: e.row or 0))
                before = len(refused)
                refused |= writing.rejected | {e.row for e in late.errors if e.row is not None}
                if record.policy == "all_or_nothing":
                    self.counts |= {"rows_rejected": len(refused), "rows_accepted": 0}
                    self.outcome = self._outcome(SponsorTally(), written=False)
                    await self.work.commit()
                    await self._finish_unwritten(len(refused), failed=True)
                    return
                refusals += 1
                if locked_since is not None and len(refused) == before:
                    # under the lock the ledger stands still, so each refusal takes out new rows
                    # and the passes come to an end; one that takes out none would not
                    raise FileRejected(
                        "rows_keep_failing", "rows kept being refused while written; upload again"
                    ) from late
                if refusals == WRITE_ATTEMPTS - 1 and locked_since is None:
                    # refusals that may come from writers appending meanwhile: the next passes
                    # run under the lock, where only the file's own rows can refuse each other
                    log.info("upload %s: rows refused while writing; again under the lock", record.upload_id)
                    await ledger_repository.take_append_lock(self.work)
                    locked_since = time.monotonic()
        self.phases["commit"] = round(time.monotonic() - started, 3)
        if writing.locked_since is not None:
            # how long other writers waited on this upload (the lock is held to the COMMIT)
            self.phases["commit_locked"] = round(time.monotonic() - writing.locked_since, 3)
        self.counts |= {"rows_rejected": len(writing.rejected), "rows_accepted": writing.accepted}
        self.outcome = self._outcome(writing, written=bool(writing.txs))
        if len(writing.txs) > 1:
            self.outcome["txs"] = [writing.txs[0], writing.txs[-1]]
        await repository.update_upload(
            self.work,
            record.upload_id,
            status="succeeded",
            tx_seq=writing.txs[-1] if writing.txs else None,
            finished_at=self.clock(),
            stored_path=None,
            outcome=self.outcome,
            phase_seconds=self.phases,
            **self.counts,
        )
        await self.work.commit()  # the upload's status commits with its txs

    async def _pass(self, tally: SponsorTally, *, write: bool) -> None:
        """Read the file chunk by chunk and append (or only check) each chunk."""
        record = self.record
        regions, districts = await repository.regions_in_force(self.work)
        recording_day = jakarta_date(self.clock())
        table = await self.open_table()
        try:
            try:
                positions = check_sponsor_header(table.header)
            except ValueError as exc:
                raise FileRejected("wrong_header", str(exc)) from exc
            skip = frozenset(tally.rejected)
            while True:
                chunk = await asyncio.to_thread(
                    _read_chunk,
                    table.rows,
                    positions,
                    districts=districts,
                    regions=regions,
                    key_region_prefix=record.key_region_prefix,
                    skip=skip,
                    today=recording_day,
                )
                tally.rows_total += chunk.seen
                errors = chunk.errors
                rows = chunk.rows
                if not write:
                    rows = [item for item in chunk.rows if int(item.nik) not in tally.seen]
                    tally.deferred += len(chunk.rows) - len(rows)
                elif tally.unnumbered is not None and any(int(item.nik) in tally.seen for item in rows):
                    # a worker of an earlier chunk: that chunk must be in force to check this one
                    await number_written(self.work, record=record, tally=tally)
                tally.seen |= {int(item.nik) for item in chunk.rows}
                if rows:
                    errors = errors + await append_sponsor_chunk(
                        self.work,
                        record=record,
                        rows=rows,
                        tally=tally,
                        recording_day=recording_day,
                        now=self.clock(),
                        write=write,
                    )
                    await self._look_for_moves(tally)
                if errors:
                    await self.progress.errors(sorted(errors, key=lambda e: e.row or 0))
                    tally.rejected |= {e.row for e in errors if e.row is not None}
                    tally.month_first = first_month_first(tally.month_first, errors)
                if not write and time.monotonic() - self.progress.last >= PROGRESS_SECONDS:
                    # (the writing pass reads the file again: rows_done already counts it all)
                    await self.progress.set(rows_done=tally.rows_total, rows_rejected=len(tally.rejected))
                if chunk.exhausted:
                    return
        finally:
            table.close()

    async def _look_for_moves(self, tally: SponsorTally) -> None:
        """Every `LOOK_EVERY_CHUNKS` chunks of an unnumbered pass: `ChangedMeanwhile` as soon as
        the numbering would find the pass stale, rather than at its end."""
        if tally.unnumbered is None:
            return
        tally.chunks_unlooked += 1
        if tally.chunks_unlooked >= LOOK_EVERY_CHUNKS:
            tally.chunks_unlooked = 0
            if await moved_meanwhile(self.work, tx=tally.unnumbered):
                raise ChangedMeanwhile()

    def _outcome(self, tally: SponsorTally, *, written: bool) -> dict[str, Any]:
        return {
            "written": written,
            "registered": tally.registered,
            "enrolled": tally.enrolled,
            "paid": tally.accepted,
            "amount_total": tally.amount_total,
            "rows_differing_from_membership": tally.differing,
            "rows_differing_from_membership_first": tally.differing_first,
        }

    async def _finish_unwritten(self, rejected: int, *, failed: bool) -> None:
        problem = None
        if failed:
            problem = {
                "code": "rows_rejected",
                "message": f"{rejected} row(s) have errors; nothing was written (policy all_or_nothing)",
            }
        await self.finish("failed" if failed else "succeeded", problem=problem)
