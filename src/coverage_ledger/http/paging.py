"""Cursors of the as-of lists (`/v1/persons`, `/v1/claims`): a cursor carries the tx its first
page was read at, so the next pages read the same state of the ledger while appends go on, even
when the caller did not fix `known_at` (`<tx_seq>:<last key>`)."""

from typing import Annotated

from fastapi import Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.domain.timeframes import KnownAtTx
from coverage_ledger.errors import ErrorItem, InvalidInput
from coverage_ledger.ledger.asof import AsOf, resolve

CURSOR_PATTERN = r"^[0-9]{1,19}:[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$"
"""`<tx_seq>:<the last key of the page before>` (a NIK or a claim id)."""
CursorQuery = Annotated[
    str | None,
    Query(
        pattern=CURSOR_PATTERN,
        description="next_cursor of the previous page: the next page, read at the same tx as the first",
    ),
]


def page_cursor(as_of: AsOf, last_key: str | None) -> str | None:
    """The next page's cursor after `last_key` (None: no next page)."""
    return None if last_key is None else f"{as_of.tx_seq}:{last_key}"


async def page_point(
    session: AsyncSession, request: Request, point: AsOf, cursor: str | None
) -> tuple[AsOf, str | None]:
    """The point a page is read at and the key it starts after: the cursor's tx. A `known_at`
    sent with it must be one that could have given that tx: one resolving to it, or beyond it
    (a moment or tx past the head when the first page was read resolves further once more is
    appended). One resolving to an earlier tx is refused: a cursor is not moved to another."""
    if cursor is None:
        return point, None
    tx_text, _, after = cursor.partition(":")
    tx_seq = int(tx_text)
    if point.tx_seq < tx_seq and request.query_params.get("known_at"):  # not absent, nor its default
        raise InvalidInput(
            f"the cursor belongs to tx {tx_seq}, known_at to tx {point.tx_seq}",
            [
                ErrorItem(
                    "cursor_of_other_knowledge",
                    "pass the cursor with the known_at of its first page, or without known_at",
                    field="cursor",
                )
            ],
        )
    if point.tx_seq == tx_seq:
        return point, after
    return await resolve(session, valid_at=point.valid_at, known_at=KnownAtTx(tx_seq)), after
