"""SQL that streams the hash chain and the vault as `verify`, the proofs and the export read them:
every tx header with its events, in tx_seq order, without holding the log in memory."""

import uuid
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import orjson
from psycopg.types.json import set_json_loads
from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.database import raw
from coverage_ledger.database.raw import driver_connection


class ChainEvent(NamedTuple):
    """An event as `verify` and the export read it."""

    event_id: str
    type: str
    payload: dict[str, Any]
    """Empty when read for its digest alone (`with_payloads=False`)."""
    digest: str
    """The stored digest."""
    nik: str | None
    """The column the reads select by (not digested itself: it must agree with the payload)."""
    carried_by: str | None
    """The column force depends on (it must agree with its correction's payload)."""


@dataclass(frozen=True, slots=True)
class ChainLink:
    """A tx header with the digests its events have now."""

    tx_seq: int
    tx_id: uuid.UUID
    recorded_at: datetime
    prev_hash: str
    hash: str
    actor: str
    source: str
    backfill: bool
    event_count: int
    events: list[ChainEvent]
    """In position order."""


class Unreadable(str):
    """A stored JSON value the decoder refused (a number past its range, written behind the guard):
    kept as its text, for verify to name as a break rather than fail on."""


def _tolerant_loads(data: bytes | bytearray | memoryview | str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return Unreadable(bytes(data).decode(errors="replace") if not isinstance(data, str) else data)


_HEADERS = (
    "SELECT tx_seq, tx_id, recorded_at, prev_hash, hash, actor, source, backfill, event_count "
    "FROM ledger_tx t WHERE tx_seq >= %(from)s{bound} ORDER BY tx_seq"
)
_EVENTS = (
    # each tx's events through the (tx_id, position) index: a join of the txs with the whole log
    # was planned as a scan of every event, so that exporting one small tx read them all
    "SELECT t.tx_seq, e.event_id, e.type, {payload}, e.digest, e.nik, e.carried_by FROM ledger_tx t "
    "CROSS JOIN LATERAL (SELECT position, event_id, type, payload, digest, nik, carried_by "
    "                    FROM ledger_event WHERE tx_id = t.tx_id) e "
    "WHERE t.tx_seq >= %(from)s{bound} ORDER BY t.tx_seq, e.position"
)


async def iterate_chain(
    session: AsyncSession, *, from_tx: int = 1, to_tx: int | None = None, with_payloads: bool = True
) -> AsyncGenerator[ChainLink, None]:
    """Every tx from `from_tx` to `to_tx` (inclusive; None: the head) with its events, in tx_seq
    order, streamed; without `with_payloads`, the events' payloads are left empty (a proof needs
    only their digests)."""
    conn = await driver_connection(session)
    params = {"from": from_tx, "to": to_tx}
    bound = " AND t.tx_seq <= %(to)s" if to_tx is not None else ""
    payload = "e.payload" if with_payloads else "'{}'::jsonb"
    async with conn.cursor(name="chain") as headers:
        await headers.execute(_HEADERS.format(bound=bound), params)
        async with conn.cursor(name="chain_events") as events:
            set_json_loads(_tolerant_loads, events)
            await events.execute(_EVENTS.format(payload=payload, bound=bound), params)
            event_rows = aiter(events)
            pending = await anext(event_rows, None)
            async for header in headers:
                batch: list[ChainEvent] = []
                while pending is not None and pending[0] == header[0]:
                    batch.append(ChainEvent(*pending[1:]))
                    pending = await anext(event_rows, None)
                tx_seq, tx_id, recorded_at, prev_hash, hash_, actor, source, backfill, count = header
                yield ChainLink(
                    tx_seq, tx_id, recorded_at, prev_hash, hash_, actor, source, backfill, count, batch
                )


class VaultEntry(NamedTuple):
    """A registration's personal fields in the vault, with the digest its logged event carries."""

    tx_seq: int
    event_id: str
    personal_digest: str | None
    salt: bytes
    fields: dict[str, Any]


async def vault_entries_in_log_order(session: AsyncSession) -> AsyncGenerator[VaultEntry, None]:
    """Every vault entry (erased ones are gone) with its registration's digest, streamed."""
    conn = await driver_connection(session)
    async with conn.cursor(name="vault") as entries:
        set_json_loads(_tolerant_loads, entries)
        await entries.execute(
            "SELECT t.tx_seq, v.event_id, e.payload ->> 'personal_digest', v.salt, v.fields "
            "FROM person_vault v JOIN ledger_event e ON e.event_id = v.event_id "
            "JOIN ledger_tx t ON t.tx_id = e.tx_id ORDER BY t.tx_seq, e.position"
        )
        async for row in entries:
            yield VaultEntry(*row)


async def orphan_event_count(session: AsyncSession) -> int:
    """Events whose tx header does not exist (only possible by tampering)."""
    value = await raw.scalar(
        session,
        "SELECT count(*) FROM ledger_event e "
        "WHERE NOT EXISTS (SELECT 1 FROM ledger_tx t WHERE t.tx_id = e.tx_id)",
    )
    return int(value or 0)
