"""What auditors take away from the ledger: the tx headers since a head they archived (a proof
that the ledger extends it) and the events of a range of txs as NDJSON, with which they can
recompute every digest and link with their own tools."""

import json
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.domain.timeframes import format_instant
from coverage_ledger.ledger import chain_repository
from coverage_ledger.ledger.chain_repository import ChainLink


def header_of(link: ChainLink) -> dict[str, Any]:
    """The tx header as it is hashed (DESIGN.md, "Hash chain"), with its hash."""
    return {
        "tx_seq": link.tx_seq,
        "recorded_at": format_instant(link.recorded_at),
        "prev_hash": link.prev_hash,
        "actor": link.actor,
        "source": link.source,
        "backfill": link.backfill,
        "event_digests": [event.digest for event in link.events],
        "hash": link.hash,
    }


def _line(value: dict[str, Any]) -> bytes:
    return (json.dumps(value, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


async def chain_lines(
    session: AsyncSession, *, from_tx: int, to_tx: int | None, with_events: bool
) -> AsyncIterator[bytes]:
    """NDJSON: `{"tx": header}` per tx from `from_tx` to `to_tx` (inclusive), each followed by
    `{"event": {event_id, type, payload, digest}}` lines with `with_events`."""
    links = chain_repository.iterate_chain(session, from_tx=from_tx, to_tx=to_tx, with_payloads=with_events)
    async with aclosing(links) as chain:
        async for link in chain:
            yield _line({"tx": header_of(link)})
            if with_events:
                for event in link.events:
                    yield _line(
                        {
                            "event": {
                                "event_id": event.event_id,
                                "type": event.type,
                                "payload": event.payload,
                                "digest": event.digest,
                            }
                        }
                    )
