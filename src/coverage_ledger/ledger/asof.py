"""Resolving the two coordinates of a read: `valid_at` (a date) and `known_at` (a tx_seq)."""

from dataclasses import dataclass
from datetime import date, datetime

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


@dataclass(frozen=True, slots=True)
class AsOf:
    """The point a read answers for; echoed as `as_of` so it can be replayed with `tx:<tx_seq>`."""

    valid_at: date
    known_at: datetime | None
    """recorded_at of the tx answered from (None: tx 0, before anything was recorded)."""
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
            tx_seq, instant = await repository.settled_point(session, bound=t)
        case KnownOnDate():
            tx_seq, instant = await repository.settled_point(
                session, bound=known_at.recorded_before, inclusive=False
            )
        case KnownNow():
            tx_seq, instant = await repository.settled_point(session)
    # The echoed known_at is the recorded_at of the tx answered from, whatever was asked: it
    # replays exactly, and the same question gives the same bytes later. (Echoing the moment
    # asked would change once a later tx lands between the head and that moment; a moment past
    # the head may yet gain a tx stamped but not committed, so it is answered as of the head.)
    return AsOf(valid_at=valid_at, known_at=instant, tx_seq=tx_seq)
