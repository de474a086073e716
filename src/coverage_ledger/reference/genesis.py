"""Genesis: reference data written into an empty ledger as its first txs (DESIGN.md, "Genesis")."""

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.clock import utc_now
from coverage_ledger.domain.access import SYSTEM
from coverage_ledger.domain.timeframes import GENESIS_RECORDED_AT
from coverage_ledger.ledger import asof_repository, repository
from coverage_ledger.ledger.schemas import AppendableEvent
from coverage_ledger.ledger.service import append_events
from coverage_ledger.reference import benefit_rules, public_holidays, regions, rules

log = logging.getLogger(__name__)


Builder = Callable[[AsyncSession], Awaitable[Sequence[AppendableEvent]]]
"""A dataset's events that the ledger still lacks."""


def _whole(build: Callable[[], Sequence[AppendableEvent]]) -> Builder:
    """A dataset written whole once its probe event is missing."""

    async def events(_: AsyncSession) -> Sequence[AppendableEvent]:
        return build()

    return events


async def ensure_reference_data(session: AsyncSession) -> list[int]:
    """Write the shipped reference data that the ledger lacks; returns the tx_seqs written.

    Into an empty ledger it goes as genesis, recorded at 2000-01-01T00:00:00+07:00, so that
    histories of any later date can be backfilled after it; into a ledger that already holds
    events it is an ordinary tx recorded now.
    """
    written: list[int] = []
    datasets: list[tuple[str, str, Builder]] = [
        (regions.DATASET, regions.region_event_id("11"), _whole(regions.region_events)),
        (rules.DATASET, f"{rules.DATASET}:bpu-grace", _whole(rules.rule_events)),
        (
            benefit_rules.DATASET,
            f"{benefit_rules.DATASET}:jkm-pp82-2019",
            _whole(benefit_rules.benefit_rule_events),
        ),
        # a correction of the shipped rates, for ledgers written before it
        (rules.DATASET, rules.JHT_MINIMUM_CORRECTION_ID, rules.jht_minimum_correction),
        # a rule added to the table after its first release: only into ledgers that lack it
        (
            benefit_rules.DATASET,
            f"{benefit_rules.DATASET}:{benefit_rules.PP82_DEADLINE_ID}",
            benefit_rules.missing_pp82_deadline,
        ),
        (
            benefit_rules.DATASET,
            benefit_rules.EARLY_DEATH_CORRECTION_ID,
            benefit_rules.early_death_correction,
        ),
        (
            benefit_rules.DATASET,
            f"{benefit_rules.DATASET}:{benefit_rules.CLAIM_READING_ID}",
            benefit_rules.missing_claim_reading,
        ),
        # probed by its last year: a release that ships more years writes only the new ones
        (
            public_holidays.DATASET,
            public_holidays.last_year_event_id(),
            public_holidays.missing_holiday_events,
        ),
    ]
    for name, probe, build in datasets:
        if await repository.events_by_id(session, [probe]):
            continue
        events = await build(session)
        if not events:
            continue
        head = await repository.read_head(session)
        recorded_at = None
        if head is None or await repository.holds_only_genesis(session):
            recorded_at = (
                GENESIS_RECORDED_AT if head is None else head.recorded_at + timedelta(microseconds=1)
            )
            # a read has answered for the ledger as known after that (asof): recorded now instead
            answered = await asof_repository.answered_until(session, lock=True)
            if answered is not None and recorded_at <= answered:
                recorded_at = None
        genesis = recorded_at is not None
        result = await append_events(
            session,
            principal=SYSTEM,
            events=events,
            source=f"genesis:{name}" if genesis else f"reference:{name}",
            now=utc_now(),  # run at start-up and by `db upgrade`, outside any request
            recorded_at=recorded_at,
        )
        log.info("reference data %s: %d events in tx %d", name, result.accepted, result.tx_seq)
        written.append(result.tx_seq)
    return written
