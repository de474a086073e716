"""Cursors of the as-of lists (`/v1/persons`, `/v1/claims`): a cursor carries the tx and the
valid date its first page was read at, so the next pages read the same state of the ledger for
the same day while appends go on (and past midnight in Jakarta), even when the caller fixed
neither `known_at` nor `valid_at` (`<tx_seq>@<valid_at>:<last key>`)."""

from dataclasses import replace
from datetime import date
from typing import Annotated

from fastapi import Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.domain.timeframes import KnownAtTx
from coverage_ledger.errors import ErrorItem, InvalidInput
from coverage_ledger.ledger.asof import AsOf, resolve

CURSOR_PATTERN = r"^[0-9]{1,19}(@[0-9]{4}-[0-9]{2}-[0-9]{2})?:[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$"
"""`<tx_seq>@<valid_at>:<the last key of the page before>` (a NIK or a claim id); a cursor
without `@<valid_at>` (as issued before they carried it) reads the day asked."""
CursorQuery = Annotated[
    str | None,
    Query(
        pattern=CURSOR_PATTERN,
        description="next_cursor of the previous page: the next page, read at the same tx as the first",
    ),
]


def page_cursor(as_of: AsOf, last_key: str | None) -> str | None:
    """The next page's cursor after `last_key` (None: no next page)."""
    return None if last_key is None else f"{as_of.tx_seq}@{as_of.valid_at.isoformat()}:{last_key}"


async def page_point(
    session: AsyncSession, request: Request, point: AsOf, cursor: str | None
) -> tuple[AsOf, str | None]:
    """The point a page is read at and the key it starts after: the cursor's tx. A `known_at`
    sent with it must be one that could have given that tx: one resolving to it, or beyond it
    (a moment or tx past the head when the first page was read resolves further once more is
    appended). One resolving to an earlier tx is refused: a cursor is not moved to another."""
    if cursor is None:
        return point, None
    head, _, after = cursor.partition(":")
    tx_text, _, day_text = head.partition("@")
    tx_seq = int(tx_text)
    if day_text:
        point = _on_the_cursors_day(request, point, day_text)
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


def _on_the_cursors_day(request: Request, point: AsOf, day_text: str) -> AsOf:
    """The point on the cursor's valid date; a `valid_at` sent with it must be that date."""
    try:
        day = date.fromisoformat(day_text)
    except ValueError:
        raise InvalidInput(
            "the cursor is not one this service issued",
            [ErrorItem("invalid_cursor", "pass next_cursor as the previous page gave it", field="cursor")],
        ) from None
    if request.query_params.get("valid_at") and point.valid_at != day:
        raise InvalidInput(
            f"the cursor belongs to valid_at {day}, the query to {point.valid_at}",
            [
                ErrorItem(
                    "cursor_of_other_day",
                    "pass the cursor with the valid_at of its first page, or without valid_at",
                    field="cursor",
                )
            ],
        )
    return replace(point, valid_at=day)
