"""Resolving the two coordinates of a read: `valid_at` (a date) and `known_at` (a tx_seq)."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from coverage_ledger.database import raw
from coverage_ledger.domain.timeframes import (
    KnownAt,
    KnownAtInstant,
    KnownAtTx,
    KnownNow,
    KnownOnDate,
    format_instant,
)
from coverage_ledger.ledger import repository

LAST_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class AsOf:
    """The point a read answers for; echoed as `as_of` so it can be replayed with `tx:<tx_seq>`."""

    valid_at: date
    known_at: datetime | None
    """The instant of knowledge asked for (None: the ledger is empty)."""
    tx_seq: int

    def as_dict(self) -> dict[str, object]:
        """The `as_of` object of responses."""
        return {
            "valid_at": self.valid_at.isoformat(),
            "known_at": format_instant(self.known_at) if self.known_at else None,
            "tx_seq": self.tx_seq,
        }


async def resolve(session: raw.Db, *, valid_at: date, known_at: KnownAt) -> AsOf:
    """The tx_seq a `known_at` stands for; beyond the head resolves to the head."""
    match known_at:
        case KnownAtTx(tx_seq=n):
            tx_seq = await repository.resolve_known_at(session, tx_seq=n)
            instant = await repository.tx_recorded_at(session, tx_seq) if tx_seq else None
        case KnownAtInstant(instant=t):
            tx_seq, recorded_at, past_head = await repository.settled_point(session, bound=t)
            instant = recorded_at if past_head else t
        case KnownOnDate():
            bound = known_at.recorded_before
            tx_seq, recorded_at, past_head = await repository.settled_point(
                session, bound=bound, inclusive=False
            )
            # the last instant before the bound (timestamps count microseconds): echoed as an
            # instant, which includes its own moment, it replays without a tx stamped at midnight
            instant = recorded_at if past_head else bound - LAST_MICROSECOND
        case KnownNow():
            tx_seq, instant, _ = await repository.settled_point(session)
    # A moment past the head is answered as of the head, and says so: a tx stamped but not yet
    # committed (an upload between its lock and its COMMIT) may still be recorded before it, so
    # only the head's own recorded_at is a known_at whose answer can never change.
    return AsOf(valid_at=valid_at, known_at=instant, tx_seq=tx_seq)
