"""The SQL `rebuild --check` and a reprojection use for claims: which txs touched which claims,
every payment ever logged, and the whole claim projections read or replaced at once."""

from collections.abc import Collection, Iterable
from dataclasses import astuple

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.claims.repository import (
    PAYMENT_COLUMNS,
    RECORD_COLUMNS,
    PaymentRow,
    RecordRow,
    insert_rows,
    record_tuple,
)
from coverage_ledger.database import raw


async def claim_touches(session: AsyncSession) -> dict[int, set[str]]:
    """For each tx in which claim events entered or left force, the claims concerned."""
    rows = await raw.execute(
        session,
        "SELECT e.payload ->> 'claim_id' AS claim_id, k.tx_from, k.tx_to FROM event_knowledge k "
        "JOIN ledger_event e ON e.event_id = k.event_id WHERE k.type LIKE 'claim.%%'",
    )
    touched: dict[int, set[str]] = {}
    for r in rows:
        for tx in (r.tx_from, r.tx_to):
            if tx is not None:
                touched.setdefault(tx, set()).add(r.claim_id)
    return touched


async def rule_change_txs(session: AsyncSession, kinds: Collection[str]) -> set[int]:
    """The txs in which a rule of these kinds entered or left force."""
    rows = await raw.execute(
        session,
        "SELECT k.tx_from, k.tx_to FROM event_knowledge k JOIN ledger_event e ON e.event_id = k.event_id "
        "WHERE k.type = 'rule.defined' AND e.payload ->> 'kind' = ANY(%(kinds)s)",
        {"kinds": sorted(kinds)},
    )
    return {tx for r in rows for tx in (r.tx_from, r.tx_to) if tx is not None}


async def payment_ids_of(session: AsyncSession, claim_ids: Iterable[str]) -> dict[str, set[str]]:
    """Every `claim.paid` ever logged for these claims, whatever its force."""
    rows = await raw.execute(
        session,
        "SELECT payload ->> 'claim_id' AS claim_id, event_id FROM ledger_event "
        "WHERE type LIKE 'claim.%%' AND type = 'claim.paid' AND (payload ->> 'claim_id') = ANY(%(ids)s)",
        {"ids": list(claim_ids)},
        prepare=False,
    )
    found: dict[str, set[str]] = {}
    for r in rows:
        found.setdefault(r.claim_id, set()).add(r.event_id)
    return found


async def replace_all_rows(
    session: AsyncSession,
    *,
    records: Iterable[tuple[str, int, int | None, RecordRow]],
    payments: Iterable[tuple[str, int, int | None, PaymentRow]],
) -> None:
    """Replace every claim_record and claim_payment row by these (a rebuild from the log)."""
    await raw.execute(session, "DELETE FROM claim_record")
    await raw.execute(session, "DELETE FROM claim_payment")
    await insert_rows(
        session,
        "claim_record",
        "tx_from, tx_to",
        [(tx_from, tx_to, *record_tuple(row)) for _, tx_from, tx_to, row in records],
    )
    await insert_rows(
        session,
        "claim_payment",
        "tx_from, tx_to",
        [(tx_from, tx_to, *astuple(row)) for _, tx_from, tx_to, row in payments],
    )


async def all_rows(
    session: AsyncSession,
) -> tuple[list[tuple[str, int, int | None, RecordRow]], list[tuple[str, int, int | None, PaymentRow]]]:
    """Every stored claim_record and claim_payment row with its interval."""
    records = await raw.execute(session, f"SELECT tx_from, tx_to, {RECORD_COLUMNS} FROM claim_record")
    payments = await raw.execute(session, f"SELECT tx_from, tx_to, {PAYMENT_COLUMNS} FROM claim_payment")
    return (
        [(r.claim_id, r.tx_from, r.tx_to, RecordRow(*r[2:])) for r in records],
        [(p.payment_event_id, p.tx_from, p.tx_to, PaymentRow(*p[2:])) for p in payments],
    )
