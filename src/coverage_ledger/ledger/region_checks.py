"""The checks of an append that concern region codes: a code defined again, and a term in a
region on days its decree does not give the code."""

from collections.abc import Sequence
from datetime import date, timedelta

from coverage_ledger.domain.coverage import human_date
from coverage_ledger.errors import ErrorItem
from coverage_ledger.ledger.schemas import (
    InformalEnrolled,
    OfficerEnrolled,
    PotentialEstimated,
    RegionDefined,
)
from coverage_ledger.ledger.snapshot import RegionDefinition, Snapshot


def not_in_force_reason(
    region: str, windows: Sequence[RegionDefinition], start: date, end: date
) -> str | None:
    """Why a region cannot be asked of the days [start, end) (end exclusive): its decrees (the
    `windows` of its definitions in force) do not give the code on every one of them; None when
    they do (back-to-back definitions joined), or when no definition bounds the code."""
    if not windows or any(first <= start and end <= last for first, last in _joined(windows)):
        return None
    spans = "; ".join(
        f"{human_date(w.valid_from) if w.valid_from else 'always'} – "
        f"{human_date(w.valid_to - timedelta(days=1)) if w.valid_to else 'now'}"
        for w in windows
    )
    return f"region {region} does not exist on every day asked of it here (it exists {spans})"


def _joined(windows: Sequence[RegionDefinition]) -> list[tuple[date, date]]:
    """The days the definitions give the code, back-to-back ones joined (a code renamed on a day
    exists across it: its old name's definition ends that day, the new one's begins)."""
    joined: list[tuple[date, date]] = []
    for first, last in sorted((w.valid_from or date.min, w.valid_to or date.max) for w in windows):
        if joined and first <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(joined[-1][1], last))
        else:
            joined.append((first, last))
    return joined


def region_date_errors(
    event: OfficerEnrolled | InformalEnrolled | PotentialEstimated,
    region: str,
    windows: Sequence[RegionDefinition],
    path: str,
) -> list[ErrorItem]:
    """A term (a membership or a potential estimate: its start) in a region on days its decree
    gives the code: a code of a later decree, or one retired before, would count a person (or an
    estimate) where no region exists then."""
    start = event.valid_from
    end = event.valid_to if isinstance(event, OfficerEnrolled) else start + timedelta(days=1)
    reason = not_in_force_reason(region, windows, start, end)
    return [] if reason is None else [ErrorItem("region_not_in_force", reason, field=f"{path}.region_code")]


def definition_of(event: RegionDefined) -> RegionDefinition:
    """The valid days a `region.defined` about to be appended gives its code."""
    return RegionDefinition(event.event_id, event.valid_from, event.valid_to)


def _overlap(a: RegionDefinition, b: RegionDefinition) -> bool:
    """Whether two definitions give the code valid time in common (None: unbounded)."""
    return (a.valid_from or date.min) < (b.valid_to or date.max) and (b.valid_from or date.min) < (
        a.valid_to or date.max
    )


def redefinition_errors(
    event: RegionDefined,
    path: str,
    snapshot: Snapshot,
    superseded: set[str],
    batch: dict[str, list[RegionDefinition]],
) -> list[ErrorItem]:
    """A code defined again for valid time its definition in force (or an earlier one of the
    `batch`, its definitions by code in batch order) already covers: the reads would have two
    answers for it and keep the older. A change of name or end date supersedes that definition
    (`event.corrected`)."""
    new = definition_of(event)
    ours = batch.get(event.code, [])
    earlier = ours[: ours.index(new)]
    errors = []
    for existing in [*snapshot.region_definitions.get(event.code, []), *earlier]:
        if existing.event_id not in superseded and _overlap(existing, new):
            errors.append(
                ErrorItem(
                    "region_already_defined",
                    f"region {event.code} is already defined for these dates by {existing.event_id}; "
                    "to change it, supersede that event with event.corrected",
                    field=f"{path}.code",
                )
            )
    return errors
