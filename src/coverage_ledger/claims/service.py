"""Claims as the offices and auditors read them: one claim as known at a moment, the claims of a
region (the overdue ones among them), and payouts summed by benefit, region or month."""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.claims import repository
from coverage_ledger.claims.repository import PayoutGroup as PayoutGroup  # the payouts answer's groups
from coverage_ledger.claims.repository import RecordRow
from coverage_ledger.claims.review import review_claims
from coverage_ledger.claims.review_outcome import ClaimReview
from coverage_ledger.domain.access import Principal
from coverage_ledger.domain.claims import OVERDUE, listed_due_date
from coverage_ledger.domain.region_codes import child_code_length
from coverage_ledger.errors import Forbidden, NotFound
from coverage_ledger.ledger.asof import AsOf
from coverage_ledger.regions import repository as regions_repository
from coverage_ledger.regions.visibility import visible_region


def _may_read(principal: Principal) -> None:
    """403 for a role that reads no claims (`Principal.reads_claims`)."""
    if not principal.reads_claims:
        raise Forbidden(f"role {principal.role} does not read claims")


def _no_claim(claim_id: str) -> NotFound:
    # one body for unknown and out-of-scope claims, so existence does not leak
    return NotFound(f"no claim {claim_id!r} is visible to this key")


async def claim_detail(
    session: AsyncSession, *, principal: Principal, claim_id: str, as_of: AsOf
) -> ClaimReview:
    """The claim as known at `as_of.tx_seq`, late or overdue as of `as_of.valid_at`."""
    _may_read(principal)
    if principal.region_prefix is not None:
        # decided from the claim's record before it is reviewed: reviewing it first made a claim
        # of another region take twice as long to be a 404 as an unknown claim id (a scope probe)
        region = await repository.claim_region_at(session, claim_id=claim_id, tx_seq=as_of.tx_seq)
        if region is None or not principal.sees(region):
            raise _no_claim(claim_id)
    reviews = await review_claims(
        session, claim_ids=[claim_id], tx_seq=as_of.tx_seq, today=as_of.valid_at, reader=principal
    )
    review = reviews.get(claim_id)
    if review is None or not principal.sees(review.region_code):
        raise _no_claim(claim_id)
    return review


@dataclass(frozen=True, slots=True)
class ClaimPage:
    """One page of claims, and where the next one starts."""

    items: list[RecordRow]
    next_cursor: str | None


async def _scope(session: AsyncSession, principal: Principal, region: str | None, as_of: AsOf) -> str | None:
    """The region prefix a read covers; 404 for a region outside the key's or unknown then."""
    if region is not None:
        await visible_region(
            session, principal=principal, code=region, tx_seq=as_of.tx_seq, day=as_of.valid_at
        )
    return region or principal.region_prefix


OVERDUE_BATCH = 200
"""Candidate claims reviewed per round when listing the overdue ones."""


async def overdue_reviews(
    session: AsyncSession, *, claim_ids: Sequence[str], as_of: AsOf
) -> dict[str, ClaimReview]:
    """The claim reads of the candidate claims that are overdue on `as_of.valid_at`."""
    # The candidates come from `repository.OVERDUE_CANDIDATES`; the lists and reports say what the claim read
    # says.
    reviews = await review_claims(session, claim_ids=claim_ids, tx_seq=as_of.tx_seq, today=as_of.valid_at)
    return {claim_id: review for claim_id, review in reviews.items() if OVERDUE in review.flags}


async def list_claims(
    session: AsyncSession,
    *,
    principal: Principal,
    as_of: AsOf,
    region: str | None,
    statuses: Sequence[str] | None,
    overdue: bool,
    cursor: str | None,
    limit: int,
) -> ClaimPage:
    """Claims of a region as known at `as_of`, in claim_id order, with their due date on its valid day."""
    # `overdue`: only those still unpaid after their due date on `as_of.valid_at`, as the claim read has it (a
    # claim paid after that day was overdue on it).
    _may_read(principal)
    scope = await _scope(session, principal, region, as_of)
    found: list[RecordRow] = []
    after = cursor or ""
    while len(found) <= limit:
        batch = OVERDUE_BATCH if overdue else limit + 1
        rows = await repository.records_as_of(
            session,
            tx_seq=as_of.tx_seq,
            region_prefix=scope,
            statuses=statuses,
            day=as_of.valid_at,
            overdue_candidates=overdue,
            after=after,
            limit=batch,
        )
        if overdue:
            late = await overdue_reviews(session, claim_ids=[r.claim_id for r in rows], as_of=as_of)
            found += [replace(r, due_on=late[r.claim_id].due_on) for r in rows if r.claim_id in late]
        else:
            found += [
                replace(
                    r, due_on=listed_due_date(due_on=r.due_on, reversed_on=r.reversed_on, day=as_of.valid_at)
                )
                for r in rows
            ]
        if len(rows) < batch:
            break
        after = rows[-1].claim_id
    more = len(found) > limit
    items = found[:limit]
    return ClaimPage(items, items[-1].claim_id if more else None)


@dataclass(frozen=True, slots=True)
class Payouts:
    """Payout sums for a region as known at a tx."""

    region: str | None
    group_by: str
    groups: list[tuple[PayoutGroup, str | None]]
    """Each group with its name (regions only)."""
    total: PayoutGroup


async def payouts(
    session: AsyncSession,
    *,
    principal: Principal,
    as_of: AsOf,
    region: str | None,
    paid_from: date | None,
    paid_to: date | None,
    group_by: str,
) -> Payouts:
    """Claims paid and rupiah paid (reversed payments excluded), per group, as known at `as_of`."""
    _may_read(principal)
    scope = await _scope(session, principal, region, as_of)
    groups, total = await repository.payout_groups(
        session,
        tx_seq=as_of.tx_seq,
        region_prefix=scope,
        paid_from=paid_from,
        paid_to=paid_to,
        group_by=group_by,
        child_length=child_code_length(scope),
    )
    named: list[tuple[PayoutGroup, str | None]] = []
    for group in groups:
        name = None
        if group_by == "region":
            found = await regions_repository.region_at(
                session, code=group.key, tx_seq=as_of.tx_seq, valid_at=as_of.valid_at
            )
            name = found.name if found is not None else None
        named.append((group, name))
    return Payouts(scope, group_by, named, total)
