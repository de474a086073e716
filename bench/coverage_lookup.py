"""Issue "coverage rules" figures: single lookups over HTTP under wrk (the service against a bare
Starlette endpoint with the same key check and SQL, in the same run), and a 10,000-NIK batch."""

import gc
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvloop
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.common import bench_database, serve
from coverage_ledger.auth.service import create_key
from coverage_ledger.database.engine import create_engine_for, session_factory
from coverage_ledger.domain.access import SYSTEM, Role
from coverage_ledger.ledger.schemas import AppendRequest
from coverage_ledger.ledger.service import append_events

SIZES = {"small": {"persons": 50_000, "seconds": 10}, "full": {"persons": 1_000_000, "seconds": 20}}
PERSONS_PER_TX = 1_000


def person_nik(i: int) -> str:
    """Distinct valid NIKs of women in Ilir Barat Dua, Palembang."""
    day, month, year, serial = 1 + i % 28, 1 + (i // 28) % 12, (i // 336) % 100, 1 + i // 33_600
    return f"167101{day + 40:02d}{month:02d}{year:02d}{serial:04d}"


def _person_events(nik: str) -> list[dict[str, Any]]:
    base = {"type": "officer.enrolled", "nik": nik, "committee": "KPU-16.71", "region_code": "16.71.01"}
    return [
        {
            "event_id": f"r-{nik}",
            "type": "person.registered",
            "nik": nik,
            "name": "Petugas",
            "region_code": "16.71.01",
        },
        base
        | {
            "event_id": f"p-{nik}",
            "role": "PANTARLIH",
            "valid_from": "2023-02-03",
            "valid_to": "2023-03-13",
            "registered_on": "2023-01-20",
        },
        base
        | {
            "event_id": f"k-{nik}",
            "role": "KPPS",
            "valid_from": "2024-01-25",
            "valid_to": "2024-02-24",
            "registered_on": "2024-01-15",
        },
    ]


async def _load(maker: async_sessionmaker[AsyncSession], persons: int) -> float:
    started = time.perf_counter()
    for first in range(0, persons, PERSONS_PER_TX):
        events = [
            e
            for i in range(first, min(first + PERSONS_PER_TX, persons))
            for e in _person_events(person_nik(i))
        ]
        request = AppendRequest.model_validate({"events": events})
        async with maker() as session, session.begin():
            await append_events(
                session, principal=SYSTEM, events=request.events, source="bench", now=datetime.now(UTC)
            )
        if first % 100_000 == 0:
            print(f"  loaded {first + PERSONS_PER_TX:,} persons", flush=True)
    return time.perf_counter() - started


async def _prepare(url: str, persons: int) -> tuple[str, float]:
    gc.freeze()
    engine = create_engine_for(url, pool_size=2)
    maker = session_factory(engine)
    seconds = await _load(maker, persons)
    async with maker() as session, session.begin():
        _, secret = await create_key(
            session, role=Role.REGIONAL_OFFICE, name="bench-office", region_prefix="16"
        )
    await engine.dispose()
    return secret, seconds


def _wrk(
    base: str, path_prefix: str, suffix: str, secret: str, niks: list[str], seconds: int
) -> dict[str, float]:
    """wrk -t2 -c16 against `base`, each request a random NIK of `niks`."""
    lua = "niks = {" + ",".join(f'"{n}"' for n in niks) + "}\n"
    lua += f'wrk.headers["Authorization"] = "Bearer {secret}"\n'
    pick = f'"{path_prefix}" .. niks[math.random(#niks)] .. "{suffix}"'
    lua += f'request = function()\n  return wrk.format("GET", {pick})\nend\n'
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua)
    wrk = shutil.which("wrk")
    assert wrk is not None
    out = subprocess.run(
        [wrk, "-t2", "-c16", f"-d{seconds}s", "--latency", "-s", script.name, base],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    Path(script.name).unlink()

    def ms(label: str) -> float:
        match = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out)
        assert match, out
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]  # wrk always prints it
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "requests_per_s": rps,
        "p50_ms": ms("50%"),
        "p99_ms": ms("99%"),
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


def run(*, size: str) -> dict[str, Any]:
    """Run the lookup benchmark at a size."""
    if shutil.which("wrk") is None:
        return {"skipped": "wrk is not installed (Debian: apt-get install wrk)"}
    sizes = SIZES[size]
    with bench_database("bench_lookup") as url:
        secret, load_seconds = uvloop.run(_prepare(url, sizes["persons"]))
        figures: dict[str, Any] = {
            "persons": sizes["persons"],
            "coverage_periods": 2 * sizes["persons"],
            "load_seconds": round(load_seconds, 1),
        }
        sample = [person_nik(random.randrange(sizes["persons"])) for _ in range(2_000)]
        service = serve([sys.executable, "-m", "coverage_ledger", "serve"], url, 8766)
        try:
            figures["service"] = _wrk(
                "http://127.0.0.1:8766",
                "/v1/persons/",
                "/coverage?valid_at=2024-02-01",
                secret,
                sample,
                sizes["seconds"],
            )
            batch = [person_nik(random.randrange(sizes["persons"])) for _ in range(10_000)]
            timings = []
            with httpx.Client(
                base_url="http://127.0.0.1:8766", headers={"Authorization": f"Bearer {secret}"}, timeout=60
            ) as client:
                for _ in range(5):
                    started = time.perf_counter()
                    response = client.post(
                        "/v1/coverage/lookup", json={"niks": batch, "valid_at": "2024-02-01"}
                    )
                    timings.append(time.perf_counter() - started)
                    assert response.status_code == 200 and len(response.json()["results"]) == 10_000
            figures["batch_lookup_10000_s"] = {
                "best": round(min(timings), 3),
                "median": round(sorted(timings)[2], 3),
            }
        finally:
            service.terminate()
            service.wait(30)
        bare = serve(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bench.bare_lookup:app",
                "--port",
                "8767",
                "--log-level",
                "warning",
            ],
            url,
            8767,
        )
        try:
            figures["bare_starlette"] = _wrk(
                "http://127.0.0.1:8767", "/bare/", "", secret, sample, sizes["seconds"]
            )
        finally:
            bare.terminate()
            bare.wait(30)
        figures["service_share_of_bare"] = round(
            figures["service"]["requests_per_s"] / figures["bare_starlette"]["requests_per_s"], 3
        )
        return figures
