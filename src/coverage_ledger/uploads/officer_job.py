"""Processing an officer roster at scale, as DESIGN.md's append path: the file is read in
chunks in a worker thread and staged with COPY; duplicates and overlaps are checked set-based in
SQL; the events are written under a provisional tx id inside a savepoint; only then is the append
lock taken. If an enrolment of a staged NIK entered force meanwhile, the savepoint is rolled back
and the checks run again under the lock. Errors are committed apart from the ledger write, so a
rejected file still tells its uploader what is wrong."""

import logging
import time
import uuid
from datetime import date
from typing import Any

from coverage_ledger.coverage.spans import refresh_spans
from coverage_ledger.domain.rule_table import RuleTable
from coverage_ledger.domain.timeframes import jakarta_date
from coverage_ledger.ledger import projections_repository
from coverage_ledger.ledger import repository as ledger_repository
from coverage_ledger.ledger.rule_table_cache import rule_table_at
from coverage_ledger.uploads import repository, roster_repository, staging_repository
from coverage_ledger.uploads.cells import refuse_month_first
from coverage_ledger.uploads.formats import FileRejected, Table
from coverage_ledger.uploads.invoice import InvoiceLine, roster_invoice
from coverage_ledger.uploads.job_progress import (
    NO_VALID_ROW,
    ROWS_SHOWN,
    Job,
    nothing_valid,
    refuse_if_key_gone,
    rows_rejected,
)
from coverage_ledger.uploads.officer_rows import RosterContext, check_header
from coverage_ledger.uploads.officer_staging import StagedFile, row_counts, stage_file
from coverage_ledger.uploads.replacement import RosterCorrections, roster_corrections

log = logging.getLogger(__name__)


def _needs_every_row(policy: str, replace: bool) -> bool:
    """Whether one rejected row fails the upload: by policy, or because a replacing roster's
    missing officers are retracted and a rejected row (a typo in a date, a mangled NIK) would
    read as an officer who left."""
    return policy == "all_or_nothing" or replace


class OfficerRosterJob(Job):
    """One run of one officer roster upload."""

    registered_for_key = 0
    """The outcome's `registered`: persons registered by the roster, or for a regional key those
    new to its region (see `roster_repository.persons_new_to_region`)."""

    async def run(self) -> None:
        started = time.monotonic()
        table = await self.open_table()
        try:
            await self._validate(table, started)
        finally:
            table.close()

    async def _validate(self, table: Table, started: float) -> None:
        record = self.record
        try:
            check_header(table.header)
        except ValueError as exc:
            raise table.wrong_header(exc) from exc
        snapshot = await ledger_repository.resolve_known_at(self.work)
        regions, districts = await repository.regions_in_force(self.work)
        context = RosterContext(
            committee=record.committee,
            key_region_prefix=record.key_region_prefix,
            regions=regions,
            districts=districts,
            event_prefix=record.upload_id.hex,
            recording_day=jakarta_date(self.clock()),
            bounded_regions=await repository.bounded_regions(self.work),
        )
        await staging_repository.create_staging(self.work)
        tally = await stage_file(self.work, self.progress, table, context, self.phases)
        self.phases["parse"] = round(time.monotonic() - started, 3)
        if tally.rows_total == 0:
            raise FileRejected("no_rows", "the file has a header but no data rows")
        # a file refused for its month-first dates still says how many rows it read and refused
        self.counts = {
            "rows_total": tally.rows_total,
            "rows_done": tally.rows_total,
            "rows_rejected": tally.rejected_alone,
        }
        refuse_month_first(tally.month_first)
        started = time.monotonic()
        await staging_repository.index_staging(self.work)
        replace = record.mode == "replace_roster"
        await self._check_file(replace)
        self.counts = row_counts(tally, await staging_repository.verdict_counts(self.work))
        await self.work.commit()  # the row errors found in SQL are kept whatever follows
        self.phases["validate"] = round(time.monotonic() - started, 3)
        await self._decide(snapshot, tally, replace)

    async def _decide(self, snapshot: int, tally: StagedFile, replace: bool) -> None:
        record = self.record
        rejected = self.counts["rows_rejected"]
        all_needed = _needs_every_row(record.policy, replace)
        if record.dry_run:
            corrections = await self._corrections(replace)
            # it would commit when no rule stops it and there is something to write
            would_commit = not (all_needed and rejected) and bool(
                self.counts["rows_accepted"] or corrections.events
            )
            self.outcome = {
                "written": False,
                "would_commit": would_commit,
                **corrections.summary(self.counts),
                **await self._warnings(jakarta_date(self.clock()), anyone_known=True),
            }
            await self.finish("succeeded")
            return
        kept = self.counts["rows_accepted"] + self.counts["rows_duplicate"]
        if (all_needed and rejected) or nothing_valid(rejected=rejected, kept=kept):
            self.outcome = {"written": False}
            why = (
                "policy all_or_nothing"
                if record.policy == "all_or_nothing"
                else "replace_roster retracts the officers a roster leaves out, and a rejected row "
                "may be an officer still serving: fix the rows and upload again"
                if replace
                else NO_VALID_ROW
            )
            await self.finish("failed", problem=rows_rejected(rejected, why))
            return
        await self.progress.set(status="committing", **self.counts)
        self.commit_started = time.monotonic()
        tx_seq = await self._commit(snapshot, tally, replace)
        if tx_seq is not None:
            return
        await self.finish(
            "failed",
            problem={
                "code": "rows_rejected",
                "message": f"{self.counts['rows_rejected']} row(s) conflict with enrolments committed "
                "meanwhile; nothing was written (policy all_or_nothing, or a replacing roster)",
            },
        )

    async def _commit(self, snapshot: int, tally: StagedFile, replace: bool) -> int | None:
        """Write and commit the tx (or, for a dry run, only count); None when a race made an
        all-or-nothing upload fail."""
        work = self.work
        recording_day = jakarta_date(self.clock())
        corrections = await self._corrections(replace)
        rules = await rule_table_at(work, tx_seq=snapshot)
        invoice = await roster_invoice(
            work, recording_day=recording_day, rules=rules, corrections=corrections
        )
        tx_id = uuid.uuid4()
        await repository.savepoint(work, "roster")
        mark = time.monotonic()
        written = await self._write(tx_id, corrections)
        # before the append lock: the registrations compared are those in force before this tx
        warnings = await self._warnings(recording_day, anyone_known=written[0] < written[1])
        self.phases["commit_write_events"] = round(time.monotonic() - mark, 3)
        mark = time.monotonic()
        head = await ledger_repository.take_append_lock(work)
        if head > snapshot and await staging_repository.regions_changed_since(work, since_tx=snapshot):
            # rare (an admin's change of the region list): the rows' own checks would all run again
            raise FileRejected(
                "regions_changed",
                "a region this roster names (a row's region_code, or the district of a NIK) was "
                "defined, changed or retracted while the roster was checked; nothing was written: "
                "upload the file again",
            )
        if head > snapshot and (
            replace or await staging_repository.persons_changed_since(work, since_tx=snapshot)
        ):
            # some of these persons (or, replacing, this committee's roster) changed meanwhile:
            # the events go, and the file is checked again from scratch under the lock
            checked_again = await self._check_again_under_lock(tx_id, tally, replace, recording_day, rules)
            if checked_again is None:
                return None
            head, corrections, written, warnings, invoice = checked_again
        if head > snapshot and await projections_repository.rules_changed_since(work, since_tx=snapshot):
            # the invoice is priced by the rules as this tx will know them (found by a probe: an
            # officer rate corrected while the roster was checked billed the old one, and a later
            # retraction credited the new one)
            rules = await rule_table_at(work, tx_seq=head)
            invoice = await roster_invoice(
                work, recording_day=recording_day, rules=rules, corrections=corrections
            )
        if not any(written) and not corrections.events:
            self.outcome = {"written": False, **corrections.summary(self.counts), "invoice_total": 0}
            await work.commit()
            await self.finish("succeeded")
            return 0
        tx_seq = await self._seal(tx_id, head=head, corrections=corrections, locked_at=mark)
        await self._record_success(tx_seq, invoice=invoice, corrections=corrections, warnings=warnings)
        return tx_seq

    async def _seal(
        self, tx_id: uuid.UUID, *, head: int, corrections: RosterCorrections, locked_at: float
    ) -> int:
        """Number and chain the written tx (under the append lock taken at `locked_at`), then
        project its coverage spans; its number."""
        record = self.record
        work = self.work
        # under the lock, just before the tx is numbered (the recheck before may have taken minutes)
        await refuse_if_key_gone(work, key_name=record.key_name, now=self.clock())
        outcome = await ledger_repository.seal_append(
            work,
            tx_id=tx_id,
            actor=f"key:{record.key_name}" if record.key_name != "system" else "system",
            source=f"upload:{record.upload_id}",
            backfill_at=None,
            digests=[],
            snapshot=head,
            watch_events=[],
            watch_niks=[],
            watch_regions=[],
            leaving=corrections.leaving,
            entering=[],
            links=corrections.links,
            enter_written=True,
        )
        assert outcome.status == "ok" and outcome.tx_seq is not None, outcome
        assert outcome.recorded_at is not None
        self.phases["commit_lock_and_chain"] = round(time.monotonic() - locked_at, 3)
        mark = time.monotonic()
        # coverage spans: set-based for officers whose only cover is this roster's row, the
        # general recomputation for everyone else the tx touched
        others = await roster_repository.niks_needing_span_refresh(work)
        due = await roster_repository.open_roster_spans(
            work, tx_seq=outcome.tx_seq, recording_day=jakarta_date(outcome.recorded_at), refreshed=others
        )
        await refresh_spans(
            work,
            niks=sorted(set(others) | set(corrections.retracted_niks)),
            tx_seq=outcome.tx_seq,
            due=due,
        )
        self.phases["commit_spans"] = round(time.monotonic() - mark, 3)
        return outcome.tx_seq

    async def _record_success(
        self,
        tx_seq: int,
        *,
        invoice: list[InvoiceLine],
        corrections: RosterCorrections,
        warnings: dict[str, Any],
    ) -> None:
        """The invoice, outcome and status of a written roster, committed with its tx: after a
        crash, either both are there or neither."""
        record = self.record
        work = self.work
        await repository.write_invoice(work, upload_id=record.upload_id, lines=invoice)
        self.outcome = {
            "written": True,
            "registered": self.registered_for_key,
            **corrections.summary(self.counts),
            **warnings,
            "invoice_total": sum(line[3] for line in invoice),
        }
        self.phases["commit"] = round(time.monotonic() - self.commit_started, 3)
        await repository.update_upload(
            work,
            record.upload_id,
            status="succeeded",
            tx_seq=tx_seq,
            finished_at=self.clock(),
            stored_path=None,
            outcome=self.reported_outcome(),
            phase_seconds=self.phases,
            **self.counts,
        )
        await work.commit()
        log.info(
            "upload %s (%s of %s): succeeded in tx %d, %s, %s",
            record.upload_id,
            record.kind,
            record.committee,
            tx_seq,
            self.counts,
            self.outcome,
        )

    async def _check_again_under_lock(
        self, tx_id: uuid.UUID, tally: StagedFile, replace: bool, recording_day: date, rules: RuleTable
    ) -> tuple[int, RosterCorrections, tuple[int, int], dict[str, Any], list[InvoiceLine]] | None:
        """The written events undone and the file checked and written again under the lock: the
        head, corrections, counts written, warnings and invoice; None when the upload failed."""
        work = self.work
        await repository.rollback_to(work, "roster")
        head = await ledger_repository.take_append_lock(work)
        await staging_repository.forget_verdicts(work, upload_id=self.record.upload_id)
        await self._check_file(replace)
        self.counts = row_counts(tally, await staging_repository.verdict_counts(work))
        if _needs_every_row(self.record.policy, replace) and self.counts["rows_rejected"]:
            self.outcome = {"written": False}
            await work.commit()
            return None
        corrections = await self._corrections(replace)
        written = await self._write(tx_id, corrections)
        warnings = await self._warnings(recording_day, anyone_known=written[0] < written[1])
        invoice = await roster_invoice(
            work, recording_day=recording_day, rules=rules, corrections=corrections
        )
        return head, corrections, written, warnings, invoice

    async def _check_file(self, replace: bool) -> None:
        """The set-based checks: repeated NIKs, then every staged row against the ledger."""
        record = self.record
        await staging_repository.mark_repeated_niks(self.work, upload_id=record.upload_id)
        await staging_repository.check_against_ledger(
            self.work,
            upload_id=record.upload_id,
            committee=record.committee,
            key_region_prefix=record.key_region_prefix,
            replace_roster=replace,
        )
        await staging_repository.check_registered_births(self.work, upload_id=record.upload_id)
        await staging_repository.reject_repeats_of_rejected_rows(self.work, upload_id=record.upload_id)

    async def _warnings(self, recording_day: date, *, anyone_known: bool) -> dict[str, Any]:
        """The accepted rows a clerk should look at again, though they are no errors: registered too
        late for any cover, or naming a registered person otherwise than the registration does."""
        count, rows = await roster_repository.rows_without_cover(
            self.work, recording_day=recording_day, limit=ROWS_SHOWN
        )
        # every row registered its person afresh (`anyone_known` false): nobody to differ from
        differing, differing_rows = (
            await roster_repository.rows_differing_from_registration(
                self.work, key_region_prefix=self.record.key_region_prefix, limit=ROWS_SHOWN
            )
            if anyone_known
            else (0, [])
        )
        return {
            "rows_without_cover": count,
            "rows_without_cover_first": rows,
            "rows_differing_from_registration": differing,
            "rows_differing_from_registration_first": differing_rows,
        }

    async def _corrections(self, replace: bool) -> RosterCorrections:
        return await roster_corrections(
            self.work,
            upload_id=str(self.record.upload_id),
            committee=self.record.committee,
            key_region_prefix=self.record.key_region_prefix,
            replace=replace,
        )

    async def _write(self, tx_id: uuid.UUID, corrections: RosterCorrections) -> tuple[int, int]:
        prefix = self.record.key_region_prefix
        new_to_key = (
            await roster_repository.persons_new_to_region(self.work, key_region_prefix=prefix)
            if prefix is not None
            else None
        )
        written = await roster_repository.write_roster_events(self.work, tx_id=tx_id)
        self.registered_for_key = written[0] if new_to_key is None else new_to_key
        if corrections.events:
            await ledger_repository.write_events(
                self.work, tx_id=tx_id, rows=corrections.events, positions=corrections.positions
            )
        return written
