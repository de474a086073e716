"""Which events are in force: corrections, their replacements, and corrections of corrections.

An event is in force when its carrying correction (if it is a replacement) is in force and no
in-force correction supersedes it. Corrections only point at earlier events, so the relation is
acyclic and the recursion ends. Superseding a correction therefore restores its targets and
withdraws its replacement, as DESIGN.md requires.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(slots=True)
class EventLinks:
    """An event's place in the supersession graph."""

    event_id: str
    carried_by: str | None = None
    """The correction that introduced this event as its replacement."""
    corrected_by: list[str] = field(default_factory=list)
    """Corrections that name this event in `supersedes`, in append order."""
    supersedes: tuple[str, ...] = ()
    """For a correction: the events it supersedes."""
    replacement: str | None = None
    """For a correction: the event it introduces instead."""


@dataclass(frozen=True, slots=True)
class ForceChange:
    """An event entering or leaving force in one tx."""

    event_id: str
    in_force: bool
    superseded_by: str | None = None
    """For an event leaving force: the correction that caused it."""


def downstream(links: Mapping[str, EventLinks], start: Iterable[str]) -> set[str]:
    """Events whose force may change when the `start` events change: targets and replacements."""
    seen: set[str] = set()
    stack = list(start)
    while stack:
        event_id = stack.pop()
        if event_id in seen:
            continue
        seen.add(event_id)
        node = links.get(event_id)
        if node is None:
            continue
        stack.extend(node.supersedes)
        if node.replacement is not None:
            stack.append(node.replacement)
    return seen


def evaluate_force(
    links: Mapping[str, EventLinks],
    recompute: Iterable[str],
    current: Mapping[str, bool],
) -> dict[str, tuple[bool, str | None]]:
    """Force and cause of each event in `recompute`; every other event keeps its `current` force."""
    to_compute = set(recompute)
    memo: dict[str, tuple[bool, str | None]] = {}

    def force(event_id: str) -> tuple[bool, str | None]:
        if event_id not in to_compute:
            return current.get(event_id, True), None
        if event_id in memo:
            return memo[event_id]
        node = links.get(event_id) or EventLinks(event_id)
        result: tuple[bool, str | None] = (True, None)
        for corrector in node.corrected_by:
            if force(corrector)[0]:
                result = (False, corrector)
                break
        if result[0] and node.carried_by is not None:
            carrier_in_force, carrier_cause = force(node.carried_by)
            if not carrier_in_force:
                result = (False, carrier_cause)
        memo[event_id] = result
        return result

    return {event_id: force(event_id) for event_id in to_compute}


def changes_after_append(
    links: Mapping[str, EventLinks],
    new_events: Iterable[str],
    current: Mapping[str, bool],
) -> list[ForceChange]:
    """What enters and leaves force when `new_events` (already in `links`) are appended.

    `current` holds the force, before the append, of every existing event downstream of the new
    ones; new events have no current force and are reported when they enter force.
    """
    new = set(new_events)
    affected = downstream(links, new)
    evaluated = evaluate_force(links, affected, current)
    changes: list[ForceChange] = []
    for event_id in sorted(affected, key=lambda e: (e not in new, e)):
        in_force, cause = evaluated[event_id]
        was = current.get(event_id) if event_id not in new else None
        if event_id in new:
            if in_force:
                changes.append(ForceChange(event_id, True))
            continue
        if was is None:
            continue  # unknown to the ledger: validation reports it before this runs
        if in_force != was:
            changes.append(ForceChange(event_id, in_force, None if in_force else cause))
    return changes
