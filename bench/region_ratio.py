"""Issue "regions": the ratio of a province with its children, and a 12-month series, from the
coverage spans and by the plain scan (same answers, checked), on the demo history."""

import random
import statistics
import time
from datetime import date, timedelta
from typing import Any

import uvloop

from bench.common import bench_database, percentile
from coverage_ledger.database.engine import create_engine_for, session_factory
from coverage_ledger.demo.loader import load_demo
from coverage_ledger.domain.access import SYSTEM
from coverage_ledger.ledger import repository
from coverage_ledger.ledger.asof import AsOf
from coverage_ledger.regions.service import months_between, region_coverage, region_coverage_on_days

SCALES = {"small": 100, "full": 10}
SAMPLES = 20


async def _measure(url: str, scale: int) -> dict[str, Any]:
    engine = create_engine_for(url, pool_size=2)
    maker = session_factory(engine)
    started = time.perf_counter()
    async with maker() as session, session.begin():
        loaded = await load_demo(session, scale=scale)
    load_seconds = time.perf_counter() - started
    rng = random.Random(7)
    spans: list[float] = []
    scans: list[float] = []
    async with maker() as session:
        head = (await repository.read_head(session)).tx_seq  # type: ignore[union-attr]
        for _ in range(SAMPLES):
            valid_at = date(2024, 1, 1) + timedelta(days=rng.randrange(366))
            as_of = AsOf(valid_at=valid_at, known_at=None, tx_seq=rng.randrange(2, head + 1))
            covered = []
            for by_scan, timings in ((False, spans), (True, scans)):
                begun = time.perf_counter()
                figure = await region_coverage(
                    session, principal=SYSTEM, code="16", as_of=as_of, segment="all", by_scan=by_scan
                )
                timings.append(time.perf_counter() - begun)
                covered.append(figure.region.covered)
            assert covered[0] == covered[1], (as_of, covered)  # the projection answers as the scan does
        series = {}
        for by_scan in (False, True):
            begun = time.perf_counter()
            await region_coverage_on_days(
                session,
                principal=SYSTEM,
                code="16",
                tx_seq=head,
                days=months_between(date(2024, 1, 1), date(2024, 12, 1)),
                segment="all",
                by_scan=by_scan,
            )
            series["scan" if by_scan else "spans"] = round(time.perf_counter() - begun, 3)
    await engine.dispose()
    return {
        "scale": scale,
        "events": loaded.events,
        "persons_with_coverage": loaded.history.covered,
        "load_seconds": round(load_seconds, 1),
        "province_ratio_spans_ms": {
            "p50": round(statistics.median(spans) * 1000, 1),
            "p99": round(percentile(spans, 99) * 1000, 1),
        },
        "province_ratio_plain_scan_ms": {
            "p50": round(statistics.median(scans) * 1000, 1),
            "p99": round(percentile(scans, 99) * 1000, 1),
        },
        "series_12_months_s": series,
    }


def run(*, size: str) -> dict[str, Any]:
    """Load the demo at the size's scale and time the plain scan."""
    with bench_database("bench_regions") as url:
        return uvloop.run(_measure(url, SCALES[size]))
