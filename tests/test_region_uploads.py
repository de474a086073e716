"""Regional ratios after roster uploads: the spans written set-based for officers whose only cover
is the new row, and recomputed for the others, give the plain scan's counts at every tx."""

from datetime import date
from itertools import product

from sqlalchemy import text

from coverage_ledger.database.engine import create_engine_for, session_factory
from coverage_ledger.domain.access import SYSTEM
from coverage_ledger.ledger.asof import AsOf
from coverage_ledger.ledger.rebuild import rebuild_check
from coverage_ledger.regions.service import region_coverage
from tests.rosters import Uploader, officer_row, roster_csv
from tests.support import nik

PILKADA = ("2024-11-07", "2024-12-08")


async def test_ratios_after_appended_and_replaced_rosters_equal_the_plain_scan_at_every_tx(
    uploader: Uploader, fresh_database: str
) -> None:
    people = [nik() for _ in range(30)]
    first = await uploader.run(roster_csv([officer_row(p) for p in people[:20]]))
    # the same committee's Pilkada roster: ten officers of the first roster again, ten new ones
    # and three officers of the first roster again for the days right after their term (their
    # spans merge into one)
    second = await uploader.run(
        roster_csv(
            [officer_row(p, term=PILKADA, region="16.71.02") for p in people[10:30]]
            + [officer_row(p, term=("2024-02-24", "2024-03-10")) for p in people[:3]]
        )
    )
    assert second["rows_accepted"] == 23, second
    # the first roster replaced: ten kept, five with an earlier start and no registration date
    # (covered from the day the roster is recorded), five gone, and the Pilkada rows gone too
    replaced = await uploader.run(
        roster_csv(
            [officer_row(p) for p in people[:10]]
            + [officer_row(p, term=("2024-01-20", "2024-02-23"), registered_on="") for p in people[10:15]]
        ),
        mode="replace_roster",
    )
    txs = [status["tx_seq"] for status in (first, second, replaced)]
    assert all(txs) and replaced["outcome"]["retracted"] > 0, replaced
    engine = create_engine_for(fresh_database, pool_size=1)
    try:
        async with session_factory(engine)() as session:
            compared = 0
            for tx, day, code in product(
                txs,
                [
                    date(2024, 1, 22),
                    date(2024, 2, 10),
                    date(2024, 3, 1),
                    date(2024, 11, 20),
                    date(2026, 1, 1),
                ],
                ["16", "16.71", "16.71.01"],
            ):
                as_of = AsOf(day, None, tx)
                fast = await region_coverage(session, principal=SYSTEM, code=code, as_of=as_of, segment="all")
                scan = await region_coverage(
                    session, principal=SYSTEM, code=code, as_of=as_of, segment="all", by_scan=True
                )
                assert fast.region.covered == scan.region.covered, (code, as_of)
                assert [c.covered for c in fast.children] == [c.covered for c in scan.children], (code, as_of)
                compared += fast.region.covered
            assert compared > 0
            assert await rebuild_check(session) == []
            # as known after the second roster (the replacement then retracted the March term)
            merged = await session.execute(
                text(
                    "SELECT valid_from, valid_to FROM coverage_span WHERE nik = :nik "
                    "AND tx_from <= :tx AND (tx_to IS NULL OR tx_to > :tx)"
                ),
                {"nik": people[0], "tx": txs[1]},
            )
            assert merged.all() == [(date(2024, 1, 25), date(2024, 3, 11))]
    finally:
        await engine.dispose()
