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
import time
from typing import Any

from coverage_ledger.domain.timeframes import jakarta_date
from coverage_ledger.ledger import projections_repository
from coverage_ledger.ledger import repository as ledger_repository
from coverage_ledger.ledger.unnumbered import UnnumberedTx, moved_meanwhile
from coverage_ledger.uploads import repository
from coverage_ledger.uploads.cells import first_month_first, refuse_month_first
from coverage_ledger.uploads.formats import FileRejected
from coverage_ledger.uploads.job_progress import (
    NO_VALID_ROW,
    PROGRESS_SECONDS,
    Job,
    nothing_valid,
    refuse_if_key_gone,
    rows_rejected,
)
from coverage_ledger.uploads.sponsor_chunks import (
    ChangedMeanwhile,
    LateRefusal,
    append_sponsor_chunk,
    number_written,
)
from coverage_ledger.uploads.sponsor_reading import read_chunk
from coverage_ledger.uploads.sponsor_rows import check_sponsor_header
from coverage_ledger.uploads.sponsor_tally import SponsorTally

log = logging.getLogger(__name__)

CHUNK_ROWS = 2_000
"""Rows appended per tx: a chunk's events (up to three a row) are checked on the event loop, so
its size bounds how long other requests wait; a roster of up to this many rows is one tx."""


LOOK_EVERY_CHUNKS = 10
"""Chunks of an unnumbered pass between two looks at whether the ledger moved under it."""


UNLOCKED_PASSES = 2
"""Writing passes tried without the lock before one under it: a worker touched over the API
during a long upload costs a second pass, not the writers' wait through the whole file."""


class SponsorRosterJob(Job):
    """One run of one sponsor roster upload."""

    async def run(self) -> None:
        checking = await self._check()
        to_write = checking.accepted + checking.deferred
        allowed = self.record.policy == "accept_valid" or not checking.rejected
        if self.record.dry_run or not allowed or not to_write:
            await self._end_unwritten(checking, allowed=allowed)
            return
        started = time.monotonic()
        await self.progress.set(status="committing", **self.counts)
        writing = await self._write(refused=set(checking.rejected))
        if writing is None:
            return
        self.phases["commit"] = round(time.monotonic() - started, 3)
        if writing.locked_since is not None:
            # how long other writers waited on this upload (the lock is held to the COMMIT)
            self.phases["commit_locked"] = round(time.monotonic() - writing.locked_since, 3)
        await self._end_written(writing)

    async def _check(self) -> SponsorTally:
        """The checking pass: every row checked, nothing written, the counts it gives set."""
        started = time.monotonic()
        checking = SponsorTally()
        await self._pass(checking, write=False)
        self.phases["validate"] = round(time.monotonic() - started, 3)
        if checking.rows_total == 0:
            raise FileRejected("no_rows", "the file has a header but no data rows")
        # a file refused for its month-first dates still says how many rows it read and refused
        self.counts = {
            "rows_total": checking.rows_total,
            "rows_done": checking.rows_total,
            "rows_rejected": len(checking.rejected),
        }
        refuse_month_first(checking.month_first)
        self.counts |= {
            "rows_duplicate": checking.duplicate,
            # rows that passed every check: a deferred row is neither accepted nor rejected yet
            "rows_accepted": checking.accepted,
        }
        return checking

    async def _end_unwritten(self, checking: SponsorTally, *, allowed: bool) -> None:
        """A dry run, a file the policy refuses, or one with nothing to write: its outcome."""
        to_write = checking.accepted + checking.deferred
        rejected = len(checking.rejected)
        failed = not allowed or nothing_valid(rejected=rejected, kept=to_write + checking.duplicate)
        if failed and not self.record.dry_run:
            # nothing registered, enrolled or paid: the counts of what the file would have written
            # read as written beside a failure (as a late refusal's outcome already says)
            self.outcome = self._outcome(SponsorTally(), written=False)
        else:
            self.outcome = self._outcome(checking, written=False)
        if checking.deferred:  # rows a fixed file may still find wrong: they were never checked
            self.outcome["checked_when_written"] = checking.deferred
        if self.record.dry_run:
            self.outcome["would_commit"] = bool(to_write) and allowed
        await self.work.commit()
        await self._finish_unwritten(rejected, failed=failed and not self.record.dry_run)

    async def _write(self, *, refused: set[int]) -> SponsorTally | None:
        """The writing pass, written again while the ledger moves under it; None when a late
        refusal failed the upload (all_or_nothing), its outcome then recorded."""
        record = self.record
        locked_since: float | None = None
        """Set once the pass runs under the lock: held from then on to the COMMIT."""
        moved = 0
        while True:
            await repository.savepoint(self.work, "sponsor")
            writing = SponsorTally(
                rejected=set(refused),
                unnumbered=UnnumberedTx() if locked_since is None else None,
                locked_since=locked_since,
            )
            pass_head = await ledger_repository.resolve_known_at(self.work)
            try:
                await self._pass(writing, write=True)
                await number_written(self.work, record=record, tally=writing)
                return writing
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
                refused |= writing.rejected  # (already reported: not again)
                if locked_since is None and await projections_repository.persons_touched_since(
                    self.work, niks=late.niks, since_tx=pass_head
                ):
                    # a writer appended for these workers meanwhile and may be the cause (a worker
                    # registered, enrolled or paid for since the checking pass): decided again
                    # under the lock, where only the file's own rows can refuse each other
                    log.info(
                        "upload %s: rows refused while the ledger moved; again under the lock",
                        record.upload_id,
                    )
                    await ledger_repository.take_append_lock(self.work)
                    locked_since = time.monotonic()
                    continue
                if not await self._note_late_refusal(late, refused=refused):
                    return None

    async def _note_late_refusal(self, late: LateRefusal, *, refused: set[int]) -> bool:
        """Report rows the writing pass refused; False when that failed the upload, which is
        then recorded (all_or_nothing), True when the pass should run again without them."""
        await self.progress.errors(sorted(late.errors, key=lambda e: e.row or 0))
        before = len(refused)
        refused |= {e.row for e in late.errors if e.row is not None}
        if self.record.policy == "all_or_nothing":
            # the rows that passed the checking pass, less those refused since
            newly = len(refused) - self.counts["rows_rejected"]
            self.counts |= {
                "rows_rejected": len(refused),
                "rows_accepted": max(0, self.counts["rows_accepted"] - newly),
            }
            self.outcome = self._outcome(SponsorTally(), written=False)
            await self.work.commit()
            await self._finish_unwritten(len(refused), failed=True)
            return False
        if len(refused) == before:
            # each refusal takes out new rows, so the passes come to an end; one that takes out
            # none would not
            raise FileRejected(
                "rows_keep_failing", "rows kept being refused while written; upload again"
            ) from late
        return True

    async def _end_written(self, writing: SponsorTally) -> None:
        """Record the written pass's outcome; its status commits with its txs."""
        record = self.record
        self.counts |= {
            "rows_rejected": len(writing.rejected),
            "rows_accepted": writing.accepted,
            "rows_duplicate": writing.duplicate,
        }
        self.outcome = self._outcome(writing, written=bool(writing.txs))
        if nothing_valid(rejected=len(writing.rejected), kept=writing.accepted + writing.duplicate):
            # the rows left for the writing pass were all refused there: as in the checking pass
            await self.work.commit()
            await self._finish_unwritten(len(writing.rejected), failed=True)
            return
        if len(writing.txs) > 1:
            self.outcome["txs"] = [writing.txs[0], writing.txs[-1]]
        # every path that wrote txs holds the append lock to the COMMIT: the key is checked once
        # here, whichever way the chunks went (an unnumbered tx, or a tx per chunk)
        await refuse_if_key_gone(self.work, key_name=record.key_name, now=self.clock())
        await repository.update_upload(
            self.work,
            record.upload_id,
            status="succeeded",
            tx_seq=writing.txs[-1] if writing.txs else None,
            finished_at=self.clock(),
            stored_path=None,
            outcome=self.reported_outcome(),
            phase_seconds=self.phases,
            **self.counts,
        )
        await self.work.commit()

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
                raise table.wrong_header(exc) from exc
            skip = frozenset(tally.rejected)
            while True:
                chunk = await asyncio.to_thread(
                    read_chunk,
                    table.rows,
                    positions,
                    limit=CHUNK_ROWS,
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
            "rows_differing_from_membership": tally.differing_membership.count,
            "rows_differing_from_membership_first": tally.differing_membership.first,
            "rows_differing_from_registration": tally.differing_registration.count,
            "rows_differing_from_registration_first": tally.differing_registration.first,
        }

    async def _finish_unwritten(self, rejected: int, *, failed: bool) -> None:
        why = "policy all_or_nothing" if self.record.policy == "all_or_nothing" else NO_VALID_ROW
        await self.finish(
            "failed" if failed else "succeeded", problem=rows_rejected(rejected, why) if failed else None
        )
