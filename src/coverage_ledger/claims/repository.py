"""All SQL of claims: a claim's events as known at a tx, and the claim projections (states and
payments in force per known-time interval) that lists, overdue claims and payouts read."""

from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.database import raw
from coverage_ledger.domain.claims import STILL_OPEN

_IN_FORCE_AT = "k.tx_from <= %(tx)s AND (k.tx_to IS NULL OR k.tx_to > %(tx)s)"
_WITHIN = raw.within_region("r.region_code")


@dataclass(frozen=True, slots=True)
class ClaimEvent:
    """A claim event in force at some tx."""

    event_id: str
    type: str
    claim_id: str
    payload: dict[str, Any]
    tx_seq: int
    recorded_at: datetime


async def claim_events(session: AsyncSession, claim_ids: Iterable[str], *, tx_seq: int) -> list[ClaimEvent]:
    """The events of these claims in force at a tx, in tx order."""
    ids = sorted(set(claim_ids))
    if not ids:
        return []
    rows = await raw.execute(
        session,
        "SELECT e.event_id, e.type, e.payload ->> 'claim_id' AS claim_id, e.payload, t.tx_seq, t.recorded_at "
        "FROM ledger_event e "
        "JOIN event_knowledge k ON k.event_id = e.event_id "
        "JOIN ledger_tx t ON t.tx_id = e.tx_id "
        f"WHERE e.type LIKE 'claim.%%' AND (e.payload ->> 'claim_id') = ANY(%(ids)s) AND {_IN_FORCE_AT} "
        "ORDER BY t.tx_seq, e.position",
        {"ids": ids, "tx": tx_seq},
        prepare=None if len(ids) <= 64 else False,
    )
    return [ClaimEvent(r.event_id, r.type, r.claim_id, r.payload, r.tx_seq, r.recorded_at) for r in rows]


async def claim_ids_of(session: AsyncSession, event_ids: Iterable[str]) -> set[str]:
    """The claims these events belong to (events of other kinds are skipped)."""
    ids = list(set(event_ids))
    if not ids:
        return set()
    rows = await raw.execute(
        session,
        "SELECT DISTINCT payload ->> 'claim_id' AS claim_id FROM ledger_event "
        "WHERE event_id = ANY(%(ids)s) AND type LIKE 'claim.%%'",
        {"ids": ids},
        prepare=False,
    )
    return {r.claim_id for r in rows}


@dataclass(frozen=True, slots=True)
class RecordRow:
    """A claim's projected state (claim_record without its interval)."""

    claim_id: str
    nik: str
    region_code: str
    benefit: str
    incident_date: date
    status: str
    payable_amount: int
    paid_amount: int
    due_on: date | None
    settled_on: date | None
    reversed_on: date | None


@dataclass(frozen=True, slots=True)
class PaymentRow:
    """A payment in force (claim_payment without its interval)."""

    payment_event_id: str
    claim_id: str
    region_code: str
    benefit: str
    paid_on: date
    amount: int
    first_of_claim: bool


RECORD_COLUMNS = (
    "claim_id, nik, region_code, benefit, incident_date, status, payable_amount, paid_amount, "
    "due_on, settled_on, reversed_on"
)
PAYMENT_COLUMNS = "payment_event_id, claim_id, region_code, benefit, paid_on, amount, first_of_claim"


async def open_rows(
    session: AsyncSession, claim_ids: Sequence[str]
) -> tuple[dict[str, RecordRow], dict[str, PaymentRow]]:
    """The current projected state and payments of these claims."""
    records = await raw.execute(
        session,
        f"SELECT {RECORD_COLUMNS} FROM claim_record WHERE claim_id = ANY(%(ids)s) AND tx_to IS NULL",
        {"ids": list(claim_ids)},
        prepare=False,
    )
    payments = await raw.execute(
        session,
        f"SELECT {PAYMENT_COLUMNS} FROM claim_payment WHERE claim_id = ANY(%(ids)s) AND tx_to IS NULL",
        {"ids": list(claim_ids)},
        prepare=False,
    )
    return (
        {r.claim_id: RecordRow(*r) for r in records},
        {p.payment_event_id: PaymentRow(*p) for p in payments},
    )


async def claim_regions(session: AsyncSession, claim_ids: Sequence[str]) -> dict[str, str]:
    """Each claim's region: its current record's, else its last record's (a claim whose filing was
    retracted keeps the region it was filed in, so its events stay that region's)."""
    rows = await raw.execute(
        session,
        "SELECT DISTINCT ON (claim_id) claim_id, region_code FROM claim_record "
        "WHERE claim_id = ANY(%(ids)s) ORDER BY claim_id, (tx_to IS NULL) DESC, tx_from DESC",
        {"ids": list(claim_ids)},
        prepare=False,
    )
    return {r.claim_id: r.region_code for r in rows}


async def claim_region_at(session: AsyncSession, *, claim_id: str, tx_seq: int) -> str | None:
    """The region of the claim's record in force at a tx (None: no such claim then)."""
    value = await raw.scalar(
        session,
        "SELECT region_code FROM claim_record WHERE claim_id = %(id)s "
        "AND tx_from <= %(tx)s AND (tx_to IS NULL OR tx_to > %(tx)s)",
        {"id": claim_id, "tx": tx_seq},
    )
    return value if isinstance(value, str) else None


async def live_claims_of(session: AsyncSession, niks: Sequence[str]) -> list[RecordRow]:
    """The current projected state of the claims of these persons that are not rejected."""
    rows = await raw.execute(
        session,
        f"SELECT {RECORD_COLUMNS} FROM claim_record "
        "WHERE nik = ANY(%(niks)s) AND tx_to IS NULL AND status <> 'rejected'",
        {"niks": list(niks)},
        prepare=False,
    )
    return [RecordRow(*r) for r in rows]


async def replace_rows(
    session: AsyncSession,
    *,
    tx_seq: int,
    closed_claims: Sequence[str],
    new_records: Sequence[RecordRow],
    closed_payments: Sequence[str],
    new_payments: Sequence[PaymentRow],
) -> None:
    """End the knowledge of changed rows at this tx and start that of their successors."""
    if closed_claims:
        await raw.execute_count(
            session,
            "UPDATE claim_record SET tx_to = %(tx)s WHERE claim_id = ANY(%(ids)s) AND tx_to IS NULL",
            {"tx": tx_seq, "ids": list(closed_claims)},
            prepare=False,
        )
    if closed_payments:
        await raw.execute_count(
            session,
            "UPDATE claim_payment SET tx_to = %(tx)s WHERE payment_event_id = ANY(%(ids)s) AND tx_to IS NULL",
            {"tx": tx_seq, "ids": list(closed_payments)},
            prepare=False,
        )
    await insert_rows(session, "claim_record", "tx_from", [(tx_seq, *record_tuple(r)) for r in new_records])
    await insert_rows(session, "claim_payment", "tx_from", [(tx_seq, *astuple(p)) for p in new_payments])


async def insert_rows(
    session: AsyncSession, table: str, interval: str, rows: Sequence[tuple[Any, ...]]
) -> None:
    """Insert claim_record or claim_payment rows: the `interval` columns, then the row's own."""
    if not rows:
        return
    columns = RECORD_COLUMNS if table == "claim_record" else PAYMENT_COLUMNS
    conn = await raw.driver_connection(session)
    async with conn.cursor() as cursor:
        await cursor.executemany(
            f"INSERT INTO {table} ({interval}, {columns}) VALUES ({', '.join(['%s'] * len(rows[0]))})",
            rows,
        )


def record_tuple(r: RecordRow) -> tuple[Any, ...]:
    return (
        r.claim_id,
        r.nik,
        r.region_code,
        r.benefit,
        r.incident_date,
        r.status,
        r.payable_amount,
        r.paid_amount,
        r.due_on,
        r.settled_on,
        r.reversed_on,
    )


OPEN_STATUSES = tuple(status.value for status in STILL_OPEN)


OVERDUE_CANDIDATES = (
    "r.due_on < {day} AND (r.status = ANY({open}) OR r.settled_on > {day} OR r.reversed_on IS NOT NULL)"
)
"""SQL: the claim could be overdue on the day (as known at the tx): due before it, and not paid
in full for good by then (still open, paid in full only after the day, or reopened by a reversal).
The claim read decides (`claims.review`): the stretches its money stood unpaid are not in the row."""


async def records_as_of(
    session: AsyncSession,
    *,
    tx_seq: int,
    region_prefix: str | None,
    statuses: Sequence[str] | None,
    day: date,
    overdue_candidates: bool,
    after: str,
    limit: int,
) -> list[RecordRow]:
    """Claims as known at a tx, in claim_id order after `after`; `overdue_candidates`: only those
    that could be overdue on `day` (`OVERDUE_CANDIDATES`)."""
    candidates = OVERDUE_CANDIDATES.format(day="%(day)s::date", open="%(open)s")
    rows = await raw.execute(
        session,
        f"SELECT {RECORD_COLUMNS} FROM claim_record r "
        "WHERE r.tx_from <= %(tx)s AND (r.tx_to IS NULL OR r.tx_to > %(tx)s) "
        f"AND {_WITHIN} AND r.claim_id > %(after)s "
        "AND (%(statuses)s::text[] IS NULL OR r.status = ANY(%(statuses)s::text[])) "
        f"AND (NOT %(candidates)s OR ({candidates})) "
        "ORDER BY r.claim_id LIMIT %(limit)s",
        {
            "tx": tx_seq,
            "region": region_prefix,
            "after": after,
            "statuses": list(statuses) if statuses else None,
            "day": day,
            "candidates": overdue_candidates,
            "open": list(OPEN_STATUSES),
            "limit": limit,
        },
    )
    return [RecordRow(*r) for r in rows]


GROUP_KEYS = {
    "benefit": "r.benefit",
    "month": "to_char(r.paid_on, 'YYYY-MM')",
    "region": "left(r.region_code, %(child_length)s)",
}


@dataclass(frozen=True, slots=True)
class PayoutGroup:
    """Claims paid and rupiah paid for one group."""

    key: str
    claims: int
    payments: int
    paid_amount: int


_PAYMENTS_IN_SCOPE = (
    "FROM claim_payment r WHERE r.tx_from <= %(tx)s AND (r.tx_to IS NULL OR r.tx_to > %(tx)s) "
    f"AND {_WITHIN} "
    "AND (%(paid_from)s::date IS NULL OR r.paid_on >= %(paid_from)s::date) "
    "AND (%(paid_to)s::date IS NULL OR r.paid_on < %(paid_to)s::date) "
)
_PAYOUT_SUMS = (
    "count(*) FILTER (WHERE r.first_of_claim) AS claims, count(*) AS payments, "
    "coalesce(sum(r.amount), 0) AS paid"
)


async def payout_groups(
    session: AsyncSession,
    *,
    tx_seq: int,
    region_prefix: str | None,
    paid_from: date | None,
    paid_to: date | None,
    group_by: str,
    child_length: int = 2,
) -> tuple[list[PayoutGroup], PayoutGroup]:
    """Payments in force at a tx, paid in [paid_from, paid_to), summed per group and in total, in
    one scan. A claim counts once, where its first payment in force falls, so the groups add up
    to the total."""
    rows = await raw.execute(
        session,
        f"SELECT {GROUP_KEYS[group_by]} AS key, GROUPING({GROUP_KEYS[group_by]}) = 1 AS is_total, "
        f"{_PAYOUT_SUMS} {_PAYMENTS_IN_SCOPE} GROUP BY GROUPING SETS ((1), ()) ORDER BY 2, 1",
        {
            "tx": tx_seq,
            "region": region_prefix,
            "paid_from": paid_from,
            "paid_to": paid_to,
            "child_length": child_length,
        },
    )
    groups = [PayoutGroup(r.key, r.claims, r.payments, int(r.paid)) for r in rows]
    return groups[:-1], PayoutGroup("total", groups[-1].claims, groups[-1].payments, groups[-1].paid_amount)


async def projected_claim_ids(
    session: AsyncSession, *, due_between: Sequence[tuple[date, date]] | None = None
) -> list[str]:
    """The claims with a current projected row, in claim_id order; with `due_between`, only
    those due within one of these [from, to) ranges."""
    if due_between is None:
        rows = await raw.execute(
            session, "SELECT claim_id FROM claim_record WHERE tx_to IS NULL ORDER BY claim_id"
        )
    else:
        rows = await raw.execute(
            session,
            "SELECT claim_id FROM claim_record r WHERE tx_to IS NULL AND EXISTS ("
            " SELECT 1 FROM unnest(%(froms)s::date[], %(tos)s::date[]) AS w(f, t)"
            " WHERE r.due_on >= w.f AND r.due_on < w.t) ORDER BY claim_id",
            {"froms": [f for f, _ in due_between], "tos": [t for _, t in due_between]},
        )
    return [r.claim_id for r in rows]
