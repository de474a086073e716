"""Issue "regions": a province's ratio with its children and a 24-month series, from the coverage
deltas, against a scan of the coverage periods (same answers, checked) and the plain scan of the
test suite's oracle, on a ledger filled the way it is in life: committee rosters of ~1,000 rows
through the upload job, then single-event txs of corrections and late payments."""

import csv
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import uvloop
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.common import bench_database, percentile
from coverage_ledger.database import raw
from coverage_ledger.database.engine import create_engine_for, session_factory
from coverage_ledger.domain.access import SYSTEM
from coverage_ledger.domain.months import months_between
from coverage_ledger.ledger import repository
from coverage_ledger.ledger.asof import AsOf
from coverage_ledger.ledger.schemas import AppendRequest
from coverage_ledger.ledger.service import append_events
from coverage_ledger.regions.service import region_coverage, region_coverage_on_days
from coverage_ledger.uploads.importing import import_file
from coverage_ledger.uploads.officer_rows import REQUIRED_COLUMNS
from coverage_ledger.uploads.service import UploadOptions

SIZES = {
    "small": {"uploads": 200, "rows": 1_000, "singles": 2_000, "pairs": 100, "oracle_pairs": 10},
    "medium": {"uploads": 1_000, "rows": 1_000, "singles": 10_000, "pairs": 100, "oracle_pairs": 3},
    "full": {"uploads": 10_000, "rows": 1_000, "singles": 100_000, "pairs": 100, "oracle_pairs": 1},
}
PROVINCE = "16"
TERMS = [  # (role, term start, term end, latest registration delay in days): facts.md
    ("PANTARLIH", date(2023, 2, 3), date(2023, 3, 12), 20),
    ("PPK", date(2023, 1, 4), date(2024, 4, 4), 40),
    ("PPS", date(2023, 1, 17), date(2024, 4, 4), 40),
    ("KPPS", date(2024, 1, 25), date(2024, 2, 23), 15),
    ("KPPS", date(2024, 11, 7), date(2024, 12, 8), 15),
]
REPEAT_SHARE = 0.3
"""Share of roster rows naming a person already enrolled for another term."""


def _nik(index: int, district_digits: str) -> tuple[str, date, str]:
    born = date(1960 + index % 40, 1 + index // 40 % 12, 1 + index // 480 % 28)
    female = index % 2 == 0
    serial = 1 + index // 13440
    day = born.day + (40 if female else 0)
    return (
        f"{district_digits}{day:02d}{born.month:02d}{born.year % 100:02d}{serial:04d}",
        born,
        "P" if female else "L",
    )


async def _villages(session: AsyncSession) -> dict[str, list[str]]:
    rows = await raw.execute(
        session,
        "SELECT code FROM region WHERE tx_to IS NULL AND level = 4 AND code LIKE '16.%' ORDER BY code",
    )
    by_regency: dict[str, list[str]] = {}
    for row in rows:
        by_regency.setdefault(row.code[:5], []).append(row.code)
    return by_regency


def _write_roster(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow([*REQUIRED_COLUMNS, "registered_on"])
        writer.writerows(rows)


async def _load(
    maker: async_sessionmaker[AsyncSession], sizes: dict[str, int], workdir: Path
) -> dict[str, Any]:
    rng = random.Random(11)
    async with maker() as session:
        villages = await _villages(session)
    regencies = sorted(villages)
    people: list[tuple[str, str, str, str]] = []  # (nik, village, birth date, sex)
    terms_of: dict[str, set[int]] = {}
    local: dict[str, list[tuple[str, str, str, str]]] = {}
    roster_rows = 0
    started = time.perf_counter()
    for upload in range(sizes["uploads"]):
        regency = regencies[upload % len(regencies)]
        term_index = upload // len(regencies) % len(TERMS)
        role, start, end, delay = TERMS[term_index]
        rows = []
        for _ in range(sizes["rows"]):
            person = None
            pool = local.setdefault(regency, [])  # a committee enrols in its own regency
            if pool and rng.random() < REPEAT_SHARE:
                person = pool[rng.randrange(len(pool))]
                # successive roles are fine; overlapping ones would be refused
                if any(TERMS[t][1] <= end and start <= TERMS[t][2] for t in terms_of[person[0]]):
                    person = None
            if person is None:
                village = rng.choice(villages[regency])
                nik, born, sex = _nik(len(people), village[:2] + village[3:5] + village[6:8])
                person = (nik, village, born.isoformat(), sex)
                people.append(person)
                pool.append(person)
                terms_of[nik] = set()
            nik, village, birth, sex = person
            terms_of[nik].add(term_index)
            registered = start + timedelta(days=rng.randrange(-10, delay))
            rows.append(
                [
                    nik,
                    "Petugas",
                    birth,
                    sex,
                    role,
                    village,
                    start.isoformat(),
                    end.isoformat(),
                    registered.isoformat(),
                ]
            )
        roster_rows += len(rows)
        path = workdir / f"roster-{upload}.csv"
        _write_roster(path, rows)
        record, _ = await import_file(
            maker,
            path=path,
            options=UploadOptions(
                kind="officer_roster",
                committee=f"KPU-{regency}",
                dry_run=False,
                policy="accept_valid",
                mode="append",
            ),
            principal=SYSTEM,
            clock=lambda: datetime.now(UTC),
            staging_dir=workdir / "staging",
            on_progress=lambda _: None,
        )
        assert record.status == "succeeded", (record.status, record.outcome)
        path.unlink()
        if upload % 100 == 99:
            print(f"  {upload + 1} uploads, {time.perf_counter() - started:.0f} s", flush=True)
    upload_seconds = time.perf_counter() - started
    started = time.perf_counter()
    corrected = await _single_event_txs(maker, sizes["singles"], rng)
    return {
        "roster_rows": roster_rows,
        "persons": len(people),
        "upload_seconds": round(upload_seconds, 1),
        "single_event_txs": corrected,
        "single_event_seconds": round(time.perf_counter() - started, 1),
    }


async def _single_event_txs(maker: async_sessionmaker[AsyncSession], count: int, rng: random.Random) -> int:
    """Corrections of enrolments in force (a later registration, an earlier term end, a retraction)."""
    async with maker() as session:
        rows = await raw.execute(
            session,
            "SELECT k.event_id, e.payload FROM event_knowledge k JOIN ledger_event e USING (event_id) "
            "WHERE k.type = 'officer.enrolled' AND k.tx_to IS NULL ORDER BY random() LIMIT %(n)s",
            {"n": count},
        )
    done = 0
    for index, row in enumerate(rows):
        kind = rng.random()
        event: dict[str, Any] = {
            "event_id": f"bench-fix-{index}",
            "type": "event.corrected",
            "reason": "bench",
        }
        event["supersedes"] = [row.event_id]
        if kind < 0.8:
            replacement = dict(row.payload)
            replacement |= {"event_id": f"bench-repl-{index}", "type": "officer.enrolled"}
            shift = timedelta(days=rng.randrange(1, 20))
            if kind < 0.5:
                replacement["registered_on"] = (
                    date.fromisoformat(replacement["registered_on"]) + shift
                ).isoformat()
            else:
                replacement["valid_to"] = (date.fromisoformat(replacement["valid_to"]) - shift).isoformat()
            event["replacement"] = replacement
        request = AppendRequest.model_validate({"events": [event]})
        async with maker() as session, session.begin():
            await append_events(
                session, principal=SYSTEM, events=request.events, source="bench", now=datetime.now(UTC)
            )
        done += 1
        if done % 10_000 == 0:
            print(f"  {done} single-event txs", flush=True)
    return done


async def _period_scan(session: AsyncSession, *, tx_seq: int, valid_at: date) -> dict[str, int]:
    """The reference the projection must beat: a count over every coverage period known then."""
    rows = await raw.execute(
        session,
        """
        SELECT split_part(region_code, '.', 1) || '.' || split_part(region_code, '.', 2) AS child,
               count(*) AS covered
          FROM coverage_span
         WHERE tx_from <= %(tx)s AND (tx_to IS NULL OR tx_to > %(tx)s)
           AND valid_from <= %(day)s AND valid_to > %(day)s AND region_code LIKE '16.%%'
         GROUP BY 1
        """,
        {"tx": tx_seq, "day": valid_at},
    )
    return {row.child: int(row.covered) for row in rows}


async def _measure(url: str, sizes: dict[str, int]) -> dict[str, Any]:
    engine = create_engine_for(url, pool_size=2)
    maker = session_factory(engine)
    with tempfile.TemporaryDirectory(prefix="bench-rosters-") as tmp:
        figures: dict[str, Any] = {"load": await _load(maker, sizes, Path(tmp))}
    print("  measuring", flush=True)
    rng = random.Random(7)
    fast: list[float] = []
    periods: list[float] = []
    oracle: list[float] = []
    async with maker() as session:
        head = (await repository.read_head(session)).tx_seq  # type: ignore[union-attr]  # genesis is written
        figures["periods"] = await raw.scalar(session, "SELECT count(*) FROM coverage_span")
        first = await raw.scalar(session, "SELECT min(tx_from) FROM coverage_span")
        for pair in range(sizes["pairs"]):
            valid_at = date(2023, 1, 1) + timedelta(days=rng.randrange(730))
            as_of = AsOf(valid_at=valid_at, known_at=None, tx_seq=rng.randrange(first, head + 1))
            begun = time.perf_counter()
            figure = await region_coverage(
                session, principal=SYSTEM, code=PROVINCE, as_of=as_of, segment="all"
            )
            fast.append(time.perf_counter() - begun)
            begun = time.perf_counter()
            scanned = await _period_scan(session, tx_seq=as_of.tx_seq, valid_at=valid_at)
            periods.append(time.perf_counter() - begun)
            children = {c.region_code: c.covered for c in figure.children if c.covered}
            assert children == scanned, (as_of, children, scanned)
            if pair < sizes["oracle_pairs"]:
                begun = time.perf_counter()
                reference = await region_coverage(
                    session, principal=SYSTEM, code=PROVINCE, as_of=as_of, segment="all", by_scan=True
                )
                oracle.append(time.perf_counter() - begun)
                assert reference.region.covered == figure.region.covered, as_of
        series: list[float] = []
        for _ in range(5):
            begun = time.perf_counter()
            await region_coverage_on_days(
                session,
                principal=SYSTEM,
                code=PROVINCE,
                tx_seq=rng.randrange(first, head + 1),
                days=months_between(date(2023, 1, 1), date(2024, 12, 1)),
                segment="all",
            )
            series.append(time.perf_counter() - begun)
        figures["delta_rows"] = await raw.scalar(session, "SELECT count(*) FROM coverage_delta")
        figures["checkpoint_rows"] = await raw.scalar(session, "SELECT count(*) FROM coverage_checkpoint")
    await engine.dispose()

    def ms(samples: list[float]) -> dict[str, float]:
        return {
            "p50": round(statistics.median(samples) * 1000, 1),
            "p99": round(percentile(samples, 99) * 1000, 1),
        }

    figures |= {
        "province_ratio_ms": ms(fast),
        "period_scan_ms": ms(periods),
        "speedup_p50": round(statistics.median(periods) / statistics.median(fast), 1),
        "plain_scan_oracle_ms": (ms(oracle) if oracle else {}) | {"samples": len(oracle)},
        "series_24_months_ms": ms(series),
    }
    return figures


def run(*, size: str) -> dict[str, Any]:
    """Fill a ledger with rosters and corrections, then time province ratios and series."""
    with bench_database("bench_regions") as url:
        return uvloop.run(_measure(url, SIZES[size]))
