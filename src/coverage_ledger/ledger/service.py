"""Appending to the ledger: validate, write under a provisional id, then number, chain and project
under the append lock (DESIGN.md, "Known time"). Services never commit: the caller owns the
transaction and must commit before reporting the tx_seq."""

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from psycopg.errors import UniqueViolation
from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.auth.service import refuse_if_key_gone
from coverage_ledger.claims.claim_checks import ClaimChange
from coverage_ledger.claims.projection import follow_rule_change, project_claims
from coverage_ledger.coverage.spans import refresh_spans
from coverage_ledger.domain.access import Principal, Role
from coverage_ledger.domain.timeframes import jakarta_date
from coverage_ledger.errors import Conflict, ErrorItem, Forbidden, InvalidInput
from coverage_ledger.ledger import projections_repository, repository
from coverage_ledger.ledger.backfill import backfill_not_after_head, refuse_backfill_within_answered
from coverage_ledger.ledger.batch_checks import check_scope
from coverage_ledger.ledger.planning import Plan, check_resends_in_scope, plan_append, read_batch_snapshot
from coverage_ledger.ledger.preparation import PreparedEvent, check_unique_ids, prepare_batch, split_resends
from coverage_ledger.ledger.schemas import (
    AppendableEvent,
    PersonErased,
    PersonRegistered,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What an append did."""

    tx_seq: int
    recorded_at: datetime
    accepted: int
    duplicates: int


def _check_rights(principal: Principal, prepared: Sequence[PreparedEvent]) -> None:
    for item in prepared:
        if not principal.may_append(item.row.type):
            raise Forbidden(
                f"role {principal.role} may not append {item.row.type} ({item.path})",
                [
                    ErrorItem(
                        "role_not_allowed",
                        f"{principal.role} may not append {item.row.type}",
                        field=f"{item.path}.type",
                    )
                ],
            )


@dataclass(frozen=True, slots=True)
class CheckedBatch:
    """A batch checked against the ledger, ready to be written."""

    fresh: list[PreparedEvent]
    originals: list[repository.StoredEvent]
    snapshot: int
    plan: Plan
    recording_day: date


async def check_append(
    session: AsyncSession,
    *,
    principal: Principal,
    events: Sequence[AppendableEvent],
    now: datetime,
    recorded_at: datetime | None,
) -> CheckedBatch | AppendResult:
    """Every check of an append, without writing or locking; the result itself when all are re-sends."""
    if recorded_at is not None and principal.role is not Role.ADMIN:
        raise Forbidden("only an admin key may backfill with an explicit recorded_at")
    if recorded_at is not None and recorded_at.tzinfo is None:
        raise InvalidInput(
            "recorded_at needs a UTC offset",
            [ErrorItem("naive_timestamp", "add a UTC offset", field="recorded_at")],
        )
    if recorded_at is not None and recorded_at > now:
        # every later tx is stamped after the head: a future head would hide them from every
        # date and timestamp known_at until that future came
        raise InvalidInput(
            "a backfill's recorded_at must not be in the future",
            [ErrorItem("backfill_in_future", "recorded_at is later than now", field="recorded_at")],
        )
    prepared = prepare_batch(events)
    _check_rights(principal, prepared)
    check_scope(principal=principal, prepared=prepared)
    check_unique_ids(prepared)
    snapshot = await read_batch_snapshot(session, prepared=prepared)
    fresh, originals = await _sort_resends(
        session, principal=principal, prepared=prepared, stored=snapshot.stored
    )
    if not fresh:
        return _duplicates_of(originals)
    # the day the tx will be recorded on, for enrolments that do not state registered_on
    recording_day = jakarta_date(recorded_at or now)
    try:
        plan = await plan_append(
            session, principal=principal, fresh=fresh, snapshot=snapshot, recording_day=recording_day
        )
    except (Conflict, InvalidInput):
        # refused perhaps only because another request committed this very batch meanwhile (a
        # client's retry): then it is a duplicate, as it would have been a moment later
        taken = await _taken_meanwhile(session, principal=principal, fresh=fresh, originals=originals)
        if taken is None:
            raise
        return taken
    return CheckedBatch(fresh, originals, snapshot.tx_seq, plan, recording_day)


async def write_checked(
    session: AsyncSession,
    *,
    principal: Principal,
    checked: CheckedBatch,
    tx_id: uuid.UUID,
    first_position: int = 0,
) -> AppendResult | None:
    """Write a checked batch's events and personal fields under a provisional tx id."""
    # The duplicate result instead when another request committed the same batch meanwhile.
    fresh, originals = checked.fresh, checked.originals
    try:
        written = await repository.write_events(
            session,
            tx_id=tx_id,
            rows=[p.row for p in fresh],
            positions=range(first_position, first_position + len(fresh)),
            skip_committed=True,
        )
    except UniqueViolation as exc:  # a large batch: an event_id committed meanwhile by another request
        raise _appended_concurrently() from exc
    if written < len(fresh):
        taken = (
            None
            if written
            else await _taken_meanwhile(session, principal=principal, fresh=fresh, originals=originals)
        )
        if taken is None:
            raise _appended_concurrently()
        return taken
    await projections_repository.write_vault(
        session,
        [
            (p.row.event_id, p.row.nik or "", p.salt or b"", p.vault_fields)
            for p in fresh
            if p.vault_fields is not None
        ],
    )
    return None


async def append_events(
    session: AsyncSession,
    *,
    principal: Principal,
    events: Sequence[AppendableEvent],
    source: str,
    now: datetime,
    recorded_at: datetime | None = None,
    validate_only: bool = False,
    lock_wait_seconds: float | None = None,
) -> AppendResult:
    """Append a batch atomically as one tx; identical re-sends are counted as duplicates."""
    # `now`: the caller's clock, for the recording day of enrolments without `registered_on` and for refusing
    # a backfill in the future (the tx's own recorded_at is read under the lock). `validate_only`: every
    # check, nothing written and no lock taken (a dry run must not hold back the writers); the result names
    # the head the batch was checked against. `lock_wait_seconds`: give up waiting for a lock after that long
    # (`LockNotAvailable`, a 503 `ledger-busy` for a client that waits for its answer); None waits as long as
    # it takes.
    if lock_wait_seconds is not None:
        await repository.limit_lock_waits(session, seconds=lock_wait_seconds)
    checked = await check_append(
        session, principal=principal, events=events, now=now, recorded_at=recorded_at
    )
    if isinstance(checked, AppendResult):
        return checked
    fresh, originals, plan, recording_day = (
        checked.fresh,
        checked.originals,
        checked.plan,
        checked.recording_day,
    )
    if validate_only:
        # the head it was checked against (an empty ledger has none: the check's own moment)
        checked_at = await repository.tx_recorded_at(session, checked.snapshot) or now
        return AppendResult(checked.snapshot, checked_at, len(fresh), len(originals))

    tx_id = uuid.uuid4()
    taken = await write_checked(session, principal=principal, checked=checked, tx_id=tx_id)
    if taken is not None:
        return taken
    if recorded_at is not None:
        await refuse_backfill_within_answered(session, recorded_at=recorded_at)
    snapshot_tx = checked.snapshot
    if plan.regions_moved:
        # which events name a region is not watched by the recheck under the lock: planned again
        # under it, where nothing can change
        await repository.take_append_lock(session)
        plan, snapshot_tx = await _planned_again(session, principal=principal, checked=checked)
    elif plan.rules_read:
        # nor are the rules the batch was judged by: one changed meanwhile has the batch planned
        # again under the lock (found by a probe: 2,500 payments were accepted at a rate restored
        # while they were checked)
        head = await repository.take_append_lock(session)
        if head > snapshot_tx and await projections_repository.rules_changed_since(
            session, since_tx=snapshot_tx
        ):
            plan, snapshot_tx = await _planned_again(session, principal=principal, checked=checked)
    outcome = await _number_and_seal(session, tx_id, principal, source, recorded_at, fresh, snapshot_tx, plan)
    if outcome.status == "stale":
        # something this batch read changed meanwhile; the lock is held now, so read again and decide
        plan, snapshot_tx = await _planned_again(session, principal=principal, checked=checked)
        outcome = await _number_and_seal(
            session, tx_id, principal, source, recorded_at, fresh, snapshot_tx, plan
        )
    if outcome.status == "backfill_not_after_head":
        assert recorded_at is not None and outcome.head_recorded_at is not None
        raise backfill_not_after_head(recorded_at, outcome.head_recorded_at)
    assert outcome.status == "ok" and outcome.tx_seq is not None and outcome.recorded_at is not None, outcome
    if not principal.is_system:
        await refuse_if_key_gone(
            session,
            key_name=principal.key_name,
            # the tx's stamp, taken under the lock; a backfill's lies in the past, so the database's clock
            now=outcome.recorded_at if recorded_at is None else await repository.database_clock(session),
        )
    await _follow_the_tx(
        session,
        principal=principal,
        fresh=fresh,
        plan=plan,
        tx_seq=outcome.tx_seq,
        recording_day=recording_day,
    )
    log.info(
        "tx %d: %d event(s) (%s) by %s via %s, %d duplicate(s)%s",
        outcome.tx_seq,
        len(fresh),
        ", ".join(sorted({p.row.type for p in fresh})),
        principal.actor,
        source,
        len(originals),
        " [backfill]" if recorded_at is not None else "",
    )
    return AppendResult(outcome.tx_seq, outcome.recorded_at, len(fresh), len(originals))


async def _planned_again(
    session: AsyncSession, *, principal: Principal, checked: CheckedBatch
) -> tuple[Plan, int]:
    """The batch planned again on a fresh snapshot (under the lock); the plan and its tx."""
    snapshot = await read_batch_snapshot(session, prepared=checked.fresh)
    plan = await plan_append(
        session,
        principal=principal,
        fresh=checked.fresh,
        snapshot=snapshot,
        recording_day=checked.recording_day,
    )
    return plan, snapshot.tx_seq


async def _follow_the_tx(
    session: AsyncSession,
    *,
    principal: Principal,
    fresh: Sequence[PreparedEvent],
    plan: Plan,
    tx_seq: int,
    recording_day: date,
) -> None:
    """What a numbered tx brings along in its transaction: claims, vault erasures, coverage spans."""
    if plan.claim_events:
        change = ClaimChange(
            touched=frozenset(plan.claim_events),
            entering=frozenset(e for e, _, _ in plan.entering),
            paths={p.row.event_id: p.path for p in fresh},
        )
        await project_claims(
            session, principal=principal, change=change, tx_seq=tx_seq, recording_day=recording_day
        )
    if plan.due_rules_changed:
        followed = await follow_rule_change(
            session, tx_seq=tx_seq, recording_day=recording_day, years=plan.holiday_years_only
        )
        log.info("tx %d: a due-date rule changed; %d claim(s) reviewed again", tx_seq, followed)
    erased = sorted({p.source.nik for p in fresh if isinstance(p.source, PersonErased)})
    if erased:
        gone = await projections_repository.erase_vault(session, erased)
        log.info(
            "tx %d: personal fields of %d person(s) erased (%d registrations)", tx_seq, len(erased), gone
        )
    await refresh_spans(session, niks=sorted(plan.changed_niks), tx_seq=tx_seq)


def _appended_concurrently() -> Conflict:
    return Conflict(
        "an event of this batch was appended concurrently; resend the batch",
        [
            ErrorItem(
                "appended_concurrently",
                "another request wrote an event of this batch meanwhile (perhaps this batch's own "
                "earlier send); resent, an identical batch counts as duplicates",
            )
        ],
    )


async def _taken_meanwhile(
    session: AsyncSession,
    *,
    principal: Principal,
    fresh: list[PreparedEvent],
    originals: list[repository.StoredEvent],
) -> AppendResult | None:
    """If another request committed every event of the batch since it was read, identically,
    the batch as a duplicate of it; None if some are not committed. The same id with other
    content is a 409 naming it; an id taken outside the key's region, a 409 telling nothing more."""
    stored = await repository.events_by_id(session, (p.row.event_id for p in fresh))
    if len(stored) < len(fresh):
        return None
    _, taken = await _sort_resends(session, principal=principal, prepared=fresh, stored=stored)
    return _duplicates_of([*originals, *taken])


async def _sort_resends(
    session: AsyncSession,
    *,
    principal: Principal,
    prepared: list[PreparedEvent],
    stored: dict[str, repository.StoredEvent],
) -> tuple[list[PreparedEvent], list[repository.StoredEvent]]:
    """The batch's new events, and the stored originals of its identical re-sends; a re-sent id
    outside the key's region, or with other content, is a 409."""
    await check_resends_in_scope(session, principal=principal, prepared=prepared, stored=stored)
    salts = {}
    if any(isinstance(p.source, PersonRegistered) and p.row.event_id in stored for p in prepared):
        salts = await projections_repository.vault_entries(session, (p.row.event_id for p in prepared))
    return split_resends(prepared, stored, salts)


def _duplicates_of(originals: list[repository.StoredEvent]) -> AppendResult:
    """The result of a batch every event of which was already in the ledger: the newest tx."""
    newest = max(originals, key=lambda e: e.tx_seq)
    return AppendResult(newest.tx_seq, newest.recorded_at, 0, len(originals))


async def _number_and_seal(
    session: AsyncSession,
    tx_id: uuid.UUID,
    principal: Principal,
    source: str,
    recorded_at: datetime | None,
    fresh: Sequence[PreparedEvent],
    snapshot: int,
    plan: Plan,
) -> repository.CommitOutcome:
    return await repository.seal_append(
        session,
        tx_id=tx_id,
        actor=principal.actor,
        source=source,
        backfill_at=recorded_at,
        digests=[p.row.digest for p in fresh],
        snapshot=snapshot,
        watch_events=sorted(plan.watch_events),
        watch_niks=sorted(plan.watch_niks),
        watch_regions=sorted(plan.watch_regions),
        leaving=plan.leaving,
        entering=plan.entering,
        links=plan.links,
    )


async def ledger_head(session: AsyncSession) -> repository.Head | None:
    """The newest committed tx, or None for an empty ledger (only before genesis)."""
    return await repository.read_head(session)
