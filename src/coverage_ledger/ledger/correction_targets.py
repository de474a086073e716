"""A correction corrects what is in force: of two clerks correcting one event, one wins.

Without this rule an event already superseded could be superseded again, and both writers won:
a retraction answered 200 and changed nothing, and a term corrected twice by two clerks with
stale views became two terms (found by a concurrency probe). The loser now learns which
correction won, and corrects its replacement or supersedes it instead. Two writers racing are
caught by the recheck under the append lock (every target is watched), which re-plans the later
one against the winner's tx."""

from collections.abc import Callable, Mapping, Sequence

from coverage_ledger.domain.supersession import EventLinks
from coverage_ledger.errors import ErrorItem
from coverage_ledger.ledger.preparation import PreparedEvent
from coverage_ledger.ledger.projections_repository import Subgraph


def stale_target_errors(
    *, corrections: Sequence[PreparedEvent], graph: Subgraph, fresh_ids: set[str]
) -> list[ErrorItem]:
    """The errors of corrections naming a stored event no longer in force, or one another
    correction of the batch names too (read from the graph before the batch joins it)."""
    errors = []
    named_by: dict[str, str] = {}
    for item in corrections:
        for position, target in enumerate(item.supersedes):
            field = f"{item.path}.supersedes[{position}]"
            if target in named_by:
                errors.append(
                    ErrorItem(
                        "already_superseded",
                        f"{target} is superseded by {named_by[target]} in this batch too; "
                        "correct an event once",
                        field=field,
                    )
                )
                continue
            named_by[target] = item.row.event_id
            if target in fresh_ids or graph.force.get(target, True):
                continue
            node = graph.links.get(target)
            winner = next((c for c in node.corrected_by if graph.force.get(c)), None) if node else None
            if winner is not None:
                message = (
                    f"{target} was already superseded by correction {winner}; to change it again, "
                    f"correct what {winner} put in force, or supersede {winner} to undo it"
                )
            else:
                message = f"{target} is no longer in force: the correction that brought it in was superseded"
            errors.append(ErrorItem("already_superseded", message, field=field))
    return errors


def redone_target_errors(
    *,
    restored: Sequence[str],
    links: Mapping[str, EventLinks],
    force_after: Mapping[str, bool],
    field_of: Callable[[str], str],
) -> list[ErrorItem]:
    """The errors of corrections brought back into force (their undoing superseded) whose target
    another correction in force has superseded meanwhile: redoing one would leave two in force
    on one event, as two corrections of it would (found by a review)."""
    errors = []
    for correction in restored:
        for target in links[correction].supersedes:
            node = links.get(target)
            others = [c for c in node.corrected_by if c != correction and force_after.get(c)] if node else []
            if others:
                errors.append(
                    ErrorItem(
                        "already_superseded",
                        f"undoing this would bring back correction {correction} of {target}, which "
                        f"correction {others[0]} has superseded since; supersede {others[0]} first",
                        field=field_of(correction),
                    )
                )
    return errors
