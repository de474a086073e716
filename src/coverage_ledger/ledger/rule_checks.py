"""Checks of `rule.defined` events against the rules in force: one `public_holidays` rule per
year, so a calendar is changed by correcting its rule, never by a second one merged into it."""

from collections.abc import Collection, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.errors import Conflict, ErrorItem
from coverage_ledger.ledger import projections_repository
from coverage_ledger.ledger.preparation import PreparedEvent
from coverage_ledger.ledger.schemas import RuleDefined


async def check_holiday_years(
    session: AsyncSession, *, prepared: Sequence[PreparedEvent], leaving: Collection[str]
) -> None:
    """409 `holiday_year_defined` for a `public_holidays` rule of a year that another rule in
    force (and not superseded by this batch), or another of the batch, already defines."""
    fresh = [
        (p, int(p.source.parameters["year"]))  # type: ignore[arg-type]  # checked as a rule already
        for p in prepared
        if isinstance(p.source, RuleDefined) and p.source.kind == "public_holidays"
    ]
    if not fresh:
        return
    in_force = await projections_repository.holiday_rules_in_force(
        session, years=sorted({y for _, y in fresh})
    )
    taken = {year: event_id for event_id, year in in_force.items() if event_id not in leaving}
    errors = []
    for item, year in fresh:
        if year in taken:
            errors.append(
                ErrorItem(
                    "holiday_year_defined",
                    f"{year} already has a public_holidays rule ({taken[year]}): correct it with "
                    "event.corrected and a replacement instead",
                    field=f"{item.path}.parameters",
                )
            )
        taken.setdefault(year, item.row.event_id)
    if errors:
        raise Conflict("a year would have two holiday calendars; nothing was written", errors)
