"""A person's history: every event about them as the ledger knew it, as far as the key may read."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.claims.review import review_claims
from coverage_ledger.coverage import repository as coverage_repository
from coverage_ledger.coverage.service import person_coverage
from coverage_ledger.domain.access import Principal
from coverage_ledger.ledger import person_events, projections_repository, repository
from coverage_ledger.ledger.asof import AsOf
from coverage_ledger.ledger.repository import StoredEvent


async def person_history(
    session: AsyncSession, *, principal: Principal, nik: str, as_of: AsOf
) -> dict[str, Any]:
    """Every event about the person known at `as_of`, with its force intervals and correctors; a
    registration's personal fields for keys whose region holds that registration's domicile."""
    await person_coverage(session, principal=principal, nik=nik, as_of=as_of)  # scope and existence
    events = await repository.events_about(session, nik=nik, up_to_tx=as_of.tx_seq)
    intervals = await coverage_repository.force_intervals(
        session, [e.event_id for e in events], up_to_tx=as_of.tx_seq
    )
    vault = await projections_repository.vault_entries(
        session, [e.event_id for e in events if e.type == "person.registered"]
    )
    hidden = await _claim_events_hidden(session, principal=principal, events=events, as_of=as_of)
    outside = _events_outside_region(principal, events, intervals, as_of)
    shown_events = [e for e in events if e.event_id not in hidden and e.event_id not in outside]
    bearing = await _corrections(
        session,
        [e.event_id for e in shown_events],
        up_to_tx=as_of.tx_seq,
        national=principal.region_prefix is None,
    )
    # the corrections naming each event, from those bearing on them (their reasons withheld alike)
    corrected_by: dict[str, list[dict[str, Any]]] = {}
    for c in bearing:
        for target in c["supersedes"]:
            corrected_by.setdefault(target, []).append(
                {"event_id": c["event_id"], "tx_seq": c["tx_seq"], "reason": c["reason"]}
            )
    # an erasure's reason (a request, its channel) is the registering region's, as the personal
    # fields are: a committee elsewhere that enrolled the person learnt it (found by a privacy probe)
    home_seen = any(
        e.type == "person.registered" and principal.sees(e.payload.get("region_code", ""))
        for e in shown_events
    )
    items = []
    for event in shown_events:
        payload = dict(event.payload)
        if event.type == "person.erased" and not home_seen:
            payload["reason"] = None
        # personal fields only within the registration's own region: a key that sees the person
        # through an enrolment it wrote (any committee may enrol any NIK) gets the digest alone
        personal = None
        if event.type == "person.registered":
            if not principal.sees(payload.get("region_code", "")):
                personal = "outside_region"
            elif event.event_id in vault:
                payload.update(vault[event.event_id][1])
                personal = "shown"
            else:  # person.erased took them: a history read before showed them
                personal = "erased"
        items.append(
            {
                "event_id": event.event_id,
                "type": event.type,
                "tx_seq": event.tx_seq,
                "recorded_at": event.recorded_at,
                "valid_from": payload.get("valid_from"),
                "valid_to": payload.get("valid_to"),
                "carried_by": event.carried_by,
                "payload": payload,
                "personal_fields": personal,
                "in_force": _force_out(intervals.get(event.event_id, [])),
                "superseded_by": corrected_by.get(event.event_id, []),
            }
        )
    return {"nik": nik, "events": items, "corrections": bearing, "events_outside_region": len(outside)}


def _force_out(spans: list[tuple[int, int | None, str | None]]) -> list[dict[str, Any]]:
    """Force intervals as the history shows them."""
    return [{"tx_from": lo, "tx_to": hi, "superseded_by": by} for lo, hi, by in spans]


async def _corrections(
    session: AsyncSession, listed: list[str], *, up_to_tx: int, national: bool
) -> list[dict[str, Any]]:
    """The corrections bearing on the listed events (naming one, carrying one as its replacement,
    or correcting such a correction), each with its reason and what it names among what the key
    reads: who undid a correction, and why, is there too (found by an auditor's probe: a term
    withdrawn by the correction of its correction showed no correction and no reason), in log
    order. A regional key is not told the reason of one that
    names what it does not read, itself or through a correction it names (another region's
    term it moved in, and the undoing of that move: the reasons are that region's too), only how
    many such targets (found by a review and a regression probe)."""
    corrections = await repository.corrections_bearing_on(session, listed, up_to_tx=up_to_tx)
    intervals = await coverage_repository.force_intervals(
        session, [c.event_id for c in corrections], up_to_tx=up_to_tx
    )
    shown = {*listed, *(c.event_id for c in corrections)}
    readable = set(listed)  # and, in log order, each correction all of whose names are readable
    items = []
    for c in corrections:
        targets = list(c.payload.get("supersedes", []))
        replacement = c.payload.get("replacement_event_id")
        named = [*targets, *([replacement] if replacement is not None else [])]
        unread = sum(name not in readable for name in named)
        told = national or not unread
        if told:
            readable.add(c.event_id)
        items.append(
            {
                "event_id": c.event_id,
                "tx_seq": c.tx_seq,
                "recorded_at": c.recorded_at,
                "supersedes": [target for target in targets if target in shown],
                "replacement": replacement if replacement in shown else None,
                "reason": c.payload.get("reason") if told else None,
                "names_not_shown": 0 if national else unread,
                "in_force": _force_out(intervals.get(c.event_id, [])),
            }
        )
    return items


async def _claim_events_hidden(
    session: AsyncSession, *, principal: Principal, events: list[StoredEvent], as_of: AsOf
) -> set[str]:
    """The claim events a key may not read: all of them for a role that reads no claims
    (committees, sponsors); for a regional key, those of claims placed outside its region, as
    `GET /v1/claims/{id}` places them (the region of the person's cover on the incident date).
    Seeing a person through a term in the key's region does not open their claims elsewhere.
    (Corrections name no person, so a history holds none of a claim's to hide.)"""
    claim_of = {e.event_id: str(e.payload.get("claim_id")) for e in events if e.type.startswith("claim.")}
    if not claim_of or (principal.reads_claims and principal.region_prefix is None):
        return set()
    if not principal.reads_claims:
        return set(claim_of)
    reviews = await review_claims(
        session, claim_ids=sorted(set(claim_of.values())), tx_seq=as_of.tx_seq, today=as_of.valid_at
    )
    readable = {claim for claim, review in reviews.items() if principal.sees(review.region_code)}
    return {event for event, claim in claim_of.items() if claim not in readable}


def _events_outside_region(
    principal: Principal,
    events: list[StoredEvent],
    intervals: dict[str, list[tuple[int, int | None, str | None]]],
    as_of: AsOf,
) -> set[str]:
    """The events a key may not read because they lie outside its region (the key sees the
    person through another one): enrolments there, registrations there no longer in force (a
    domicile the person left), and the payments and reactivations of the memberships there:
    another region's committee, term and payer are not its data. A payment belongs to the
    membership it was recorded for (the one it paid for among those in force at its tx, else
    among any the person held), as that membership stands at the read: followed through the
    corrections that replaced it, as the append checks place it (`ledger/event_regions.py`);
    one that belongs to none is left out unless a membership in force lies inside."""
    if principal.region_prefix is None:
        return set()

    def in_force_at(event_id: str, tx_seq: int) -> bool:
        return person_events.in_force_at(((lo, hi) for lo, hi, _ in intervals.get(event_id, [])), tx_seq)

    enrolments = [e for e in events if e.type in ("officer.enrolled", "informal.enrolled")]
    outside = {e.event_id for e in enrolments if not principal.sees(e.payload["region_code"])}
    outside |= {
        e.event_id
        for e in events
        if e.type == "person.registered"
        and not principal.sees(e.payload["region_code"])
        and not in_force_at(e.event_id, as_of.tx_seq)
    }
    stored = [e for e in enrolments if e.type == "informal.enrolled"]
    held = {
        e.event_id: person_events.informal_enrolment(e.event_id, e.payload, e.recorded_at) for e in stored
    }
    in_force = {e.event_id for e in stored if in_force_at(e.event_id, as_of.tx_seq)}
    replaced_by = person_events.replacements(
        carried_by={e.event_id: e.carried_by for e in stored},
        ended_by={e.event_id: spans[-1][2] for e in stored if (spans := intervals.get(e.event_id))},
    )
    any_inside = any(m not in outside for m in in_force)
    for event in events:
        if event.type not in ("contribution.paid", "membership.reactivated"):
            continue
        owner = person_events.recorded_membership(
            event.type,
            event.payload,
            then=[m for e, m in held.items() if in_force_at(e, event.tx_seq)],
            held=list(held.values()),
        )
        if owner is None:
            if not any_inside:
                outside.add(event.event_id)
            continue
        if person_events.current_form(owner.event_id, replaced_by, in_force) in outside:
            outside.add(event.event_id)
    return outside
