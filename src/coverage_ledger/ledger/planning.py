"""Planning an append: check the batch against what the ledger knew when it was read (the
snapshot), and work out what enters and leaves force, which projections change and what the
append lock must find unchanged."""

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.domain.access import Principal, Role
from coverage_ledger.domain.benefit_table import DUE_DATE_KINDS
from coverage_ledger.domain.supersession import EventLinks, changes_after_append, downstream
from coverage_ledger.errors import Conflict, ErrorItem
from coverage_ledger.ledger import projections_repository, repository
from coverage_ledger.ledger.batch_checks import (
    check_batch,
    check_correction_effects,
    check_days_done,
    snapshot_keys,
)
from coverage_ledger.ledger.correction_targets import redone_target_errors, stale_target_errors
from coverage_ledger.ledger.event_regions import regions_of
from coverage_ledger.ledger.informal_checks import check_informal
from coverage_ledger.ledger.informal_moves import check_bpu_moves
from coverage_ledger.ledger.officer_checks import check_officer_ages
from coverage_ledger.ledger.preparation import PreparedEvent
from coverage_ledger.ledger.region_moves import check_region_moves
from coverage_ledger.ledger.registrations import check_registrations
from coverage_ledger.ledger.rule_checks import check_holiday_years, check_rules_after
from coverage_ledger.ledger.schemas import OfficerEnrolled
from coverage_ledger.ledger.snapshot import Snapshot
from coverage_ledger.ledger.snapshot_repository import read_snapshot
from coverage_ledger.ledger.term_checks import check_overlaps


@dataclass(slots=True)
class Plan:
    """What the tx will change in the projections, and what it read to decide so."""

    entering: list[tuple[str, str | None, str]]
    """(event_id, nik, type) of events entering force."""
    leaving: list[tuple[str, str | None]]
    """(event_id, the correction that caused it) of events leaving force."""
    links: list[tuple[str, str]]
    """(target, correction) edges."""
    watch_events: set[str]
    watch_niks: set[str]
    watch_regions: set[str]
    claim_events: set[str]
    """Claim events entering or leaving force: their claims are checked and projected."""
    changed_niks: set[str]
    """Persons with an event entering or leaving force: their coverage spans are recomputed. (A
    rule change alone changes none: whether a month covers does not depend on the grace length.)"""
    due_rules_changed: bool = False
    """A service time or holiday rule entered or left force: claims' due dates may move."""
    holiday_years_only: frozenset[int] | None = None
    """When only holiday rules moved, their years: only claims due near them can move."""
    regions_moved: bool = False
    """A region definition left force: the batch is planned again under the append lock
    (`region_moves`)."""
    rules_read: bool = False
    """The batch was judged by the rules in force (BPU payments and memberships, rule changes):
    if a rule changed since, it is planned again under the append lock."""


async def plan_append(
    session: AsyncSession,
    *,
    principal: Principal,
    fresh: Sequence[PreparedEvent],
    snapshot: Snapshot,
    recording_day: date,
) -> Plan:
    """Validate the batch against the snapshot and work out its effect on the projections."""
    check_batch(principal=principal, prepared=fresh, snapshot=snapshot)
    check_days_done(prepared=fresh, recording_day=recording_day)
    corrections = [p for p in fresh if p.supersedes]
    fresh_ids = {p.row.event_id for p in fresh}
    graph = snapshot.graph
    stale = stale_target_errors(corrections=corrections, graph=graph, fresh_ids=fresh_ids)
    links, kinds = graph.links, graph.kinds
    _add_to_graph(graph, fresh=fresh, corrections=corrections)
    changes = changes_after_append(links, fresh_ids, graph.force)
    entering = [c.event_id for c in changes if c.in_force]
    leaving = [(c.event_id, c.superseded_by) for c in changes if not c.in_force]
    moved = [*entering, *(e for e, _ in leaving)]

    paths = {p.row.event_id: p.path for p in fresh}
    payloads = {p.row.event_id: p.row.payload for p in fresh}
    await _check_effects(
        session,
        principal=principal,
        snapshot=snapshot,
        corrections=corrections,
        entering=entering,
        leaving=leaving,
        paths=paths,
    )
    cause = _cause_of(corrections, links)
    redone = [e for e in entering if e not in fresh_ids and kinds[e][0] == "event.corrected"]
    if redone:  # (rare: the force after the batch is gathered only then)
        stale += redone_target_errors(
            restored=redone,
            links=links,
            force_after={**graph.force, **{change.event_id: change.in_force for change in changes}},
            field_of=cause,
        )
    if stale:  # after the key's rights over the events named: the message names their correction
        raise Conflict(f"{len(stale)} correction target(s) no longer in force; nothing was written", stale)
    effects = _BatchEffects(principal, fresh, snapshot, entering, leaving, kinds, payloads, paths, cause)
    rules_moved, registrations_touched, members_touched = await _check_domain_rules(
        session, effects, recording_day=recording_day
    )
    officer_niks, regions_moved = await _check_officer_terms(session, effects)
    due_rules_changed, holiday_years_only = await _due_rules_moved(
        session, moved=moved, kinds=kinds, payloads=payloads
    )
    keys = snapshot_keys(fresh)
    return Plan(
        entering=[(e, kinds[e][1], kinds[e][0]) for e in entering],
        leaving=leaving,
        links=[(t, p.row.event_id) for p in corrections for t in p.supersedes],
        watch_events=(set(links) | set(graph.force)) - fresh_ids,
        watch_niks=officer_niks
        | keys["registered_niks"]
        | keys["informal_niks"]
        | registrations_touched
        | members_touched,
        watch_regions=keys["region_codes"] | keys["defined_codes"],
        claim_events={e for e in moved if kinds[e][0].startswith("claim.")},
        changed_niks={nik for e in moved if (nik := kinds[e][1]) and not kinds[e][0].startswith("claim.")},
        due_rules_changed=due_rules_changed,
        holiday_years_only=holiday_years_only,
        regions_moved=regions_moved,
        rules_read=bool(snapshot.rules) or bool(members_touched) or rules_moved,
    )


def _add_to_graph(
    graph: projections_repository.Subgraph,
    *,
    fresh: Sequence[PreparedEvent],
    corrections: Sequence[PreparedEvent],
) -> None:
    """Enter the batch's events, and what its corrections supersede, in the snapshot's graph."""
    for item in fresh:
        graph.kinds[item.row.event_id] = (item.row.type, item.row.nik)
        node = graph.links.setdefault(item.row.event_id, EventLinks(item.row.event_id))
        node.carried_by = item.row.carried_by
        node.supersedes = item.supersedes
        node.replacement = item.replacement_id
    for item in corrections:
        for target in item.supersedes:
            graph.links.setdefault(target, EventLinks(target)).corrected_by.append(item.row.event_id)


@dataclass(frozen=True)
class _BatchEffects:
    """A batch and what it moves, as the checks after the supersession graph read them."""

    principal: Principal
    fresh: Sequence[PreparedEvent]
    snapshot: Snapshot
    entering: list[str]
    """Events entering force with the batch (its own and those its corrections restore)."""
    leaving: list[tuple[str, str | None]]
    """Events leaving force, with the correction that supersedes each."""
    kinds: dict[str, tuple[str, str | None]]
    """(type, NIK) of every event in the graph."""
    payloads: dict[str, dict[str, Any]]
    """The batch's own events' payloads."""
    paths: dict[str, str]
    """The request field of each of the batch's events."""
    cause: Callable[[str], str]
    """The request field a refusal of an event the batch does not send is laid on."""

    @functools.cached_property
    def leaving_ids(self) -> set[str]:
        """The events leaving force (without their correction)."""
        return {e for e, _ in self.leaving}


async def _check_domain_rules(
    session: AsyncSession, effects: _BatchEffects, *, recording_day: date
) -> tuple[bool, set[str], set[str]]:
    """The BPU, holiday, rule-table and registration rules over the batch and what it moves:
    whether rules moved, and the persons whose registrations and memberships it touched."""
    principal, fresh, snapshot = effects.principal, effects.fresh, effects.snapshot
    entering, leaving, kinds = effects.entering, effects.leaving, effects.kinds
    payloads, paths, cause = effects.payloads, effects.paths, effects.cause
    leaving_ids = effects.leaving_ids
    # after the key's rights over what the batch names: a refusal by the BPU rules would tell of
    # a payment the key may not correct
    check_informal(
        principal=principal,
        prepared=fresh,
        snapshot=snapshot,
        recording_day=recording_day,
        leaving=leaving_ids,
    )
    await check_holiday_years(session, prepared=fresh, leaving=leaving_ids)
    rules_moved = await check_rules_after(
        session,
        entering=entering,
        leaving=leaving_ids,
        kinds=kinds,
        payloads=payloads,
        field_of=lambda e: f"{paths[e]}.kind" if e in paths else cause(e),
    )
    registrations_touched = await check_registrations(
        session, entering=entering, leaving=leaving, kinds=kinds, paths=paths
    )
    members_touched = await check_bpu_moves(
        session,
        entering=entering,
        leaving=leaving,
        kinds=kinds,
        payloads=payloads,
        paths=paths,
        recording_day=recording_day,
        rules_at=snapshot.tx_seq,
        principal=principal,
    )
    return rules_moved, registrations_touched, members_touched


async def _check_officer_terms(session: AsyncSession, effects: _BatchEffects) -> tuple[set[str], bool]:
    """The officer rules after the batch: ages, regions in force, no overlapping terms; the
    persons whose terms enter force, and whether a region definition left force."""
    principal, fresh, snapshot = effects.principal, effects.fresh, effects.snapshot
    entering, leaving, kinds = effects.entering, effects.leaving, effects.kinds
    payloads, paths, cause = effects.payloads, effects.paths, effects.cause
    leaving_ids = effects.leaving_ids
    fresh_ids = set(paths)
    officers_in = {e for e in entering if kinds[e][0] == "officer.enrolled"}
    officer_niks = {nik for e in officers_in if (nik := kinds[e][1]) is not None}
    in_force = {e.event_id: e.payload for e in snapshot.officer_terms}
    known_niks = {p["nik"] for p in in_force.values()} | {
        p.source.nik for p in fresh if isinstance(p.source, OfficerEnrolled)
    }
    if officer_niks - known_niks:  # a restored enrolment of a person the batch does not name (rare)
        for extra in await projections_repository.in_force_events_of(
            session, niks=officer_niks - known_niks, types=["officer.enrolled"]
        ):
            in_force[extra.event_id] = extra.payload
    restored = [e for e in officers_in if e not in payloads]
    if restored:
        payloads = payloads | {
            e: stored.payload for e, stored in (await repository.events_by_id(session, restored)).items()
        }
    await check_officer_ages(
        session,
        fresh=fresh,
        entering=entering,
        leaving=leaving_ids,
        kinds=kinds,
        payloads=payloads,
        paths=paths,
        cause_of=cause,
        snapshot_registrations=snapshot.registrations,
    )
    regions_moved = await check_region_moves(
        session,
        entering=entering,
        leaving=leaving_ids,
        kinds=kinds,
        payloads=payloads,
        fresh=fresh_ids,
        field_of=lambda e: f"{paths[e]}.code" if e in paths else cause(e),
    )
    for event_id, _ in leaving:
        in_force.pop(event_id, None)
    in_force |= {e: payloads[e] for e in officers_in}
    check_overlaps(
        principal=principal,
        in_force=[(e, p) for e, p in in_force.items() if p["nik"] in officer_niks],
        entering=officers_in,
        fresh=paths.keys(),
        field_of=lambda e: paths[e] if e in paths else cause(e),
    )
    return officer_niks, regions_moved


async def _due_rules_moved(
    session: AsyncSession,
    *,
    moved: Sequence[str],
    kinds: dict[str, tuple[str, str | None]],
    payloads: dict[str, dict[str, Any]],
) -> tuple[bool, frozenset[int] | None]:
    """Whether a rule that claims' due dates depend on enters or leaves force, and, when only
    holiday rules do, their years (the Plan's `due_rules_changed` and `holiday_years_only`)."""
    rules = [e for e in moved if kinds[e][0] == "rule.defined"]
    stored = [e for e in rules if e not in payloads]
    found = {e: payloads[e] for e in rules if e in payloads} | {
        e: event.payload for e, event in (await repository.events_by_id(session, stored)).items()
    }
    moving = [p for p in found.values() if p.get("kind") in DUE_DATE_KINDS]
    years = None
    if all(p["kind"] == "public_holidays" for p in moving):
        years = frozenset(int(p["parameters"]["year"]) for p in moving)
    return bool(moving), years


def _cause_of(corrections: Sequence[PreparedEvent], links: Mapping[str, EventLinks]) -> Callable[[str], str]:
    """The field a refusal of a stored event the batch moves is laid on: the `supersedes` of the
    batch's correction whose cascade reaches it (a review found the first correction blamed)."""

    def field_of(event_id: str) -> str:
        for item in corrections:
            if event_id in downstream(links, [item.row.event_id]):
                return f"{item.path}.supersedes"
        return "events"

    return field_of


async def _check_effects(
    session: AsyncSession,
    *,
    principal: Principal,
    snapshot: Snapshot,
    corrections: Sequence[PreparedEvent],
    entering: Sequence[str],
    leaving: Sequence[tuple[str, str | None]],
    paths: dict[str, str],
) -> None:
    """The key may correct every stored event the batch names, and every one it moves in or out
    of force (an admin may correct anything: nothing to read)."""
    named = {
        target: f"{p.path}.supersedes[{i}]"
        for p in corrections
        for i, target in enumerate(p.supersedes)
        if target not in paths
    }
    moved = {e: cause for e, cause in leaving if e not in paths} | {
        e: None for e in entering if e not in paths
    }
    if not (moved or named) or principal.role is Role.ADMIN:
        return
    wanted = set(moved) | set(named)
    stored = {e: snapshot.stored[e] for e in wanted if e in snapshot.stored}
    stored |= await repository.events_by_id(session, wanted - set(stored))
    first = f"{corrections[0].path}.supersedes" if corrections else "events"

    def field_of(event_id: str) -> str:
        if event_id in named:
            return named[event_id]
        cause = moved.get(event_id)
        return f"{paths[cause]}.supersedes" if cause is not None and cause in paths else first

    check_correction_effects(
        principal=principal,
        affected=[(stored[e], field_of(e)) for e in sorted(wanted) if e in stored],
        # a claim event lies in its claim's region: judged only by the claim projection, a named
        # event of an unseen claim was refused with the claim's id in the message
        regions=await regions_of(session, principal=principal, events=stored.values()),
        named=named,
    )


async def check_resends_in_scope(
    session: AsyncSession,
    *,
    principal: Principal,
    prepared: Sequence[PreparedEvent],
    stored: Mapping[str, repository.StoredEvent],
) -> None:
    """409 `event_id_taken` for an id the batch re-sends that belongs to an event outside the
    key's region, whatever its content: "duplicate" or "different content" would confirm another
    region's event (a guessed payment amount, say)."""
    if principal.role is Role.ADMIN or principal.region_prefix is None:
        return
    resent = [stored[p.row.event_id] for p in prepared if p.row.event_id in stored]
    if not resent:
        return
    regions = await regions_of(session, principal=principal, events=resent)
    paths = {p.row.event_id: p.path for p in prepared}
    for event in resent:
        lies_in = regions.get(event.event_id, set())
        # every place it lies in must be the key's: an admin's correction moving a membership
        # here from Bandung also lies in Bandung, and "duplicate" would confirm its content
        if lies_in and not all(principal.sees(region) for region in lies_in):
            field = f"{paths[event.event_id]}.event_id"
            raise Conflict(
                f"event_id {event.event_id!r} is already taken; choose another",
                [ErrorItem("event_id_taken", "the event_id is taken", field=field)],
            )


async def read_batch_snapshot(session: AsyncSession, *, prepared: Sequence[PreparedEvent]) -> Snapshot:
    """The snapshot a batch's checks read: its own events, those it supersedes, and every key they name."""
    fresh_ids = {p.row.event_id for p in prepared}
    return await read_snapshot(
        session,
        event_ids=fresh_ids,
        targets={t for p in prepared for t in p.supersedes} - fresh_ids,
        **snapshot_keys(prepared),
    )
