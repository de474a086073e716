"""`mode=replace_roster`: the file is the committee's complete roster for the roles and districts it
lists, over the period its terms span.
Changed rows become corrections carrying the new enrolment; enrolments whose NIK disappeared
become retractions; unchanged rows write nothing."""

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.canonical import event_digest
from coverage_ledger.ledger.repository import EventRow
from coverage_ledger.uploads import staging_repository

RETRACTED_SHOWN = 1_000
"""NIKs of retracted officers an upload's outcome lists (the count is always whole)."""


@dataclass
class RosterCorrections:
    """The correction events a replacement writes, and their effect on what is in force."""

    events: list[EventRow] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    leaving: list[tuple[str, str | None]] = field(default_factory=list)
    """(old event, the correction that supersedes it)."""
    links: list[tuple[str, str]] = field(default_factory=list)
    """(target, correction)."""
    corrected: int = 0
    retracted: int = 0
    retracted_niks: list[str] = field(default_factory=list)
    """Persons whose enrolment is retracted (their coverage spans change)."""
    replacing: bool = False
    across_period_niks: list[str] = field(default_factory=list)
    """Persons the file leaves out whose term reaches beyond the period it spans: left alone (a
    file about one month must not erase a term's other months, on which claims may rest)."""

    def summary(self, counts: dict[str, int]) -> dict[str, Any]:
        """Counts by effect for the upload's outcome."""
        return {
            "enrolled": counts.get("rows_accepted", 0) - self.corrected,
            "corrected": self.corrected,
            "retracted": self.retracted,
            # whom, so that a dry run shows the officers a replacement would take off the roster
            "retracted_niks": sorted(set(self.retracted_niks))[:RETRACTED_SHOWN],
            "unchanged": counts.get("rows_duplicate", 0),
        } | (
            {
                "left_across_period": len(self.across_period_niks),
                "left_across_period_niks": sorted(set(self.across_period_niks))[:RETRACTED_SHOWN],
            }
            if self.replacing
            else {}
        )

    def add(self, event_id: str, payload: dict[str, Any], position: int, target: str) -> None:
        """One correction superseding `target`."""
        self.events.append(
            EventRow(
                event_id=event_id,
                type="event.corrected",
                nik=None,
                carried_by=None,
                payload=payload,
                digest=event_digest(event_id, "event.corrected", payload),
            )
        )
        self.positions.append(position)
        self.leaving.append((target, event_id))
        self.links.append((target, event_id))


async def roster_corrections(
    session: AsyncSession, *, upload_id: str, committee: str, key_region_prefix: str | None, replace: bool
) -> RosterCorrections:
    """The corrections of a replace_roster upload (none in append mode)."""
    result = RosterCorrections(replacing=replace)
    if not replace:
        return result
    prefix = upload_id.replace("-", "")
    for row, old_event_id, enrolment_id in await staging_repository.changed_rows(session):
        result.add(
            f"{enrolment_id}-c",
            {
                "supersedes": [old_event_id],
                "reason": f"changed by roster upload {upload_id}, row {row}",
                "replacement_event_id": enrolment_id,
            },
            4 * row + 1,
            old_event_id,
        )
        result.corrected += 1
    base = 4 * (await staging_repository.max_staged_row(session) + 1)
    vanished = await staging_repository.vanished_enrolments(
        session, committee=committee, key_region_prefix=key_region_prefix
    )
    within = [(event_id, nik) for event_id, nik, _region, inside in vanished if inside]
    result.across_period_niks = [nik for _, nik, _region, inside in vanished if not inside]
    for index, (old_event_id, nik) in enumerate(within):
        result.retracted_niks.append(nik)
        result.add(
            f"{prefix}-x{index}",
            {"supersedes": [old_event_id], "reason": f"not in the roster uploaded as {upload_id}"},
            base + index,
            old_event_id,
        )
        result.retracted += 1
    return result
