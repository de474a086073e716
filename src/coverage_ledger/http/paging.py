"""Cursors of the as-of lists (`/v1/persons`, `/v1/claims`): a cursor carries the tx and the
valid date its first page was read at, so the next pages read the same state of the ledger for
the same day while appends go on (and past midnight in Jakarta), even when the caller fixed
neither `known_at` nor `valid_at`; and a fingerprint of the first page's filters, so a next page
asked without them (or with others) is refused rather than answered from another list
(`<tx_seq>@<valid_at>~<filters>:<last key>`)."""

import hashlib
import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from typing import Annotated

from fastapi import Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.domain.access import Principal
from coverage_ledger.domain.timeframes import KnownAtTx, plausible_year
from coverage_ledger.errors import ErrorItem, InvalidInput
from coverage_ledger.ledger.asof import AsOf, resolve

CURSOR_PATTERN = (
    r"^[0-9]{1,19}(@[0-9]{4}-[0-9]{2}-[0-9]{2})?(~[0-9a-f]{8})?:[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$"
)
"""`<tx_seq>@<valid_at>~<filters>:<the last key of the page before>` (a NIK or a claim id); a
cursor without `@<valid_at>` or `~<filters>` (as issued before they carried them) reads the day
and the filters asked."""
CursorQuery = Annotated[
    str | None,
    Query(
        pattern=CURSOR_PATTERN,
        description="next_cursor of the previous page: the next page, read at the same tx and "
        "valid_at as the first; pass the first page's filters with it",
    ),
]
Filters = Mapping[str, str | bool | list[str] | None]
"""A list's filters as asked (None: not asked), by parameter name."""


def _fingerprint(filters: Filters) -> str:
    """Eight hex digits of the filters' sha256: enough to tell two lists apart, and no filter
    value (a committee's name) is repeated in the URL."""
    canonical = json.dumps(dict(filters), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:8]


def page_cursor(as_of: AsOf, last_key: str | None, *, filters: Filters) -> str | None:
    """The next page's cursor after `last_key` (None: no next page)."""
    if last_key is None:
        return None
    return f"{as_of.tx_seq}@{as_of.valid_at.isoformat()}~{_fingerprint(filters)}:{last_key}"


def claim_filters(
    *, principal: Principal, region: str | None, statuses: list[str] | None, overdue: bool
) -> Filters:
    """The filters of a claims list as applied (the key's region when none is asked; statuses in
    any order, repeated or not), shared by the API and the web page."""
    return {
        "region": region or principal.region_prefix,
        "status": sorted(set(statuses)) if statuses else None,
        "overdue": overdue,
    }


def person_filters(
    *, principal: Principal, region: str | None, committee: str | None, status: str | None
) -> Filters:
    """The filters of a persons list as applied (the key's region when none is asked; an empty
    committee is none)."""
    return {"region": region or principal.region_prefix, "committee": committee or None, "status": status}


async def page_point(
    session: AsyncSession, request: Request, point: AsOf, cursor: str | None, *, filters: Filters
) -> tuple[AsOf, str | None]:
    """The point a page is read at and the key it starts after: the cursor's tx. A `known_at`
    sent with it must be one that could have given that tx: one resolving to it, or beyond it
    (a moment or tx past the head when the first page was read resolves further once more is
    appended). One resolving to an earlier tx is refused: a cursor is not moved to another."""
    if cursor is None:
        return point, None
    head, _, after = cursor.partition(":")
    head, _, fingerprint = head.partition("~")
    if fingerprint and fingerprint != _fingerprint(filters):
        asked = ", ".join(sorted(filters))
        raise InvalidInput(
            f"the cursor belongs to a list with other filters ({asked}) than this query's",
            [
                ErrorItem(
                    "cursor_of_other_filters",
                    f"pass the cursor with the same {asked} as its first page",
                    field="cursor",
                )
            ],
        )
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
    resolved = await resolve(session, valid_at=point.valid_at, known_at=KnownAtTx(tx_seq))
    if resolved.tx_seq != tx_seq:  # past the head: no page was read there (a probe made one up)
        raise _not_issued()
    return resolved, after


def _not_issued() -> InvalidInput:
    return InvalidInput(
        "the cursor is not one this service issued",
        [ErrorItem("invalid_cursor", "pass next_cursor as the previous page gave it", field="cursor")],
    )


def _on_the_cursors_day(request: Request, point: AsOf, day_text: str) -> AsOf:
    """The point on the cursor's valid date; a `valid_at` sent with it must be that date."""
    try:
        day = date.fromisoformat(day_text)
    except ValueError:
        raise _not_issued() from None
    if not plausible_year(day.year):  # a valid_at asked so is refused; no page could carry it
        raise _not_issued()
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
