"""Processing a sponsor roster: every row checked on its own, then the rows' events appended
through the ledger's own append path (the same BPU rules as `POST /v1/events`: the amount due
under the rule in force, grace and lapse, a month paid once), inside a savepoint. Rows the
append path refuses are taken out by the errors' event index and the rest tried again, so every
bad row is reported; nothing is kept unless the policy and the rows allow it."""

import asyncio
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.domain.access import Principal, Role
from coverage_ledger.domain.timeframes import jakarta_date
from coverage_ledger.errors import ErrorItem, LedgerError
from coverage_ledger.ledger import projections
from coverage_ledger.ledger.schemas import AppendableEvent
from coverage_ledger.ledger.service import AppendResult, append_events
from coverage_ledger.uploads import repository
from coverage_ledger.uploads.cells import row_values
from coverage_ledger.uploads.formats import FileRejected, Table
from coverage_ledger.uploads.job import Job
from coverage_ledger.uploads.sponsor_rows import (
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    SponsorRow,
    check_sponsor_header,
    check_sponsor_row,
    sponsor_events,
)

_EVENTS = TypeAdapter(list[AppendableEvent])
MAX_SPONSOR_ROWS = 10_000
"""Rows of one sponsor roster. Its rows go through the ledger's own append path as one batch
(up to three events a row, the batch limit of `POST /v1/events` being 10,000 events), held in
memory and checked on the event loop: the limit bounds both. Officer rosters, which take the
set-based path, have none."""
_FIELD = re.compile(r"^events\[(\d+)\](?:\.(\w+))?")


@dataclass
class SponsorOutcome:
    """What a sponsor roster came to."""

    rows_total: int = 0
    errors: list[ErrorItem] = field(default_factory=list)
    accepted: list[SponsorRow] = field(default_factory=list)
    result: AppendResult | None = None
    registered: int = 0
    enrolled: int = 0

    @property
    def rejected_rows(self) -> int:
        return len({e.row for e in self.errors})


def read_sponsor_rows(
    table: Table, *, districts: Any, regions: Any, key_region_prefix: str | None, outcome: SponsorOutcome
) -> None:
    """Check every row on its own (run in a worker thread)."""
    try:
        positions = check_sponsor_header(table.header)
    except ValueError as exc:
        raise FileRejected("wrong_header", str(exc)) from exc
    for row, cells in table.rows:
        outcome.rows_total += 1
        if outcome.rows_total > MAX_SPONSOR_ROWS:
            raise FileRejected(
                "too_many_rows",
                f"a sponsor roster holds at most {MAX_SPONSOR_ROWS:,} rows (each becomes a payment "
                "checked in one tx); split the file and upload the parts",
            )
        values = row_values(row, cells, positions)
        if isinstance(values, ErrorItem):
            outcome.errors.append(values)
            continue
        checked = check_sponsor_row(
            row, values, districts=districts, regions=regions, key_region_prefix=key_region_prefix
        )
        if isinstance(checked, list):
            outcome.errors.extend(checked)
        else:
            outcome.accepted.append(checked)


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


async def append_sponsor_rows(
    session: AsyncSession,
    *,
    record: Any,
    outcome: SponsorOutcome,
    recording_day: date,
) -> None:
    """Append the checked rows as one tx inside the savepoint `sponsor`; refused rows move to the
    errors and the rest is tried again. The caller decides whether to keep the savepoint."""
    principal = Principal(
        key_name=record.key_name,
        role=Role.SPONSOR,
        region_prefix=record.key_region_prefix,
        organisation=record.committee,
        is_system=record.key_name == "system",
    )
    niks = {item.nik for item in outcome.accepted}
    known = await projections.in_force_events_of(
        session, niks=niks, types=["person.registered", "informal.enrolled"]
    )
    registered = {e.payload["nik"] for e in known if e.type == "person.registered"}
    enrolled = {e.payload["nik"] for e in known if e.type == "informal.enrolled"}
    rows = list(outcome.accepted)
    while rows:
        events, owners = _events_of(
            rows,
            registered=registered,
            enrolled=enrolled,
            sponsor=record.committee,
            prefix=record.upload_id.hex,
            day=recording_day,
        )
        await repository.savepoint(session, "sponsor")
        try:
            parsed = _EVENTS.validate_python(events)
            outcome.result = await append_events(
                session,
                principal=principal,
                events=parsed,
                source=f"upload:{record.upload_id}",
                validate_only=record.dry_run,
            )
        except ValidationError as exc:
            await repository.rollback_to(session, "sponsor")
            refused = [
                ErrorItem(str(e["type"]), str(e["msg"]), row=owners[int(e["loc"][0])].row)
                for e in exc.errors()
                if e["loc"] and isinstance(e["loc"][0], int)
            ]
        except LedgerError as exc:
            await repository.rollback_to(session, "sponsor")
            refused = _row_errors(exc.errors, owners)
            if not refused:
                raise FileRejected(exc.slug, exc.detail) from exc
        else:
            outcome.accepted = rows
            outcome.registered = sum(1 for e in events if e["type"] == "person.registered")
            outcome.enrolled = sum(1 for e in events if e["type"] == "informal.enrolled")
            return
        outcome.errors.extend(refused)
        bad = {e.row for e in refused}
        rows = [item for item in rows if item.row not in bad]
    outcome.accepted = []


class SponsorRosterJob(Job):
    """One run of one sponsor roster upload."""

    async def run(self) -> None:
        record = self.record
        started = time.monotonic()
        regions, districts = await repository.regions_in_force(self.work)
        outcome = SponsorOutcome()
        table = await self.open_table()
        try:
            await asyncio.to_thread(
                read_sponsor_rows,
                table,
                districts=districts,
                regions=regions,
                key_region_prefix=record.key_region_prefix,
                outcome=outcome,
            )
        finally:
            table.close()
        self.phases["parse"] = round(time.monotonic() - started, 3)
        if outcome.rows_total == 0:
            raise FileRejected("no_rows", "the file has a header but no data rows")
        started = time.monotonic()
        await append_sponsor_rows(
            self.work, record=record, outcome=outcome, recording_day=jakarta_date(self.clock())
        )
        self.phases["validate_and_append"] = round(time.monotonic() - started, 3)
        await self.progress.errors(sorted(outcome.errors, key=lambda e: e.row or 0))
        rejected = outcome.rejected_rows
        self.counts = {
            "rows_total": outcome.rows_total,
            "rows_done": outcome.rows_total,
            "rows_rejected": rejected,
            "rows_duplicate": 0,
            "rows_accepted": len(outcome.accepted),
        }
        paid = sum(item.amount for item in outcome.accepted)
        keep = outcome.result is not None and not record.dry_run
        keep = keep and (record.policy == "accept_valid" or not rejected)
        self.outcome = {
            "written": keep,
            "registered": outcome.registered,
            "enrolled": outcome.enrolled,
            "paid": len(outcome.accepted),
            "amount_total": paid,
        }
        if record.dry_run:
            self.outcome["would_commit"] = bool(outcome.accepted) and (
                record.policy == "accept_valid" or not rejected
            )
        if not keep:
            if outcome.result is not None:
                await repository.rollback_to(self.work, "sponsor")
            await self.work.commit()
            failed = record.policy == "all_or_nothing" and rejected and not record.dry_run
            problem = None
            if failed:
                problem = {
                    "code": "rows_rejected",
                    "message": f"{rejected} row(s) have errors; nothing was written (policy all_or_nothing)",
                }
            await self.finish("failed" if failed else "succeeded", problem=problem)
            return
        assert outcome.result is not None
        await repository.update_upload(
            self.work,
            record.upload_id,
            status="succeeded",
            tx_seq=outcome.result.tx_seq,
            finished_at=self.clock(),
            stored_path=None,
            outcome=self.outcome,
            phase_seconds=self.phases,
            **self.counts,
        )
        await self.work.commit()  # the upload's status commits with its tx
