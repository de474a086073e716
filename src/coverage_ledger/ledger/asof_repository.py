"""SQL of known time: the tx a moment resolves to, whether a tx stamped within a moment is still
being committed, and the moments reads have answered for (which no backfill may be stamped in)."""

from datetime import datetime
from typing import NamedTuple

from coverage_ledger.database import raw
from coverage_ledger.ledger.repository import APPEND_LOCK_KEY


class SettledPoint(NamedTuple):
    """The newest tx recorded within a bound."""

    tx_seq: int
    """0 before the first tx."""
    recorded_at: datetime | None
    past_head: bool
    """The bound is a moment already past and after the head's recorded_at: a tx being committed
    (stamped later than the head) may be stamped within it."""


async def settled_point(
    session: raw.Db, *, bound: datetime | None = None, inclusive: bool = True
) -> SettledPoint:
    """The newest tx recorded within `bound` (`<=` when inclusive, else `<`; None: the head)."""
    within = "recorded_at <= %(t)s" if inclusive else "recorded_at < %(t)s"
    if bound is None:
        within = "true"
    row = (
        await raw.execute(
            session,
            # recorded_at rises with tx_seq: its unique index finds the answer
            "SELECT n.tx_seq, n.recorded_at, "
            "       n.tx_seq IS NOT DISTINCT FROM (SELECT max(tx_seq) FROM ledger_tx) "
            "       AND %(t)s::timestamptz > coalesce(n.recorded_at, '-infinity') "
            "       AND %(t)s::timestamptz <= clock_timestamp() AS past_head "
            "FROM (SELECT 0) AS one LEFT JOIN LATERAL "
            f"(SELECT tx_seq, recorded_at FROM ledger_tx WHERE {within} "
            "ORDER BY recorded_at DESC LIMIT 1) AS n ON true",
            {"t": bound},
        )
    ).one()
    return SettledPoint(int(row.tx_seq or 0), row.recorded_at, bool(row.past_head))


async def tx_being_committed(session: raw.Db, *, within: datetime) -> bool:
    """Whether a writer holds the append lock in a transaction begun by `within`: the tx it
    commits was, or will be, stamped under the lock, not before its transaction began, and is
    not visible before its COMMIT, when the lock goes. (A backfill, stamped in the past, is
    waited for through `answered_moment` instead. A transaction whose start this user may not
    see counts.)"""
    # pg_stat_activity is read once per transaction and then cached: a poll would see a writer's
    # transaction as it stood at the first poll (none begun, so counted as committing)
    await raw.execute(session, "SELECT pg_stat_clear_snapshot()")
    value = await raw.scalar(
        session,
        "SELECT EXISTS (SELECT 1 FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND l.classid = %(high)s::oid AND l.objid = %(low)s::oid AND l.objsubid = 1 "
        "AND (a.xact_start IS NULL OR a.xact_start <= %(within)s))",
        {"high": APPEND_LOCK_KEY >> 32, "low": APPEND_LOCK_KEY & 0xFFFFFFFF, "within": within},
    )
    return bool(value)


async def mark_answered(session: raw.Db, *, until: datetime) -> bool:
    """Record that a read answers for every moment up to `until` (the greatest is kept), and
    commit it at once: the read's transaction ends here and the next statement begins another
    (the one place a read commits, so that the mark survives a refusal the read may still end
    in, and the row is not held while the read goes on). False, without waiting, while another
    transaction holds the row (a backfill checking it): the caller polls."""
    covered = await raw.scalar(session, "SELECT answered_until >= %(t)s FROM answered_moment", {"t": until})
    if covered:  # any backfill is already stamped after it, or refused
        return True
    row = (
        await raw.execute(
            session,
            "SELECT answered_until >= %(t)s FROM answered_moment FOR UPDATE SKIP LOCKED",
            {"t": until},
        )
    ).one_or_none()
    if row is None:
        return False
    if not row[0]:
        await raw.execute(session, "UPDATE answered_moment SET answered_until = %(t)s", {"t": until})
    await session.commit()
    return True


async def answered_until(session: raw.Db, *, lock: bool = False) -> datetime | None:
    """The latest moment a read has answered for (None before any). With `lock`, the row stays
    locked until this transaction ends: a backfill reads it so before it takes the append lock,
    and no read can then mark a later moment without waiting for the backfill's COMMIT."""
    value = await raw.scalar(
        session,
        "SELECT nullif(answered_until, '-infinity') FROM answered_moment" + (" FOR UPDATE" if lock else ""),
    )
    return value if isinstance(value, datetime) else None
