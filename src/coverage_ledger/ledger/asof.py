"""Resolving the two coordinates of a read: `valid_at` (a date) and `known_at` (a tx_seq)."""

import asyncio
import time
from collections.abc import Awaitable, Callable
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
from coverage_ledger.errors import StillCommitting
from coverage_ledger.ledger import asof_repository, repository


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
    """The tx_seq a `known_at` stands for; beyond the head resolves to the head. A moment already
    past and after the head is marked answered for, and that mark committed at once
    (`asof_repository.mark_answered`): a read that resolves such a moment ends its transaction there."""
    match known_at:
        case KnownAtTx(tx_seq=n):
            tx_seq = await repository.resolve_known_at(session, tx_seq=n)
            instant = await repository.tx_recorded_at(session, tx_seq) if tx_seq else None
        case KnownAtInstant(instant=t):
            tx_seq, instant = await _settled_within(session, bound=t, inclusive=True)
        case KnownOnDate():
            tx_seq, instant = await _settled_within(session, bound=known_at.recorded_before, inclusive=False)
        case KnownNow():
            tx_seq, instant, _ = await asof_repository.settled_point(session)
    # The echoed known_at is the recorded_at of the tx answered from, whatever was asked: it
    # replays exactly, and the same question gives the same bytes later. (Echoing the moment
    # asked would change once a later tx lands between the head and that moment; a moment past
    # the head may yet gain a tx stamped but not committed, so it is answered as of the head.)
    return AsOf(valid_at=valid_at, known_at=instant, tx_seq=tx_seq)


PENDING_WAIT_SECONDS = 3.0
"""How long a read of a moment just past waits for a tx being committed (a large upload's) before
it answers 503: a tx is stamped under the append lock and visible only at its COMMIT. Short,
because the waiting read holds a pooled connection: a single append commits in milliseconds,
and a large upload is better asked again later than waited for by a full pool."""
_PENDING_POLL_SECONDS = 0.02


async def _settled_within(
    session: raw.Db, *, bound: datetime, inclusive: bool
) -> tuple[int, datetime | None]:
    """The newest tx recorded within a moment. A moment already past and after the head's
    recorded_at may yet gain a tx being committed, stamped before it: the answer waits for that
    COMMIT, so that it never changes once given; and the moment is marked answered for, so that
    no backfill is stamped within it afterwards. (The head's own recorded_at, the echoed
    `known_at`, never waits: a tx still to commit is stamped later.)"""
    point = await asof_repository.settled_point(session, bound=bound, inclusive=inclusive)
    if not point.past_head:
        return point.tx_seq, point.recorded_at
    deadline = time.monotonic() + PENDING_WAIT_SECONDS
    await _poll(
        lambda: _not(asof_repository.tx_being_committed(session, within=bound)),
        deadline=deadline,
        waiting_for=f"a tx that may have been recorded by {format_instant(bound)} is still being committed "
        "(a large upload)",
    )
    # from now on no backfill may be stamped within this moment; one checking it now is waited
    # for here, and is committed (and read below) or refused when this returns
    until = bound if inclusive else bound - timedelta(microseconds=1)
    await _poll(
        lambda: asof_repository.mark_answered(session, until=until),
        deadline=deadline,
        waiting_for=f"a backfill that may have been recorded by {format_instant(bound)} is still being "
        "committed",
    )
    # read after the lock went: the tx it covered, if any, is committed and visible now
    point = await asof_repository.settled_point(session, bound=bound, inclusive=inclusive)
    return point.tx_seq, point.recorded_at


async def _poll(done: Callable[[], Awaitable[bool]], *, deadline: float, waiting_for: str) -> None:
    """Ask `done` until it holds; `StillCommitting` (503) once the deadline has passed."""
    while not await done():
        if time.monotonic() >= deadline:
            raise StillCommitting(f"{waiting_for}; ask again shortly, or pin known_at to tx:N")
        await asyncio.sleep(_PENDING_POLL_SECONDS)


async def _not(answer: Awaitable[bool]) -> bool:
    return not await answer
