"""The coverage diff's candidates: read from the spans that entered or left force between the two
moments, filtered by region in SQL, they are exactly the persons a comparison of everyone's
cover at both moments finds (for every pair of moments, day and region here)."""

from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.reports.repository import changed_persons
from tests.support import append_in_savepoint, corrected, enrolled, nik, registered

TERM: dict[str, Any] = {"valid_from": "2024-01-25", "valid_to": "2024-02-24", "registered_on": "2024-01-02"}
DAYS = (date(2024, 1, 20), date(2024, 2, 1), date(2024, 2, 20))
REGIONS = (None, "16", "16.71", "16.71.01", "32", "32.01.01", "16.01")


def _within(code: str | None, region: str | None) -> bool:
    return code is not None and (region is None or code == region or code.startswith(region + "."))


def _plain_diff(
    spans: list[Any], *, day: date, then: int, now: int, region: str | None
) -> list[tuple[str, str | None, str | None]]:
    """Everyone's covering region at both moments, compared person by person."""

    def cover_at(tx: int) -> dict[str, str]:
        return {
            s.nik: s.region_code
            for s in spans
            if s.tx_from <= tx
            and (s.tx_to is None or s.tx_to > tx)
            and s.valid_from <= day < s.valid_to
            and s.in_all
        }

    before, after = cover_at(then), cover_at(now)
    changed = []
    for person in sorted(before.keys() | after.keys()):
        was, is_ = before.get(person), after.get(person)
        if was != is_ and (_within(was, region) or _within(is_, region)):
            changed.append((person, was, is_))
    return changed


async def test_the_candidates_are_the_persons_whose_cover_changed_in_the_region(
    session: AsyncSession,
) -> None:
    moved, retracted, shortened, late, steady = (nik(district="167101") for _ in range(5))
    batches: list[list[dict[str, Any]]] = [
        [registered(p, region="16.71.01") for p in (moved, retracted, shortened, late, steady)],
        [
            enrolled(moved, event_id=f"t-{moved}", region="16.71.01", **TERM),
            enrolled(retracted, event_id=f"t-{retracted}", region="32.01.01", **TERM),
            enrolled(steady, event_id=f"t-{steady}", region="16.71.02", **TERM),
        ],
        [
            corrected(
                f"move-{moved}",
                [f"t-{moved}"],
                replacement=enrolled(moved, event_id=f"t2-{moved}", region="32.01.01", **TERM),
            ),
            enrolled(shortened, event_id=f"t-{shortened}", region="16.71.01", **TERM),
        ],
        [corrected(f"drop-{retracted}", [f"t-{retracted}"])],
        [
            corrected(
                f"cut-{shortened}",
                [f"t-{shortened}"],
                replacement=enrolled(
                    shortened,
                    event_id=f"t2-{shortened}",
                    region="16.71.01",
                    valid_from="2024-01-25",
                    valid_to="2024-02-10",
                    registered_on="2024-01-02",
                ),
            ),
            enrolled(late, event_id=f"t-{late}", region="16.01.07", **TERM),
        ],
        [corrected(f"undo-{moved}", [f"move-{moved}"])],
    ]
    txs = []
    for events in batches:
        tx = await append_in_savepoint(session, events)
        assert tx is not None, events
        txs.append(tx)
    spans = list(
        await session.execute(
            text(
                "SELECT nik, region_code, tx_from, tx_to, valid_from, valid_to, in_all FROM coverage_span "
                "WHERE nik = ANY(:niks)"
            ),
            {"niks": [moved, retracted, shortened, late, steady]},
        )
    )
    assert len({s.nik for s in spans}) == 5
    compared = 0
    for then in [txs[0] - 1, *txs]:
        for now in [t for t in [txs[0] - 1, *txs] if t >= then]:
            for day in DAYS:
                for region in REGIONS:
                    found = await changed_persons(session, day=day, then_tx=then, now_tx=now, region=region)
                    expected = _plain_diff(spans, day=day, then=then, now=now, region=region)
                    assert found == expected, (then, now, day, region)
                    compared += bool(expected)
    assert compared > 50  # the data changes cover in most pairs, not only in a few
