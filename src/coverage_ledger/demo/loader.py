"""Loading the demo history into a ledger that holds only genesis, through the backfill path
(each tx with its historical `recorded_at`), and the keys to try it with."""

from dataclasses import dataclass

from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.auth.service import create_key
from coverage_ledger.clock import utc_now
from coverage_ledger.demo.history import VALID_AT, DemoHistory, Regency, build_history
from coverage_ledger.domain.access import SYSTEM, Role
from coverage_ledger.domain.timeframes import format_instant
from coverage_ledger.errors import Conflict, ErrorItem
from coverage_ledger.ledger import asof_repository, repository
from coverage_ledger.ledger.schemas import AppendableEvent
from coverage_ledger.ledger.service import append_events
from coverage_ledger.regions import repository as regions

PROVINCE = "16"
"""Sumatera Selatan."""
_EVENTS = TypeAdapter(list[AppendableEvent])


@dataclass
class DemoLoaded:
    """What the demo wrote, and how to look at it."""

    history: DemoHistory
    txs: int
    events: int
    head_tx_seq: int
    keys: dict[str, str]


async def _regencies(session: AsyncSession, head: int) -> list[Regency]:
    regencies = []
    for regency in await regions.children_at(session, code=PROVINCE, tx_seq=head, valid_at=VALID_AT):
        districts = await regions.children_at(session, code=regency.code, tx_seq=head, valid_at=VALID_AT)
        if districts:
            regencies.append(Regency(regency.code, regency.name, districts[0].code))
    return regencies


async def load_demo(session: AsyncSession, *, scale: int) -> DemoLoaded:
    """Append the demo history and create one key per role; refused unless only genesis is there."""
    if not await repository.holds_only_genesis(session):
        raise Conflict(
            "the demo loads history with past recorded_at values: it needs a ledger holding only genesis",
            [ErrorItem("ledger_not_empty", "use a fresh LEDGER_DATA_DIR or database")],
        )
    head = await repository.read_head(session)
    assert head is not None, "genesis is written by `db upgrade` before the demo"
    history = build_history(await _regencies(session, head.tx_seq), scale=scale)
    answered = await asof_repository.answered_until(session)
    if answered is not None and history.txs and history.txs[0].recorded_at <= answered:
        raise Conflict(
            f"a read has already answered for the ledger as known up to {format_instant(answered)}, "
            "and the demo's history, recorded before that, would change the answer",
            [ErrorItem("backfill_within_answered_moment", "use a fresh LEDGER_DATA_DIR or database")],
        )
    events = 0
    last = head.tx_seq
    for tx in history.txs:
        result = await append_events(
            session,
            principal=SYSTEM,
            events=_EVENTS.validate_python(tx.events),
            source=f"demo:{tx.label}",
            now=utc_now(),  # run by `coverage-ledger demo`, outside any request
            recorded_at=tx.recorded_at,
        )
        events += result.accepted
        last = result.tx_seq
    keys = {}
    for role, region, organisation in [
        (Role.ADMIN, None, None),
        (Role.AUDITOR, None, None),
        (Role.REGIONAL_OFFICE, PROVINCE, None),
        (Role.COMMITTEE, "16.71", "KPU-16.71"),
        (Role.SPONSOR, PROVINCE, "Pemprov Sumatera Selatan"),
    ]:
        _, keys[role.value] = await create_key(
            session, role=role, name=f"demo-{role.value}", region_prefix=region, organisation=organisation
        )
    return DemoLoaded(history, len(history.txs), events, last, keys)
