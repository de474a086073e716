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
    """The instant of knowledge asked for (None: the ledger is empty)."""
    tx_seq: int

    def as_dict(self) -> dict[str, object]:
        """The `as_of` object of responses."""
        return {
            "valid_at": self.valid_at.isoformat(),
            "known_at": format_instant(self.known_at) if self.known_at else None,
            "tx_seq": self.tx_seq,
        }


async def resolve(session: raw.Db, *, valid_at: date, known_at: KnownAt, now: datetime) -> AsOf:
    """The tx_seq a `known_at` stands for; beyond the head resolves to the head."""
    match known_at:
        case KnownAtTx(tx_seq=n):
            tx_seq = await repository.resolve_known_at(session, tx_seq=n)
            instant = await repository.tx_recorded_at(session, tx_seq) if tx_seq else None
        case KnownAtInstant(instant=t):
            tx_seq = await repository.resolve_known_at(session, recorded_on_or_before=t)
            instant = t
        case KnownOnDate():
            tx_seq = await repository.resolve_known_at(session, recorded_before=known_at.recorded_before)
            instant = known_at.recorded_before
        case KnownNow():
            tx_seq = await repository.resolve_known_at(session)
            instant = now
    return AsOf(valid_at=valid_at, known_at=instant, tx_seq=tx_seq)
