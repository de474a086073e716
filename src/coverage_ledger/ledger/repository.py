"""SQL of the event log: append under the lock, the head, and reads of raw
events (the chain as `verify` and the export stream it: `chain_repository`)."""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.database import raw
from coverage_ledger.database.raw import driver_connection
from coverage_ledger.database.writer_role import ANALYZED_TABLES

APPEND_LOCK_KEY = 0x6C6564676572  # "ledger": the advisory lock that serialises tx_seq assignment


@dataclass(frozen=True, slots=True)
class Head:
    """The newest committed tx."""

    tx_seq: int
    recorded_at: datetime
    hash: str


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as the log holds it, with its tx coordinates."""

    event_id: str
    type: str
    nik: str | None
    carried_by: str | None
    payload: dict[str, Any]
    digest: str
    tx_seq: int
    recorded_at: datetime
    position: int


@dataclass(frozen=True, slots=True)
class EventRow:
    """An event ready to be written under a provisional tx id."""

    event_id: str
    type: str
    nik: str | None
    carried_by: str | None
    payload: dict[str, Any]
    digest: str


@dataclass(frozen=True, slots=True)
class CommitOutcome:
    """What `ledger_commit` answered."""

    status: str
    """`ok`, `stale` (something watched changed since the snapshot) or `backfill_not_after_head`."""
    tx_seq: int | None
    recorded_at: datetime | None
    hash: str | None
    head_recorded_at: datetime | None


async def seal_append(
    session: AsyncSession,
    *,
    tx_id: uuid.UUID,
    actor: str,
    source: str,
    backfill_at: datetime | None,
    digests: Sequence[str],
    snapshot: int,
    watch_events: Sequence[str],
    watch_niks: Sequence[str],
    watch_regions: Sequence[str],
    leaving: Sequence[tuple[str, str | None]],
    entering: Sequence[tuple[str, str | None, str]],
    links: Sequence[tuple[str, str]],
    enter_written: bool = False,
) -> CommitOutcome:
    """Under the append lock: recheck since the snapshot, number, stamp, project and chain the tx.

    `enter_written`: every event written under `tx_id` enters force and the digests are read from
    the log (`digests` must then be empty); the path of large uploads."""
    row = (
        await raw.execute(
            session,
            "SELECT * FROM ledger_commit(%(lock)s, %(tx_id)s, %(actor)s, %(source)s, "
            "%(backfill_at)s::timestamptz, %(digests)b::text[], %(snapshot)s, %(watch_events)b::text[], "
            "%(watch_niks)b::text[], %(watch_regions)b::text[], %(leaving)b::text[], %(causes)b::text[], "
            "%(entering)b::text[], %(entering_niks)b::text[], %(entering_types)b::text[], "
            "%(targets)b::text[], %(corrections)b::text[], %(enter_written)s)",
            {
                "lock": APPEND_LOCK_KEY,
                "tx_id": tx_id,
                "actor": actor,
                "source": source,
                "backfill_at": backfill_at,
                "digests": list(digests),
                "snapshot": snapshot,
                "watch_events": list(watch_events),
                "watch_niks": list(watch_niks),
                "watch_regions": list(watch_regions),
                "leaving": [e for e, _ in leaving],
                "causes": [c for _, c in leaving],
                "entering": [e for e, _, _ in entering],
                "entering_niks": [n for _, n, _ in entering],
                "entering_types": [t for _, _, t in entering],
                "targets": [t for t, _ in links],
                "corrections": [c for _, c in links],
                "enter_written": enter_written,
            },
        )
    ).one()
    return CommitOutcome(row.status, row.tx_seq, row.recorded_at, row.hash, row.head_recorded_at)


async def limit_lock_waits(session: AsyncSession, *, seconds: float) -> None:
    """For the rest of the transaction, give up a wait for a lock (the append lock above all)
    after `seconds`: the statement then fails with `LockNotAvailable`."""
    await raw.execute(
        session,
        "SELECT set_config('lock_timeout', %(wait)s, true)",
        {"wait": f"{max(1, round(seconds * 1000))}ms"},
    )


async def refresh_bulk_statistics(session: AsyncSession) -> None:
    """ANALYZE the tables a large upload grew, so that the next upload's statements are planned
    for their new sizes rather than wait for autovacuum's next look."""
    await raw.execute(session, f"ANALYZE {', '.join(ANALYZED_TABLES)}")


async def take_append_lock(session: AsyncSession) -> int:
    """Take the append lock (held until COMMIT) and read the head's tx_seq under it: for appends
    that check their rows set-based before calling `seal_append` (which takes it again)."""
    await raw.execute(session, "SELECT pg_advisory_xact_lock(%(key)s)", {"key": APPEND_LOCK_KEY})
    return await resolve_known_at(session)


async def read_head(session: AsyncSession) -> Head | None:
    """The newest committed tx, or None for an empty ledger (no lock taken)."""
    row = (
        await raw.execute(
            session, "SELECT tx_seq, recorded_at, hash FROM ledger_tx ORDER BY tx_seq DESC LIMIT 1"
        )
    ).one_or_none()
    return Head(row.tx_seq, row.recorded_at, row.hash) if row else None


async def holds_only_genesis(session: AsyncSession) -> bool:
    """Whether every tx so far is a genesis tx (reference data shipped with a release)."""
    value = await raw.scalar(session, "SELECT bool_and(source LIKE 'genesis:%%') FROM ledger_tx")
    return bool(value)


COPY_THRESHOLD = 200
"""Batches up to this size are written with one INSERT over arrays; larger ones with COPY."""


async def write_events(
    session: AsyncSession,
    *,
    tx_id: uuid.UUID,
    rows: Sequence[EventRow],
    positions: Sequence[int] | None = None,
    skip_committed: bool = False,
) -> int:
    """Write the events of one tx into the log under its provisional id, at `positions` in the tx
    (default 0, 1, 2...); the number written.

    `skip_committed`: a small batch skips the ids another tx committed meanwhile (after waiting
    for it), so the caller can tell a concurrent identical re-send from a clash. Otherwise, and
    for a large batch (COPY), a taken id raises `psycopg.errors.UniqueViolation`."""
    places = list(positions) if positions is not None else list(range(len(rows)))
    if len(rows) <= COPY_THRESHOLD:
        return await raw.execute_count(
            session,
            "INSERT INTO ledger_event (event_id, tx_id, position, type, nik, carried_by, payload, digest) "
            "SELECT e, %(tx_id)s, p, t, n, c, d, g FROM unnest(%(ids)s::text[], %(types)s::text[], "
            "%(niks)s::text[], %(carried)s::text[], %(payloads)s::jsonb[], %(digests)s::text[], "
            # in event_id byte order (as the COPY below): two batches sharing ids wait on each
            # other rather than deadlock
            '%(positions)s::int[]) AS x(e, t, n, c, d, g, p) ORDER BY e COLLATE "C"'
            + (" ON CONFLICT (event_id) DO NOTHING" if skip_committed else ""),
            {
                "positions": places,
                "tx_id": tx_id,
                "ids": [r.event_id for r in rows],
                "types": [r.type for r in rows],
                "niks": [r.nik for r in rows],
                "carried": [r.carried_by for r in rows],
                "payloads": [Jsonb(r.payload) for r in rows],
                "digests": [r.digest for r in rows],
            },
        )
    conn = await driver_connection(session)
    async with (
        conn.cursor() as cursor,
        cursor.copy(
            "COPY ledger_event (event_id, tx_id, position, type, nik, carried_by, payload, digest) FROM STDIN"
        ) as copy,
    ):
        for position, row in sorted(zip(places, rows, strict=True), key=lambda placed: placed[1].event_id):
            await copy.write_row(
                (
                    row.event_id,
                    tx_id,
                    position,
                    row.type,
                    row.nik,
                    row.carried_by,
                    Jsonb(row.payload),
                    row.digest,
                )
            )
    return len(rows)


_STORED_EVENT = (
    "SELECT e.event_id, e.type, e.nik, e.carried_by, e.payload, e.digest, t.tx_seq, "
    "t.recorded_at, e.position FROM ledger_event e JOIN ledger_tx t ON t.tx_id = e.tx_id"
)


def _stored(row: Any) -> StoredEvent:
    return StoredEvent(
        row.event_id,
        row.type,
        row.nik,
        row.carried_by,
        row.payload,
        row.digest,
        row.tx_seq,
        row.recorded_at,
        row.position,
    )


async def events_by_id(session: AsyncSession, event_ids: Iterable[str]) -> dict[str, StoredEvent]:
    """Committed events with these ids (missing ids are absent from the result)."""
    ids = list(set(event_ids))
    if not ids:
        return {}
    rows = await raw.execute(session, f"{_STORED_EVENT} WHERE e.event_id = ANY(%(ids)s)", {"ids": ids})
    return {row.event_id: _stored(row) for row in rows}


async def events_about(session: AsyncSession, *, nik: str, up_to_tx: int) -> list[StoredEvent]:
    """Every event about a person recorded up to a tx, in log order: those naming the NIK, and
    the decisions, payments and reversals of the claims filed for it (they name the claim only)."""
    rows = await raw.execute(
        session,
        f"""
        {_STORED_EVENT} WHERE e.nik = %(nik)s AND t.tx_seq <= %(tx)s
        UNION ALL
        {_STORED_EVENT} WHERE e.type LIKE 'claim.%%' AND e.nik IS NULL AND t.tx_seq <= %(tx)s
           AND (e.payload ->> 'claim_id') IN (SELECT f.payload ->> 'claim_id' FROM ledger_event f
                                               WHERE f.nik = %(nik)s AND f.type = 'claim.filed')
         ORDER BY tx_seq, position
        """,
        {"nik": nik, "tx": up_to_tx},
    )
    return [_stored(row) for row in rows]


async def corrections_bearing_on(
    session: AsyncSession, event_ids: Sequence[str], *, up_to_tx: int
) -> list[StoredEvent]:
    """The corrections recorded up to a tx that name one of `event_ids`, carried one of them as
    its replacement, or name such a correction (a correction of a correction), in log order."""
    rows = await raw.execute(
        session,
        f"""
        WITH RECURSIVE bearing(event_id) AS (
            SELECT l.correction_event_id FROM correction_link l
             WHERE l.target_event_id = ANY(%(ids)s) AND l.tx_seq <= %(tx)s
            UNION
            SELECT e.carried_by FROM ledger_event e
             WHERE e.event_id = ANY(%(ids)s) AND e.carried_by IS NOT NULL
            UNION
            SELECT l.correction_event_id FROM correction_link l
              JOIN bearing b ON l.target_event_id = b.event_id
             WHERE l.tx_seq <= %(tx)s
        )
        {_STORED_EVENT} WHERE e.event_id IN (SELECT event_id FROM bearing) AND t.tx_seq <= %(tx)s
         ORDER BY t.tx_seq, e.position
        """,
        {"ids": list(event_ids), "tx": up_to_tx},
        prepare=False,
    )
    return [_stored(row) for row in rows]


async def resolve_known_at(session: raw.Db, *, tx_seq: int | None = None) -> int:
    """The newest tx_seq up to `tx_seq` (None: the head; 0 when none). Moments of time are
    resolved by `settled_point`."""
    if tx_seq is not None:
        value = await raw.scalar(
            session, "SELECT coalesce(max(tx_seq), 0) FROM ledger_tx WHERE tx_seq <= %(n)s", {"n": tx_seq}
        )
    else:
        value = await raw.scalar(session, "SELECT coalesce(max(tx_seq), 0) FROM ledger_tx")
    return int(value or 0)


async def database_clock(session: AsyncSession) -> datetime:
    """The database's clock now (not the transaction's start): what a check made under the append
    lock judges by when the tx's own stamp is a backfill's, in the past."""
    value = await raw.scalar(session, "SELECT clock_timestamp()")
    assert isinstance(value, datetime)
    return value


async def tx_recorded_at(session: raw.Db, tx_seq: int) -> datetime | None:
    """recorded_at of a tx."""
    value = await raw.scalar(session, "SELECT recorded_at FROM ledger_tx WHERE tx_seq = %(n)s", {"n": tx_seq})
    return value if isinstance(value, datetime) else None


async def writer_regions(session: AsyncSession, tx_seqs: Iterable[int]) -> dict[int, str]:
    """The region prefix of the key that appended each of these txs (national keys and the
    system are left out)."""
    rows = await raw.execute(
        session,
        "SELECT t.tx_seq, k.region_prefix FROM ledger_tx t JOIN api_key k ON t.actor = 'key:' || k.name "
        "WHERE t.tx_seq = ANY(%(txs)s) AND k.region_prefix IS NOT NULL",
        {"txs": sorted(set(tx_seqs))},
        prepare=False,
    )
    return {r.tx_seq: r.region_prefix for r in rows}
