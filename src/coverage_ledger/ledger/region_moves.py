"""What a change of region definitions leaves behind: a code retracted, ended or moved in valid
time (its `region.defined` entering or leaving force, the supersession cascade included) must
still exist on every day that the events in force placing persons in it ask of it, as an append
of those events is checked (`region_checks.region_date_errors`); and a code no longer defined at
all must not keep regions under it. Otherwise persons would count in a region that no longer
exists on the day asked, in no child of it (found by a region probe: a retracted district kept
its officer, counted in the regency but in none of its districts).

Which events name a code is not watched by the recheck under the append lock, so a batch that
withdraws a region definition is planned again under it (`service.append_events`)."""

from collections.abc import Callable, Iterable, Mapping
from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.domain.region_codes import region_parent
from coverage_ledger.errors import Conflict, ErrorItem
from coverage_ledger.ledger import projections_repository, repository
from coverage_ledger.ledger.region_checks import not_in_force_reason
from coverage_ledger.ledger.snapshot import RegionDefinition

REGION_DEFINITION = "region.defined"
PLACING = ("officer.enrolled", "informal.enrolled", "potential.estimated", "person.registered")
"""The events that place a person (or a region's potential) in a region: a term (every day of
it), a membership or an estimate (its first day, as an append checks it) and a registration (the
code defined at all)."""


def _days_asked(event_type: str, payload: Mapping[str, Any]) -> tuple[date, date] | None:
    """The days [start, end) an event asks of its region; None for a registration (undated)."""
    if event_type == "officer.enrolled":
        return date.fromisoformat(payload["valid_from"]), date.fromisoformat(payload["valid_to"])
    if event_type in ("informal.enrolled", "potential.estimated"):
        start = date.fromisoformat(payload["valid_from"])
        return start, start + timedelta(days=1)
    return None


def _left_out(event_type: str, payload: Mapping[str, Any], windows: list[RegionDefinition]) -> bool:
    """Whether the region's definitions after the batch fail the days the event asks of it."""
    if not windows:
        return True
    days = _days_asked(event_type, payload)
    return days is not None and not_in_force_reason(payload["region_code"], windows, *days) is not None


def _days_taken(
    event_type: str,
    payload: Mapping[str, Any],
    before: list[RegionDefinition],
    after: Mapping[str, list[RegionDefinition]],
) -> bool:
    """Whether the batch takes from a stored event a day its region had for it before the batch
    (a registration: the code defined at all)."""
    windows = after[payload["region_code"]]
    days = _days_asked(event_type, payload)
    if days is None:
        return bool(before) and not windows
    start, end = days
    return any(
        _defines(before, start + timedelta(days=n)) and not _defines(windows, start + timedelta(days=n))
        for n in range((end - start).days)
    )


def _defines(windows: list[RegionDefinition], day: date) -> bool:
    return any((w.valid_from or date.min) <= day < (w.valid_to or date.max) for w in windows)


async def check_region_moves(
    session: AsyncSession,
    *,
    entering: Iterable[str],
    leaving: set[str],
    kinds: Mapping[str, tuple[str, str | None]],
    payloads: Mapping[str, Mapping[str, Any]],
    fresh: set[str],
    field_of: Callable[[str], str],
) -> bool:
    """409 `region_in_use` when the batch's region definitions leave an event in force (stored or
    entering) asking its region for days it no longer exists, or leave a code with no definition
    while regions under it keep theirs; 409 `region_not_in_force` when a correction brings back a
    term, membership or registration whose region does not exist on its days (an event of the
    batch itself is checked as it is prepared). `field_of` names the field of a moved event (the
    batch's own, or the correction whose cascade moves it); `fresh` the batch's own event ids, and
    `payloads` holds theirs (and may hold others'). Whether there was anything to check:
    a definition left force, or such an event came back (a definition only added takes no day
    from its code)."""
    entering = list(entering)
    withdrawn = [e for e in leaving if kinds.get(e, ("", None))[0] == REGION_DEFINITION]
    brought_back = [e for e in entering if e not in fresh and kinds[e][0] in PLACING]
    if not withdrawn and not brought_back:
        return False
    moved = [*(e for e in entering if kinds[e][0] == REGION_DEFINITION), *withdrawn]
    stored = await repository.events_by_id(session, [*(e for e in moved if e not in payloads), *brought_back])
    definitions = {e: payloads[e] if e in payloads else stored[e].payload for e in moved}
    placed: list[tuple[str, str, Mapping[str, Any]]] = [
        (e, kinds[e][0], payloads[e] if e in payloads else stored[e].payload)
        for e in entering
        if kinds[e][0] in PLACING
    ]
    emptied = {definitions[e]["code"] for e in withdrawn}
    codes = emptied | {p["region_code"] for e, _, p in placed if e in brought_back}
    before, after = await _definitions_before_and_after(
        session, codes=codes, leaving=leaving, entering=entering, definitions=definitions
    )
    # a stored event is blamed only for days the batch takes from it: one a release before these
    # checks stored on days its code never had (found by an upgrade probe) does not hold up a
    # change, a rename say, that takes none of the days it has (a review found the first version
    # letting every change through for an event missing any day)
    placed += [
        (e.event_id, e.type, e.payload)
        for e in await projections_repository.in_force_events_in_regions(
            session, codes=emptied, types=PLACING
        )
        if e.event_id not in leaving
        and _days_taken(e.type, e.payload, before[e.payload["region_code"]], after)
    ]
    blamed = {p["region_code"]: field_of(e) for e, _, p in reversed(placed) if e in brought_back}
    blamed |= {
        definitions[e]["code"]: field_of(e) for e in reversed(moved) if definitions[e]["code"] in codes
    }
    errors = []
    for code in sorted(codes):
        asking = sorted(
            {e for e, t, p in placed if p["region_code"] == code and _left_out(t, p, after[code])}
        )
        if asking:
            listed = f"{', '.join(asking[:3])}{', …' if len(asking) > 3 else ''}"
            errors.append(
                ErrorItem(
                    "region_in_use" if code in emptied else "region_not_in_force",
                    f"region {code} would not exist on every day that {len(asking)} event(s) in force "
                    f"after this batch ask of it ({listed}); correct or retract those first, or in the "
                    "same batch",
                    field=blamed[code],
                )
            )
    errors += await _orphaned_children(
        session,
        after=after,
        emptied=emptied,
        leaving=leaving,
        entering=entering,
        definitions=definitions,
        blamed=blamed,
    )
    if errors:
        raise Conflict(
            "the batch would leave persons or regions in a region that does not exist then; "
            "nothing was written",
            errors,
        )
    return True


async def _definitions_before_and_after(
    session: AsyncSession,
    *,
    codes: set[str],
    leaving: set[str],
    entering: list[str],
    definitions: Mapping[str, Mapping[str, Any]],
) -> tuple[dict[str, list[RegionDefinition]], dict[str, list[RegionDefinition]]]:
    """Each code's definitions in force before the batch, and once the batch is."""
    before: dict[str, list[RegionDefinition]] = {code: [] for code in codes}
    after: dict[str, list[RegionDefinition]] = {code: [] for code in codes}
    for row in await projections_repository.region_definitions_in_force(session, codes=codes):
        definition = RegionDefinition(row.event_id, row.valid_from, row.valid_to)
        before[row.code].append(definition)
        if row.event_id not in leaving:
            after[row.code].append(definition)
    for event_id in entering:
        entered = definitions.get(event_id)
        if entered is not None and entered["code"] in codes:
            after[entered["code"]].append(RegionDefinition.of(event_id, entered))
    return before, after


async def _orphaned_children(
    session: AsyncSession,
    *,
    after: Mapping[str, list[RegionDefinition]],
    emptied: set[str],
    leaving: set[str],
    entering: list[str],
    definitions: Mapping[str, Mapping[str, Any]],
    blamed: Mapping[str, str],
) -> list[ErrorItem]:
    """A code the batch leaves with no definition that keeps regions under it."""
    gone = {code for code in emptied if not after[code]}
    if not gone:
        return []
    children: dict[str, list[str]] = {}
    for row in await projections_repository.child_definitions_in_force(session, codes=gone):
        if row.event_id not in leaving:
            children.setdefault(row.parent_code, []).append(row.code)
    for event_id in entering:
        entered = definitions.get(event_id)
        if entered is not None and (parent := region_parent(entered["code"])) in gone:
            children.setdefault(parent, []).append(entered["code"])
    return [
        ErrorItem(
            "region_in_use",
            f"region {code} would no longer be defined while {len(under)} region(s) under it are "
            f"({', '.join(sorted(under)[:3])}{', …' if len(under) > 3 else ''}); retract those too",
            field=blamed[code],
        )
        for code, under in sorted(children.items())
    ]
