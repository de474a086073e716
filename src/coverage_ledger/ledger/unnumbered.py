"""One tx written in chunks: each chunk is checked and written under the tx's provisional id
without the append lock, and the whole is numbered at the end in one short locked step (the
officer roster's shape, DESIGN.md "Known time", for uploads that go through the append path).

Only new events that enter force as they are and project nothing beyond the coverage spans may
be written this way (`ENTER_ONLY_TYPES`: what a sponsor roster sends), and each person's events
in one chunk: a chunk is checked against the ledger without the chunks before it, which are not
in force until the tx is numbered. Anything else takes `append_events`."""

import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.coverage import spans_repository
from coverage_ledger.coverage.service import PERSON_EVENT_TYPES
from coverage_ledger.coverage.spans import stage_spans_with
from coverage_ledger.domain.access import Principal
from coverage_ledger.domain.rule_table import RuleTable
from coverage_ledger.domain.timeframes import jakarta_date
from coverage_ledger.ledger import projections_repository, repository
from coverage_ledger.ledger.rule_table_cache import rule_table_at
from coverage_ledger.ledger.schemas import AppendableEvent
from coverage_ledger.ledger.service import AppendResult, check_append, write_checked

log = logging.getLogger(__name__)
ENTER_ONLY_TYPES = frozenset({"person.registered", "informal.enrolled", "contribution.paid"})
"""Event types `write_chunk` takes: the sponsor roster's."""


@dataclass(slots=True)
class UnnumberedTx:
    """A tx being written chunk by chunk, not yet numbered."""

    tx_id: uuid.UUID = field(default_factory=uuid.uuid4)
    snapshot: int | None = None
    """The earliest head a chunk was checked against: the lock rechecks everything since it."""
    written: int = 0
    """Events written so far (the next chunk's first position)."""
    watch_events: set[str] = field(default_factory=set)
    watch_regions: set[str] = field(default_factory=set)
    staging: bool = False
    """Whether the spans' staging tables (which also list the tx's persons) are set up."""
    provisional_at: datetime | None = None
    """The moment the chunks were checked and their spans computed for (an enrolment without
    registered_on counts from its recording day): they stand if the tx is recorded on the same
    day in Jakarta."""
    rules: RuleTable | None = None
    """The rules at the first chunk's snapshot, which the spans are computed with."""
    looked_up_to: int | None = None
    """The head at the last `moved_meanwhile`."""
    locked_at: float | None = None
    """When `number_tx` got the append lock (monotonic seconds): held from then to the COMMIT."""


class NotEnterOnly(ValueError):
    """A chunk `write_chunk` cannot take: it moves stored events, has another type of event, or
    names a person of an earlier chunk. The caller's mistake: append it with `append_events`."""


async def write_chunk(
    session: AsyncSession,
    *,
    tx: UnnumberedTx,
    principal: Principal,
    events: Sequence[AppendableEvent],
    now: datetime,
) -> AppendResult:
    """Check one chunk as `append_events` would and write it into `tx`, without the lock; its
    counts (the tx_seq is the head it was checked against)."""
    if any(event.type not in ENTER_ONLY_TYPES for event in events):
        raise NotEnterOnly(f"write_chunk takes only {sorted(ENTER_ONLY_TYPES)}")
    if not tx.staging:
        await spans_repository.start_staged_spans(session)
        tx.staging = True
    checked = await check_append(session, principal=principal, events=events, now=now, recorded_at=None)
    if isinstance(checked, AppendResult):
        return checked
    plan = checked.plan
    fresh_ids = {p.row.event_id for p in checked.fresh}
    chunk_niks = {nik for p in checked.fresh if (nik := p.row.nik) is not None}
    if (
        plan.leaving
        or plan.links
        or plan.claim_events
        or plan.due_rules_changed
        or {e for e, _, _ in plan.entering} != fresh_ids
        or not plan.watch_niks <= chunk_niks
        or not plan.changed_niks <= chunk_niks
    ):
        raise NotEnterOnly("the chunk moves stored events; append it with append_events")
    if await spans_repository.staged_among(session, niks=chunk_niks):
        raise NotEnterOnly("the chunk names a person of an earlier chunk; number the tx first")
    taken = await write_checked(
        session, principal=principal, checked=checked, tx_id=tx.tx_id, first_position=tx.written
    )
    if taken is not None:
        return taken
    if tx.provisional_at is None:
        tx.provisional_at = now
        tx.rules = await rule_table_at(session, tx_seq=checked.snapshot)
    # the spans now, while no lock is held; the lock then only writes them
    await stage_spans_with(
        session,
        niks=sorted(chunk_niks),
        new_events=[
            projections_repository.InForceEvent(
                p.row.event_id, p.row.type, p.row.payload, None, tx.provisional_at
            )
            for p in checked.fresh
            if p.row.type in PERSON_EVENT_TYPES
        ],
        rules=tx.rules,
        checked_at=checked.snapshot,
    )
    tx.written += len(checked.fresh)
    tx.snapshot = checked.snapshot if tx.snapshot is None else min(tx.snapshot, checked.snapshot)
    tx.watch_events |= plan.watch_events
    tx.watch_regions |= plan.watch_regions
    return AppendResult(checked.snapshot, now, len(checked.fresh), len(checked.originals))


async def moved_meanwhile(session: AsyncSession, *, tx: UnnumberedTx) -> bool:
    """Without the lock: whether a tx committed since the last look named one of the tx's persons
    or a rule, so that the numbering would find the tx stale (an early look that saves writing
    the rest; the numbering's own check decides)."""
    since = tx.looked_up_to if tx.looked_up_to is not None else tx.snapshot
    head = await repository.resolve_known_at(session)
    if since is None or head <= since:
        return False
    tx.looked_up_to = head
    return await spans_repository.staged_persons_touched_between(session, after_tx=since, up_to_tx=head)


async def number_tx(
    session: AsyncSession, *, tx: UnnumberedTx, actor: str, source: str
) -> repository.CommitOutcome:
    """Take the append lock and number, chain and project every event written into `tx`, and
    write the spans its chunks computed. Status `stale` when something the chunks were checked
    against changed since (their persons' events, a rule, the day): the caller rolls back to
    before the chunks (the tx may be numbered already) and writes them again under the lock."""
    assert tx.snapshot is not None and tx.written and tx.provisional_at is not None, "nothing written"
    await spans_repository.analyze_staged(session)
    head = await repository.take_append_lock(session)
    tx.locked_at = time.monotonic()
    # the persons are the staged ones, each since their own chunk's check (a roster's worth of
    # NIKs is not sent back and forth); a rule is no event of theirs, but the amounts due, the
    # grace and the spans all follow it, and the first chunk was checked under the rules then
    if head > tx.snapshot and (
        await spans_repository.staged_persons_changed(session)
        or await projections_repository.rules_changed_since(session, since_tx=tx.snapshot)
    ):
        return repository.CommitOutcome("stale", None, None, None, None)
    outcome = await repository.seal_append(
        session,
        tx_id=tx.tx_id,
        actor=actor,
        source=source,
        backfill_at=None,
        digests=[],
        snapshot=tx.snapshot,
        watch_events=sorted(tx.watch_events),
        watch_niks=[],
        watch_regions=sorted(tx.watch_regions),
        leaving=[],
        entering=[],
        links=[],
        enter_written=True,
    )
    if outcome.status != "ok":
        return outcome
    assert outcome.tx_seq is not None and outcome.recorded_at is not None
    if jakarta_date(outcome.recorded_at) != jakarta_date(tx.provisional_at):
        # midnight passed in Jakarta: the chunks were checked for the day before (an enrolment
        # without registered_on counts from its recording day, and payments from its cover)
        return repository.CommitOutcome("stale", None, None, None, None)
    due = await spans_repository.replace_open_spans_with_staged(session, tx_seq=outcome.tx_seq)
    await spans_repository.take_checkpoints(session, parents=sorted(set(due)), tx_seq=outcome.tx_seq)
    log.info("tx %d: %d event(s) written in chunks by %s via %s", outcome.tx_seq, tx.written, actor, source)
    return outcome
