"""The refusals of a backfill: a tx with an explicit recorded_at must be later than the head's and
than every moment a read has already answered for (DESIGN.md: answers given never change)."""

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.domain.timeframes import format_instant
from coverage_ledger.errors import Conflict, ErrorItem
from coverage_ledger.ledger import asof_repository, repository


async def refuse_backfill_within_answered(session: AsyncSession, *, recorded_at: datetime) -> None:
    """409 for a backfill stamped at or before a moment a read has already answered for: it would
    change that answer (DESIGN.md allows a backfill after the head's recorded_at; a read of a
    moment past the head, answered as of the head, narrows that to after the moment)."""
    # the row before the append lock: a read holding the row (it marked a moment and its
    # transaction is still open) is then waited for without holding back every other writer
    head = await repository.read_head(session)
    if head is not None and recorded_at <= head.recorded_at:
        # the plainer reason, before waiting for any read (checked again under the append lock)
        raise backfill_not_after_head(recorded_at, head.recorded_at)
    answered = await asof_repository.answered_until(session, lock=True)
    if answered is not None and recorded_at <= answered:
        raise Conflict(
            f"backfill recorded_at {format_instant(recorded_at)} is not after {format_instant(answered)}, "
            "a moment already answered for as of the head: a tx stamped within it would change that answer",
            [
                ErrorItem(
                    "backfill_within_answered_moment",
                    f"recorded_at must be later than {format_instant(answered)}",
                    field="recorded_at",
                )
            ],
        )


def backfill_not_after_head(recorded_at: datetime, head_recorded_at: datetime) -> Conflict:
    """The 409 of a backfill stamped at or before the head's recorded_at."""
    return Conflict(
        f"backfill recorded_at {format_instant(recorded_at)} is not after the head's "
        f"{format_instant(head_recorded_at)}",
        [
            ErrorItem(
                "backfill_not_after_head", "recorded_at must be later than the head's", field="recorded_at"
            )
        ],
    )
