"""Sponsor rosters: a file of N workers (each registered, enrolled in BPU and paid for three
months) from upload to `succeeded` on a served app; the server's peak memory, how long a status
poll waited meanwhile (the rows are checked on the event loop, a chunk at a time), and how long
another writer's one-event append waited (the append lock)."""

import io
import sys
import time
from datetime import date
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import httpx

from bench.common import bench_database, serve
from bench.roster_upload import PORT, _peak_rss_mb, new_key

SIZES = {"small": 20_000, "full": 100_000}
HEADER = (
    "nik,name,birth_date,sex,region_code,programs,declared_income,sector,months_from,months_to,"
    "amount,budget,paid_on,registered_on"
)


def sponsor_csv(count: int) -> bytes:
    """`count` valid rows with distinct NIKs in Ilir Barat Dua, Palembang."""
    out = io.StringIO()
    out.write(HEADER + "\n")
    for index in range(count):
        born = date(1960 + index % 40, 1 + index // 40 % 12, 1 + index // 480 % 28)
        person = f"167101{born.day:02d}{born.month:02d}{born.year % 100:02d}{1 + index // 13440:04d}"
        out.write(
            f"{person},Pekerja {index},{born.isoformat()},L,16.71.01,JKK JKM,1000000,other,"
            "2025-01,2025-03,50400,APBD,2025-01-10,2025-01-01\n"
        )
    return out.getvalue().encode()


def _other_writers_event(index: int) -> dict[str, str]:
    """A registration another writer appends during the upload (serials the file does not use)."""
    return {
        "event_id": f"other-writer-{index}",
        "type": "person.registered",
        "nik": f"1671011005809{index % 1000:03d}",
        "name": "Penulis Lain",
        "region_code": "16.71.01",
    }


def run(*, size: str) -> dict[str, Any]:
    """Run the sponsor-roster benchmark at a size."""
    rows = SIZES[size]
    content = sponsor_csv(rows)
    port = PORT + 1
    with bench_database("bench_sponsor") as url, TemporaryDirectory() as scratch:
        secret = new_key(url, "--role", "sponsor", "--region", "16", "--org", "Pemprov Sumsel", "--name", "s")
        log = Path(scratch) / "serve.log"
        server = serve(
            [sys.executable, "-m", "coverage_ledger", "serve", "--port", str(port)], url, port, log
        )
        try:
            base = f"http://127.0.0.1:{port}"
            headers = {"Authorization": f"Bearer {secret}"}
            before = _peak_rss_mb(server.pid)
            started = time.perf_counter()
            response = httpx.post(
                f"{base}/v1/uploads",
                headers=headers,
                files={"file": ("sponsor.csv", content)},
                data={"kind": "sponsor_roster"},
                timeout=600,
            )
            response.raise_for_status()
            upload_id = response.json()["upload_id"]
            slowest_poll = 0.0
            appends: list[float] = []
            gave_up = 0
            while True:
                polled = time.perf_counter()
                status = httpx.get(f"{base}/v1/uploads/{upload_id}", headers=headers, timeout=120).json()
                slowest_poll = max(slowest_poll, time.perf_counter() - polled)
                if status["status"] in {"succeeded", "failed"}:
                    break
                if status["status"] == "committing":
                    appended = time.perf_counter()
                    answer = httpx.post(
                        f"{base}/v1/events",
                        headers=headers,
                        json={"events": [_other_writers_event(len(appends))]},
                        timeout=600,
                    )
                    if answer.status_code == 503:  # waited LEDGER_APPEND_WAIT_SECONDS: gave up
                        gave_up += 1
                    else:
                        answer.raise_for_status()
                    appends.append(time.perf_counter() - appended)
                time.sleep(0.2)
            assert status["status"] == "succeeded", status
            return {
                "rows": rows,
                "seconds_to_succeeded": round(time.perf_counter() - started, 2),
                "phase_seconds": status["phase_seconds"],
                "txs": status["outcome"].get("txs"),
                "server_rss_mb_before": before,
                "server_peak_rss_mb": _peak_rss_mb(server.pid),
                "slowest_status_poll_seconds": round(slowest_poll, 2),
                "other_writer_appends_while_writing": len(appends),
                "slowest_other_writer_append_seconds": round(max(appends, default=0.0), 2),
                "other_writer_appends_answered_busy": gave_up,
            }
        finally:
            server.terminate()
            server.wait(30)
