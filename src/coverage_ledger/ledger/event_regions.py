"""Where a stored event lies, for a region-scoped key's writes that name it or move it: a write
outside the key's region is a 403, and a re-sent id of such an event is taken (DESIGN.md, scope).
An event lies in its own region; a claim's in its claim's (one with no record, filed and
retracted at once, where the key that wrote it does); a payment or reactivation in the membership
it was recorded for, as that membership now stands; another event of a person in their
memberships or domicile; a correction where what it corrects, and its replacement, lie. Records
no longer in force keep their place: a retracted membership still owns the payments made to it."""

from collections.abc import Iterable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.claims import repository as claims_repository
from coverage_ledger.domain.access import Principal
from coverage_ledger.domain.informal import InformalEnrolment
from coverage_ledger.ledger import person_events, projections_repository, repository
from coverage_ledger.ledger.batch_checks import region_of

MAX_CORRECTION_DEPTH = 256
"""Corrections of corrections followed back to the events they concern, one query a level; a
correction deeper than that lies in no region a key may hold (a chain that long is no clerk's)."""
UNPLACED = "\x00unplaced"
"""The region of an event whose place could not be followed: seen by national keys only."""
BPU_EVENTS = ["contribution.paid", "membership.reactivated"]
MEMBERSHIPS = ["informal.enrolled"]
PLACING_EVENTS = [*MEMBERSHIPS, "person.registered"]
"""The events that place a person in a region."""


async def regions_of(
    session: AsyncSession, *, principal: Principal, events: Iterable[repository.StoredEvent]
) -> dict[str, set[str]]:
    """For a region-scoped key, the regions each stored event lies in (none known: any key's,
    as reference data is); for a national key, nothing to judge."""
    if principal.region_prefix is None:
        return {}
    return await _placed(session, list(events), depth=0)


async def _placed(
    session: AsyncSession, events: Sequence[repository.StoredEvent], *, depth: int
) -> dict[str, set[str]]:
    regions = {e.event_id: {own} for e in events if (own := region_of(e.payload)) is not None}
    claims = [e for e in events if e.event_id not in regions and e.type.startswith("claim.")]
    if claims:
        claim_regions = await claims_repository.claim_regions(
            session, sorted({e.payload["claim_id"] for e in claims})
        )
        for claim_event in claims:
            if (region := claim_regions.get(claim_event.payload["claim_id"])) is not None:
                regions[claim_event.event_id] = {region}
    unrecorded = [e for e in claims if e.event_id not in regions]
    if unrecorded:
        # a claim filed and retracted in one batch has no record: it lies where the key that
        # wrote it does (a national key's: where its person does, below)
        writers = await repository.writer_regions(session, {e.tx_seq for e in unrecorded})
        for claim_event in unrecorded:
            if (region := writers.get(claim_event.tx_seq)) is not None:
                regions[claim_event.event_id] = {region}
    corrections = [e for e in events if e.event_id not in regions and e.type == "event.corrected"]
    if corrections:
        regions |= await _correction_regions(session, corrections, depth=depth)
    persons = [e for e in events if e.event_id not in regions and e.nik]
    if persons:
        regions |= await _person_event_regions(session, persons)
    return regions


async def _correction_regions(
    session: AsyncSession, corrections: Sequence[repository.StoredEvent], *, depth: int
) -> dict[str, set[str]]:
    """A correction lies where the events it supersedes, and its replacement, lie."""
    regions: dict[str, set[str]] = {}
    placed: dict[str, set[str]] = {}
    if depth < MAX_CORRECTION_DEPTH:
        targets = await repository.events_by_id(session, {t for c in corrections for t in _concerned(c)})
        placed = await _placed(session, list(targets.values()), depth=depth + 1)
    for correction in corrections:
        found = {r for t in _concerned(correction) for r in placed.get(t, set())}
        # deeper than followed: no key of a region may take it for its own
        regions[correction.event_id] = found if depth < MAX_CORRECTION_DEPTH else {UNPLACED}
    return regions


def _concerned(correction: repository.StoredEvent) -> list[str]:
    """The events a correction supersedes, and its replacement."""
    replacement = correction.payload.get("replacement_event_id")
    return [*correction.payload.get("supersedes", []), *([replacement] if replacement else [])]


async def _person_event_regions(
    session: AsyncSession, events: Sequence[repository.StoredEvent]
) -> dict[str, set[str]]:
    """A payment or reactivation lies in the membership it was recorded for (the one it paid for,
    or whose day it fell on, among those in force at its tx; else among any the person held), as
    that membership now stands: followed through the corrections that replaced it, so a
    membership moved to another region takes its payments along, in force or retracted, and a
    later membership of someone else's region takes none. Another event of a person lies in their
    memberships in force, else their domicile, else every region they were ever registered or a
    member in."""
    niks = {e.nik for e in events if e.nik}
    now = _memberships_and_domiciles(
        await projections_repository.in_force_events_of(session, niks=niks, types=PLACING_EVENTS)
    )
    in_force = {m.event_id for memberships in now[0].values() for m in memberships}
    owners = await _recorded_owners(session, [e for e in events if e.type in BPU_EVENTS], niks, in_force)
    ever: tuple[dict[str, list[InformalEnrolment]], dict[str, set[str]]] | None = None
    regions: dict[str, set[str]] = {}
    for event in events:
        nik = event.nik or ""
        if (owner := owners.get(event.event_id)) is not None:
            regions[event.event_id] = {owner.region_code}
            continue
        memberships, domiciles = now[0].get(nik, []), now[1].get(nik, set())
        if not (memberships or domiciles):
            if ever is None:
                ever = _memberships_and_domiciles(
                    await projections_repository.events_ever_of(session, niks=niks, types=PLACING_EVENTS)
                )
            memberships, domiciles = ever[0].get(nik, []), ever[1].get(nik, set())
        regions[event.event_id] = {m.region_code for m in memberships} or domiciles
    return regions


async def _recorded_owners(
    session: AsyncSession, events: Sequence[repository.StoredEvent], niks: set[str], in_force: set[str]
) -> dict[str, InformalEnrolment]:
    """The membership each payment or reactivation was recorded for, as it now stands
    (`in_force`: the persons' memberships in force now)."""
    if not events:
        return {}
    held = _memberships_and_domiciles(
        await projections_repository.events_ever_of(session, niks=niks, types=MEMBERSHIPS)
    )[0]
    by_id = {m.event_id: m for memberships in held.values() for m in memberships}
    recorded: dict[str, InformalEnrolment] = {}
    for tx_seq in sorted({e.tx_seq for e in events}):
        then = _memberships_and_domiciles(
            await projections_repository.in_force_events_of(
                session, niks=niks, types=MEMBERSHIPS, tx_seq=tx_seq
            )
        )[0]
        for event in (e for e in events if e.tx_seq == tx_seq):
            nik = event.nik or ""
            owner = person_events.recorded_membership(
                event.type, event.payload, then=then.get(nik, []), held=held.get(nik, [])
            )
            if owner is not None:
                recorded[event.event_id] = owner
    replaced_by: dict[str, str] = {}
    asked: set[str] = set()
    pending = {m.event_id for m in recorded.values()} - in_force
    for _ in range(MAX_CORRECTION_DEPTH):
        if not pending:
            break
        asked |= pending
        found = await projections_repository.replacements_of(session, pending)
        replaced_by |= found
        pending = set(found.values()) - in_force - asked
    owners = {}
    for event_id, owner in recorded.items():
        current = person_events.current_form(owner.event_id, replaced_by, in_force)
        owners[event_id] = by_id.get(current, owner)
    return owners


def _memberships_and_domiciles(
    found: Iterable[projections_repository.InForceEvent],
) -> tuple[dict[str, list[InformalEnrolment]], dict[str, set[str]]]:
    memberships: dict[str, list[InformalEnrolment]] = {}
    domiciles: dict[str, set[str]] = {}
    for held in found:
        nik = held.payload["nik"]
        if held.type == "informal.enrolled":
            memberships.setdefault(nik, []).append(
                person_events.informal_enrolment(held.event_id, held.payload, held.recorded_at)
            )
        else:
            domiciles.setdefault(nik, set()).add(held.payload["region_code"])
    return memberships, domiciles
