"""Genesis: reference data written into an empty ledger as its first txs (DESIGN.md, "Genesis")."""

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.domain.access import SYSTEM
from coverage_ledger.domain.timeframes import GENESIS_RECORDED_AT
from coverage_ledger.ledger import repository
from coverage_ledger.ledger.service import append_events
from coverage_ledger.reference import regions

log = logging.getLogger(__name__)


async def ensure_reference_data(session: AsyncSession) -> list[int]:
    """Write the shipped reference data that the ledger lacks; returns the tx_seqs written.

    Into an empty ledger it goes as genesis, recorded at 2000-01-01T00:00:00+07:00, so that
    histories of any later date can be backfilled after it; into a ledger that already holds
    events it is an ordinary tx recorded now.
    """
    written: list[int] = []
    probe = regions.region_event_id("11")
    if await repository.events_by_id(session, [probe]):
        return written
    head = await repository.read_head(session)
    events = regions.region_events()
    result = await append_events(
        session,
        principal=SYSTEM,
        events=events,
        source=f"genesis:{regions.DATASET}" if head is None else f"reference:{regions.DATASET}",
        recorded_at=GENESIS_RECORDED_AT if head is None else None,
    )
    log.info("reference data %s: %d regions in tx %d", regions.DATASET, result.accepted, result.tx_seq)
    written.append(result.tx_seq)
    return written
