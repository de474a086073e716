"""A person dies once: the check, under the append lock, that a claim entering force (filed,
approved, or no longer rejected) claims no second death benefit for its person and no incident
after the death another live claim names (domain/claims.py `death_clash`)."""

from collections.abc import Collection, Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.claims import repository
from coverage_ledger.claims.review_outcome import ClaimReview
from coverage_ledger.domain.access import Principal
from coverage_ledger.domain.claims import DEATH_BENEFITS, ClaimOfPerson, ClaimStatus, death_clash
from coverage_ledger.errors import ErrorItem

ONE_DEATH_CODES = ("death_already_claimed", "incident_after_death")
"""Clashes with what the ledger holds (409)."""


def _asking(
    review: ClaimReview, *, was_live: bool, entering: Collection[str], paths: Mapping[str, str]
) -> str | None:
    """The request path to blame when the claim asks to be judged in this tx, else None: its
    filing or approval enters, or it comes back from a rejection (a rejection retracted)."""
    decision = review.state.decision
    if review.filed.event_id in entering:
        return paths.get(review.filed.event_id, "events")
    if decision is not None and decision.approved and decision.event_id in entering:
        return paths.get(decision.event_id, "events")
    return None if was_live else "events"


async def one_death_problems(
    session: AsyncSession,
    *,
    principal: Principal,
    reviews: Mapping[str, ClaimReview],
    touched: Collection[str],
    was_live: Mapping[str, bool],
    entering: Collection[str],
    paths: Mapping[str, str],
) -> dict[str, list[ErrorItem]]:
    """The problems of each touched claim that would make a second death benefit, or claim an
    incident after a death; `was_live`: whether each claim stood, not rejected, before the tx."""
    live = {c: r for c, r in reviews.items() if r.state.status is not ClaimStatus.REJECTED}
    judged = {
        claim_id: (review, path)
        for claim_id, review in live.items()
        if (path := _asking(review, was_live=was_live.get(claim_id, False), entering=entering, paths=paths))
    }
    if not judged:
        return {}
    niks = sorted({review.filing.nik for review, _ in judged.values()})
    # a touched claim counts as the tx leaves it (a filing retracted in the batch is gone)
    stored = [row for row in await repository.live_claims_of(session, niks) if row.claim_id not in touched]
    regions = {row.claim_id: row.region_code for row in stored} | {c: r.region_code for c, r in live.items()}
    problems: dict[str, list[ErrorItem]] = {}
    for claim_id, (review, path) in judged.items():
        filing = review.filing
        others = [
            ClaimOfPerson(r.filing.claim_id, r.filing.benefit, r.filing.incident_date)
            for r in live.values()
            if r.filing.nik == filing.nik
        ] + [
            ClaimOfPerson(row.claim_id, row.benefit, row.incident_date)
            for row in stored
            if row.nik == filing.nik
        ]
        clash = death_clash(ClaimOfPerson(claim_id, filing.benefit, filing.incident_date), others)
        if clash is None:
            continue
        code, other = clash
        # another region's claim is told neither by its id nor by its date
        seen = principal.sees(regions.get(other.claim_id, ""))
        named = f"claim {other.claim_id!r}" if seen else "another claim"
        if code == "death_already_claimed":
            message = (
                f"{named} already claims a death benefit for this person; a death is paid once, as JKK "
                "when it came from work, else as JKM: reject or retract the other claim first"
            )
            problems[claim_id] = [ErrorItem(code, message, field=_field(path, "benefit"))]
            continue
        if filing.benefit in DEATH_BENEFITS:
            when = f" on {other.incident_date}" if seen else ""
            message = f"{named} names an incident{when} after this death on {filing.incident_date}"
        else:
            when = f" ({other.incident_date})" if seen else ""
            message = f"the incident on {filing.incident_date} is after the death that {named} claims{when}"
        problems[claim_id] = [ErrorItem(code, message, field=_field(path, "incident_date"))]
    return problems


def _field(path: str, name: str) -> str:
    """The field of the blamed event; the batch as a whole when no event of the claim is to blame."""
    return path if path == "events" else f"{path}.{name}"
