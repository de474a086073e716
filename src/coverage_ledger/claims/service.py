"""Claims as the offices and auditors read them: one claim as known at a moment, the claims of a
region (the overdue ones among them), and payouts summed by benefit, region or month."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.claims import repository
from coverage_ledger.claims.repository import PayoutGroup, RecordRow
from coverage_ledger.claims.review import ClaimReview, review_claims
from coverage_ledger.domain.access import Principal
from coverage_ledger.errors import Forbidden, NotFound
from coverage_ledger.ledger.asof import AsOf
from coverage_ledger.regions import repository as regions_repository
from coverage_ledger.regions.visibility import visible_region

CHILD_CODE_LENGTH = {None: 2, 1: 5, 2: 8, 3: 13}
"""Length of a child's code under a region of each level (None: the nation, whose children are
provinces): 16 → 16.71 → 16.71.01 → 16.71.01.1001."""


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
    reviews = await review_claims(session, [claim_id], tx_seq=as_of.tx_seq, today=as_of.valid_at)
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
        await visible_region(session, principal, region, as_of.tx_seq, as_of.valid_at)
    return region or principal.region_prefix


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
    """Claims of a region as known at `as_of`, in claim_id order.

    `overdue`: only those still unpaid after their due date, as of `as_of.valid_at`."""
    _may_read(principal)
    rows = await repository.records_as_of(
        session,
        tx_seq=as_of.tx_seq,
        region_prefix=await _scope(session, principal, region, as_of),
        statuses=statuses,
        due_before=as_of.valid_at if overdue else None,
        after=cursor or "",
        limit=limit + 1,
    )
    more = len(rows) > limit
    items = rows[:limit]
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
    level = None if scope is None else scope.count(".") + 1
    groups, total = await repository.payout_groups(
        session,
        tx_seq=as_of.tx_seq,
        region_prefix=scope,
        paid_from=paid_from,
        paid_to=paid_to,
        group_by=group_by,
        child_length=CHILD_CODE_LENGTH.get(level, 13),
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
