"""Where a stored event lies, for a region-scoped key's writes that name it or move it: a write
outside the key's region is a 403, and a re-sent id of such an event is taken (DESIGN.md, scope).
An event lies in its own region; a claim's in its claim's; a payment or reactivation in the
membership it pays for or whose day it falls on; another event of a person in their memberships or
domicile; a correction where what it corrects lies. Records no longer in force keep their place:
a retracted membership still owns the payments made to it."""

from collections.abc import Iterable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.claims import repository as claims_repository
from coverage_ledger.domain.access import Principal
from coverage_ledger.domain.informal import InformalEnrolment
from coverage_ledger.ledger import person_events, projections, repository
from coverage_ledger.ledger.checks import region_of

MAX_CORRECTION_DEPTH = 64
"""Corrections of corrections followed back to the events they concern; deeper ones lie where the
corrections met so far lie (a chain that long is no clerk's)."""
BPU_EVENTS = ["contribution.paid", "membership.reactivated"]
PLACING_EVENTS = ["informal.enrolled", "person.registered"]
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
    corrections = [e for e in events if e.event_id not in regions and e.type == "event.corrected"]
    if corrections:
        regions |= await _correction_regions(session, corrections, depth=depth)
    # a claim with no record (filed and retracted in one batch) lies where its person does
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
        targets = await repository.events_by_id(
            session, {t for c in corrections for t in c.payload.get("supersedes", [])}
        )
        placed = await _placed(session, list(targets.values()), depth=depth + 1)
    for correction in corrections:
        found = {r for t in correction.payload.get("supersedes", []) for r in placed.get(t, set())}
        replacement = correction.payload.get("replacement")
        if isinstance(replacement, dict) and (own := region_of(replacement)) is not None:
            found.add(own)
        regions[correction.event_id] = found
    return regions


async def _person_event_regions(
    session: AsyncSession, events: Sequence[repository.StoredEvent]
) -> dict[str, set[str]]:
    """A payment or reactivation lies in its membership: while in force, the one it pays for now
    (as the history places it); once retracted, the one it paid for when it was recorded (a
    retracted payment belongs to no later membership of the person); else one ever recorded.
    Another event of a person, or one whose membership cannot be told, lies in the person's
    memberships in force, else their domicile, else every region they were ever registered or a
    member in."""
    niks = {e.nik for e in events if e.nik}
    now = _memberships_and_domiciles(
        await projections.in_force_events_of(session, niks=niks, types=PLACING_EVENTS)
    )
    bpu = [e for e in events if e.type in BPU_EVENTS]
    in_force = (
        {e.event_id for e in await projections.in_force_events_of(session, niks=niks, types=BPU_EVENTS)}
        if bpu
        else set()
    )
    then: dict[int, dict[str, list[InformalEnrolment]]] = {}
    for tx_seq in sorted({e.tx_seq for e in bpu if e.event_id not in in_force}):
        then[tx_seq] = _memberships_and_domiciles(
            await projections.in_force_events_of(
                session, niks=niks, types=["informal.enrolled"], tx_seq=tx_seq
            )
        )[0]
    ever: tuple[dict[str, list[InformalEnrolment]], dict[str, set[str]]] | None = None
    regions: dict[str, set[str]] = {}
    for event in events:
        nik = event.nik or ""
        memberships, domiciles = now[0].get(nik, []), now[1].get(nik, set())
        owner = None
        if event.type in BPU_EVENTS:
            held = memberships if event.event_id in in_force else then[event.tx_seq].get(nik, [])
            owner = person_events.owning_membership(held, event.type, event.payload)
        if owner is None and (event.type in BPU_EVENTS or not (memberships or domiciles)):
            if ever is None:
                ever = _memberships_and_domiciles(
                    await projections.events_ever_of(session, niks=niks, types=PLACING_EVENTS)
                )
            owner = person_events.owning_membership(ever[0].get(nik, []), event.type, event.payload)
            if owner is None and not (memberships or domiciles):
                memberships, domiciles = ever[0].get(nik, []), ever[1].get(nik, set())
        if owner is not None:
            regions[event.event_id] = {owner.region_code}
        else:
            regions[event.event_id] = {m.region_code for m in memberships} or domiciles
    return regions


def _memberships_and_domiciles(
    found: Iterable[projections.InForceEvent],
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
