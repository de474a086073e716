"""`rebuild --check` for the claim projections: every claim reviewed again at each tx that changed
its events or a rule its due date depends on, the resulting history of states and payments
compared with the stored rows."""

from collections.abc import Hashable, Iterable
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.claims import rebuild_repository
from coverage_ledger.claims.projection import payments_of, record_of
from coverage_ledger.claims.repository import PaymentRow, RecordRow
from coverage_ledger.claims.review import review_claims
from coverage_ledger.domain.benefit_table import DUE_DATE_KINDS

Interval = tuple[str, int, int | None, Hashable]
"""(key, tx_from, tx_to, row)."""


def _intervals(history: dict[str, list[tuple[int, Hashable | None]]]) -> set[Interval]:
    """Known-time intervals from each key's states at the txs that touched it (None: absent);
    a state repeated by a later tx is one interval, as the live projection writes it."""
    found: set[Interval] = set()
    for key, states in history.items():
        current: tuple[int, Hashable] | None = None
        for tx, row in sorted(states, key=lambda s: s[0]):
            if current is not None and current[1] == row:
                continue
            if current is not None:
                found.add((key, current[0], tx, current[1]))
            current = (tx, row) if row is not None else None
        if current is not None:
            found.add((key, current[0], None, current[1]))
    return found


async def _expected(session: AsyncSession) -> tuple[set[Interval], set[Interval]]:
    """The claim_record and claim_payment intervals the log gives, each claim reviewed again at
    every tx that changed its events or a due-date rule (as the live projection does)."""
    touched = await rebuild_repository.claim_touches(session)
    # a rule change reviews every claim filed by then again, as the live projection does
    first_seen: dict[str, int] = {}
    for tx, claim_ids in sorted(touched.items(), reverse=True):
        first_seen |= dict.fromkeys(claim_ids, tx)
    for tx in await rebuild_repository.rule_change_txs(session, DUE_DATE_KINDS):
        touched.setdefault(tx, set()).update(c for c, seen in first_seen.items() if seen <= tx)
    records: dict[str, list[tuple[int, Hashable | None]]] = {}
    payments: dict[str, list[tuple[int, Hashable | None]]] = {}
    for tx, claim_ids in sorted(touched.items()):
        reviews = await review_claims(session, claim_ids=sorted(claim_ids), tx_seq=tx, today=date.min)
        known_payments = await rebuild_repository.payment_ids_of(session, claim_ids)
        for claim_id in claim_ids:
            review = reviews.get(claim_id)
            records.setdefault(claim_id, []).append((tx, record_of(review) if review else None))
            rows = {p.payment_event_id: p for p in payments_of(review)} if review else {}
            for payment_id in known_payments.get(claim_id, set()) | rows.keys():
                payments.setdefault(payment_id, []).append((tx, rows.get(payment_id)))
    return _intervals(records), _intervals(payments)


async def claim_differences(session: AsyncSession) -> list[str]:
    """Differences between the claim projections rebuilt from the log and the stored ones."""
    expected_records, expected_payments = await _expected(session)
    stored_records, stored_payments = await rebuild_repository.all_rows(session)
    return _compare("claim_record", expected_records, stored_records) + _compare(
        "claim_payment", expected_payments, stored_payments
    )


async def reproject_claims(session: AsyncSession) -> int:
    """Rebuild the claim projections from the log (after a release changed how claims are
    projected); the number of claim_record rows written. The caller holds the append lock."""
    records, payments = await _expected(session)
    await rebuild_repository.replace_all_rows(
        session,
        records=[(key, start, end, row) for key, start, end, row in records if isinstance(row, RecordRow)],
        payments=[(key, start, end, row) for key, start, end, row in payments if isinstance(row, PaymentRow)],
    )
    return len(records)


def _compare(table: str, expected: set[Interval], stored: Iterable[Interval]) -> list[str]:
    live = set(stored)
    return [f"{table} lacks {row}" for row in sorted(expected - live, key=str)] + [
        f"{table} has extra {row}" for row in sorted(live - expected, key=str)
    ]
