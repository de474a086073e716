"""Issue "ledger core" figures: as-of lookups with deep correction history, append throughput."""

import asyncio
import gc
import multiprocessing
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import httpx
import uvicorn
import uvloop
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.common import bench_database, summarize_ms
from coverage_ledger.app import create_app
from coverage_ledger.auth.service import create_key
from coverage_ledger.coverage.service import person_coverage
from coverage_ledger.database.engine import create_engine_for, session_factory
from coverage_ledger.domain.access import SYSTEM, Role
from coverage_ledger.ledger import projections_repository
from coverage_ledger.ledger.asof import AsOf
from coverage_ledger.ledger.schemas import AppendRequest
from coverage_ledger.ledger.service import append_events

SIZES = {
    "small": {"corrections": 300, "persons": 2_000, "batches": 4, "lookups": 300},
    "full": {"corrections": 1_000, "persons": 10_000, "batches": 10, "lookups": 1_000},
}


def person_nik(i: int) -> str:
    """Distinct valid NIKs in Ilir Barat Dua, Palembang (16.71.01)."""
    day = 1 + i % 28
    year = 60 + (i // 28) % 40
    return f"167101{day + 40:02d}01{year:02d}{1 + i // 1120:04d}"


def registration(nik: str) -> dict[str, Any]:
    return {
        "event_id": f"reg-{nik}",
        "type": "person.registered",
        "nik": nik,
        "name": "Peserta",
        "region_code": "16.71.01",
    }


def enrolment(nik: str, event_id: str) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": "officer.enrolled",
        "nik": nik,
        "role": "KPPS",
        "committee": "KPU-16.71",
        "region_code": "16.71.01",
        "valid_from": "2024-01-25",
        "valid_to": "2024-02-24",
        "registered_on": "2024-01-15",
    }


def correction(event_id: str, target: str, replacement: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": "event.corrected",
        "supersedes": [target],
        "replacement": replacement,
        "reason": "bench",
    }


async def append(maker: async_sessionmaker[AsyncSession], events: list[dict[str, Any]]) -> int:
    request = AppendRequest.model_validate({"events": events})
    async with maker() as session, session.begin():
        result = await append_events(
            session, principal=SYSTEM, events=request.events, source="bench", now=datetime.now(UTC)
        )
    return result.tx_seq


async def _measure(url: str, sizes: dict[str, int]) -> dict[str, Any]:
    gc.freeze()  # as the service does once started (see app.py)
    engine = create_engine_for(url, pool_size=WRITERS)
    maker = session_factory(engine)
    figures: dict[str, Any] = {}

    # batches of 1,000 events: registrations and enrolments of new persons
    persons = sizes["persons"]
    niks = [person_nik(i) for i in range(persons + 2)]
    started = time.perf_counter()
    events_written = 0
    for chunk in range(0, persons, 500):
        batch: list[dict[str, Any]] = []
        for nik in niks[chunk : chunk + 500]:
            batch += [registration(nik), enrolment(nik, f"enrol-{nik}")]
        await append(maker, batch)
        events_written += len(batch)
    elapsed = time.perf_counter() - started
    figures["batch_1000_events_per_s"] = round(events_written / elapsed)

    # batches of 1,000 corrections (each with its replacement)
    samples = []
    for round_ in range(sizes["batches"]):
        batch = [
            correction(
                f"bfix-{round_}-{nik}",
                f"enrol-{nik}" if round_ == 0 else f"brepl-{round_ - 1}-{nik}",
                enrolment(nik, f"brepl-{round_}-{nik}"),
            )
            for nik in niks[:1000]
        ]
        samples.append(await _timed_append(maker, batch))
    figures["batch_1000_corrections_per_s"] = round(1000 * len(samples) / sum(samples))

    # single-correction txs, one writer, each its own committed tx
    a, b = niks[persons], niks[persons + 1]
    await append(maker, [registration(a), enrolment(a, "a-0"), registration(b), enrolment(b, "b-0")])
    history: list[int] = []
    started = time.perf_counter()
    for i in range(1, sizes["corrections"] + 1):
        history.append(await append(maker, [correction(f"b-fix-{i}", f"b-{i - 1}", enrolment(b, f"b-{i}"))]))
    elapsed = time.perf_counter() - started
    figures["single_correction_txs_per_s"] = round(sizes["corrections"] / elapsed)
    figures["concurrent_single_correction_txs_per_s"] = await _concurrent_corrections(
        maker, niks[:WRITERS], sizes
    )
    figures["two_processes_single_correction_txs_per_s"] = _two_processes(
        url, niks[WRITERS : 2 * WRITERS], sizes
    )

    # as-of lookups: person A (one enrolment) vs person B (one enrolment corrected N times)
    rng = random.Random(7)
    head = history[-1]
    figures["lookup_service"] = {}
    figures["lookup_sql"] = {}
    for label, nik in (("one_enrolment", a), (f"{sizes['corrections']}_corrections", b)):
        picks: tuple[tuple[str, Callable[[], int]], ...] = (
            ("now", lambda: head),
            ("past", lambda: rng.choice(history)),
        )
        for when, pick in picks:
            service_samples, sql_samples = [], []
            async with maker() as session:
                for _ in range(sizes["lookups"]):
                    as_of = AsOf(date(2024, 2, 1), None, pick())
                    t0 = time.perf_counter()
                    await person_coverage(session, principal=SYSTEM, nik=nik, as_of=as_of)
                    service_samples.append(time.perf_counter() - t0)
                    t0 = time.perf_counter()
                    await projections_repository.in_force_events_of(
                        session,
                        niks=[nik],
                        types=["person.registered", "officer.enrolled"],
                        tx_seq=as_of.tx_seq,
                    )
                    sql_samples.append(time.perf_counter() - t0)
            figures["lookup_service"][f"{label}@{when}"] = summarize_ms(service_samples)
            figures["lookup_sql"][f"{label}@{when}"] = summarize_ms(sql_samples)
    async with maker() as session, session.begin():
        _, secret = await create_key(session, role=Role.ADMIN, name="bench")
    await engine.dispose()
    figures["lookup_http"] = _http_lookups(url, secret, a, b, history, sizes)
    return figures


WRITERS = 6


async def _concurrent_corrections(
    maker: async_sessionmaker[AsyncSession], niks: list[str], sizes: dict[str, int]
) -> int:
    """Single-correction txs/s with several writers at once, each correcting its own person."""
    per_writer = sizes["corrections"] // len(niks)

    async def writer(nik: str) -> None:
        previous = f"brepl-{sizes['batches'] - 1}-{nik}"
        for i in range(per_writer):
            await append(maker, [correction(f"cfix-{i}-{nik}", previous, enrolment(nik, f"crepl-{i}-{nik}"))])
            previous = f"crepl-{i}-{nik}"

    started = time.perf_counter()
    await asyncio.gather(*(writer(nik) for nik in niks))
    return round(per_writer * len(niks) / (time.perf_counter() - started))


def _process_writers(url: str, niks: list[str], per_writer: int, last_batch: int, start: Any) -> None:
    """One process of `_two_processes`: its writers, each correcting its own person."""

    async def main() -> None:
        engine = create_engine_for(url, pool_size=len(niks))
        maker = session_factory(engine)
        start.wait()

        async def writer(nik: str) -> None:
            previous = f"brepl-{last_batch}-{nik}"
            for i in range(per_writer):
                await append(
                    maker, [correction(f"pfix-{i}-{nik}", previous, enrolment(nik, f"prepl-{i}-{nik}"))]
                )
                previous = f"prepl-{i}-{nik}"

        await asyncio.gather(*(writer(nik) for nik in niks))
        await engine.dispose()

    uvloop.run(main())


def _two_processes(url: str, niks: list[str], sizes: dict[str, int]) -> int:
    """Single-correction txs/s from two processes of three writers (as `uvicorn --workers 2` would)."""
    per_writer = sizes["corrections"] // len(niks)
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    halves = [niks[: len(niks) // 2], niks[len(niks) // 2 :]]
    processes = [
        context.Process(target=_process_writers, args=(url, half, per_writer, sizes["batches"] - 1, start))
        for half in halves
    ]
    for process in processes:
        process.start()
    time.sleep(3)  # let both import and connect before the clock starts
    started = time.perf_counter()
    start.set()
    for process in processes:
        process.join()
        if process.exitcode != 0:
            raise RuntimeError(f"a writer process failed (exit code {process.exitcode})")
    return round(per_writer * len(niks) / (time.perf_counter() - started))


async def _timed_append(maker: async_sessionmaker[AsyncSession], events: list[dict[str, Any]]) -> float:
    started = time.perf_counter()
    await append(maker, events)
    return time.perf_counter() - started


def _http_lookups(
    url: str, secret: str, a: str, b: str, history: list[int], sizes: dict[str, int]
) -> dict[str, Any]:
    app = create_app(database_url=url, pool_size=4)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=8765, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    rng = random.Random(11)
    results: dict[str, Any] = {}
    try:
        with httpx.Client(
            base_url="http://127.0.0.1:8765", headers={"Authorization": f"Bearer {secret}"}
        ) as client:
            for label, nik in (("one_enrolment", a), (f"{sizes['corrections']}_corrections", b)):
                for when in ("now", "past"):
                    samples = []
                    for _ in range(sizes["lookups"]):
                        known = "" if when == "now" else f"&known_at=tx:{rng.choice(history)}"
                        t0 = time.perf_counter()
                        response = client.get(f"/v1/persons/{nik}/coverage?valid_at=2024-02-01{known}")
                        samples.append(time.perf_counter() - t0)
                        assert response.status_code == 200, response.text
                    results[f"{label}@{when}"] = summarize_ms(samples)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    return results


def run(*, size: str) -> dict[str, Any]:
    """Run the ledger-core benchmark at a size."""
    with bench_database("bench_ledger_core") as url:
        # uvloop: the event loop uvicorn runs the service on
        return uvloop.run(_measure(url, SIZES[size]))
