"""Checks of `rule.defined` events against the rules in force: one `public_holidays` rule per
year, so a calendar is changed by correcting its rule, never by a second one merged into it; one
grace rule, and one rule in force per rule id, whatever a batch and its cascade bring back."""

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.errors import Conflict, ErrorItem
from coverage_ledger.ledger import projections_repository, repository
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


RULE = "rule.defined"
SINGLE_RULES = (
    ("grace", "grace_rule_defined", "a membership has one grace length"),
    # which of two readings applied would be the table's order (a review found one taken)
    ("claim_reading", "claim_reading_defined", "claims are read one way"),
)
"""Kinds of which one rule is in force at a time: (kind, refusal code, why)."""


async def check_rules_after(
    session: AsyncSession,
    *,
    entering: Sequence[str],
    leaving: Collection[str],
    kinds: Mapping[str, tuple[str, str | None]],
    payloads: Mapping[str, Mapping[str, Any]],
    field_of: Any,
) -> bool:
    """409 when the rules in force after the batch (its own, and those its cascade restores) would
    hold two grace lengths (`grace_rule_defined`), two claim readings (`claim_reading_defined`) or
    two rules of one id (`rule_id_in_force`): which
    one applied was then the table's physical order (found by a probe: an answer at a fixed tx
    changed from 6 months' grace to 1). Whether a rule entered or left force."""
    moved_in = [e for e in entering if kinds[e][0] == RULE]
    if not moved_in and not any(kinds.get(e, ("", None))[0] == RULE for e in leaving):
        return False
    if not moved_in:
        return True
    stored = await repository.events_by_id(session, [e for e in moved_in if e not in payloads])
    after: dict[str, Mapping[str, Any]] = {
        e: p
        for e, p in (await projections_repository.rules_in_force_now(session)).items()
        if e not in leaving
    }
    after |= {e: payloads[e] if e in payloads else stored[e].payload for e in moved_in}
    errors = []
    for kind, code, what in SINGLE_RULES:
        held = sorted(e for e, p in after.items() if p.get("kind") == kind)
        blamed_ones = [e for e in moved_in if e in held]
        if len(held) > 1 and blamed_ones:
            errors.append(
                ErrorItem(
                    code,
                    f"{what}; {', '.join(held)} would all be in force: correct the one in force with "
                    "event.corrected and a replacement instead",
                    field=field_of(blamed_ones[0]),
                )
            )
    by_id: dict[str, list[str]] = {}
    for event_id, payload in after.items():
        by_id.setdefault(str(payload.get("rule_id")), []).append(event_id)
    for rule_id, holders in sorted(by_id.items()):
        blamed_ids = [e for e in moved_in if e in holders]
        if len(holders) > 1 and blamed_ids:
            errors.append(
                ErrorItem(
                    "rule_id_in_force",
                    f"rule {rule_id} would be in force twice ({', '.join(sorted(holders))}): a rule id "
                    "names one rule; correct it with event.corrected and a replacement instead",
                    field=field_of(blamed_ids[0]),
                )
            )
    if errors:
        raise Conflict("the rule table would hold a rule twice; nothing was written", errors)
    return True
