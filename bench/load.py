"""Issue "prove it holds": a bounded load run on loopback against the served app: single lookups
from several threads, appends from one, and one roster upload, all at once, for `seconds`;
throughput, p50/p99 and errors per kind, and whether the chain still verifies afterwards."""

import csv
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from bench.common import bench_database, percentile, serve
from bench.roster_upload import HEADER, new_key, roster_rows

SIZES = {
    "small": {"seconds": 60, "persons": 5_000, "upload_rows": 50_000},
    "full": {"seconds": 600, "persons": 20_000, "upload_rows": 200_000},
}
PORT = 8771
LOOKUP_THREADS = 4


def _summary(samples: list[float], errors: int, seconds: float) -> dict[str, Any]:
    return {
        "requests": len(samples) + errors,
        "per_second": round(len(samples) / seconds, 1),
        "p50_ms": round(statistics.median(samples) * 1000, 1) if samples else None,
        "p99_ms": round(percentile(samples, 99) * 1000, 1) if samples else None,
        "errors": errors,
    }


def run(*, size: str) -> dict[str, Any]:
    """Serve, seed, load for the size's seconds; the figures."""
    sizes = SIZES[size]
    with tempfile.TemporaryDirectory(prefix="load-") as tmp, bench_database("bench_load") as url:
        admin = new_key(url, "--role", "admin")
        committee = new_key(url)
        log = Path(__file__).parent / "results" / "load-server.log"
        log.parent.mkdir(exist_ok=True)
        server = serve([sys.executable, "-m", "coverage_ledger", "serve"], url, PORT, log=log)
        base = f"http://127.0.0.1:{PORT}"
        try:
            people = [row[0] for row in roster_rows(sizes["persons"] + sizes["upload_rows"])]
            seeded, to_upload = (
                people[: sizes["persons"]],
                roster_rows(sizes["persons"] + sizes["upload_rows"])[sizes["persons"] :],
            )
            with httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {admin}"}, timeout=60
            ) as client:
                for start in range(0, len(seeded), 1_000):
                    events: list[dict[str, Any]] = []
                    for person in seeded[start : start + 1_000]:
                        events += [
                            {
                                "event_id": f"r-{person}",
                                "type": "person.registered",
                                "nik": person,
                                "name": "x",
                                "region_code": "16.71.01",
                            },
                            {
                                "event_id": f"k-{person}",
                                "type": "officer.enrolled",
                                "nik": person,
                                "role": "KPPS",
                                "committee": "KPU-16.71",
                                "region_code": "16.71.01",
                                "valid_from": "2024-01-25",
                                "valid_to": "2024-02-24",
                                "registered_on": "2024-01-20",
                            },
                        ]
                    client.post("/v1/events", json={"events": events}).raise_for_status()
            roster = Path(tmp) / "roster.csv"
            with roster.open("w", newline="") as out:
                writer = csv.writer(out)
                writer.writerow(HEADER)
                writer.writerows([[*row[:6], "2024-11-07", "2024-12-08", "2024-11-01"] for row in to_upload])
            stop = threading.Event()
            results: dict[str, tuple[list[float], list[int]]] = {"lookup": ([], [0]), "append": ([], [0])}
            lock = threading.Lock()

            def lookups(seed: int) -> None:
                index = seed
                with httpx.Client(
                    base_url=base, headers={"Authorization": f"Bearer {admin}"}, timeout=30
                ) as client:
                    while not stop.is_set():
                        person = seeded[index % len(seeded)]
                        index += 7
                        started = time.perf_counter()
                        try:
                            ok = (
                                client.get(
                                    f"/v1/persons/{person}/coverage", params={"valid_at": "2024-02-01"}
                                ).status_code
                                == 200
                            )
                        except httpx.HTTPError:
                            ok = False
                        with lock:
                            if ok:
                                results["lookup"][0].append(time.perf_counter() - started)
                            else:
                                results["lookup"][1][0] += 1

            def appends() -> None:
                number = 0
                with httpx.Client(
                    base_url=base, headers={"Authorization": f"Bearer {admin}"}, timeout=30
                ) as client:
                    while not stop.is_set():
                        person = seeded[number % len(seeded)]
                        number += 1
                        event = {
                            "event_id": f"fix-{number}",
                            "type": "event.corrected",
                            "supersedes": [
                                f"k-{person}" if number <= len(seeded) else f"fix-{number - len(seeded)}"
                            ],
                            "reason": "load",
                            "replacement": {
                                "event_id": f"k2-{number}",
                                "type": "officer.enrolled",
                                "nik": person,
                                "role": "KPPS",
                                "committee": "KPU-16.71",
                                "region_code": "16.71.01",
                                "valid_from": "2024-01-26",
                                "valid_to": "2024-02-24",
                                "registered_on": "2024-01-20",
                            },
                        }
                        started = time.perf_counter()
                        try:
                            ok = client.post("/v1/events", json={"events": [event]}).status_code == 200
                        except httpx.HTTPError:
                            ok = False
                        with lock:
                            if ok:
                                results["append"][0].append(time.perf_counter() - started)
                            else:
                                results["append"][1][0] += 1
                        if number >= len(seeded):
                            return  # each seeded person corrected once

            threads = [threading.Thread(target=lookups, args=(i,)) for i in range(LOOKUP_THREADS)] + [
                threading.Thread(target=appends)
            ]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            upload_started = time.perf_counter()
            with roster.open("rb") as handle:
                posted = httpx.post(
                    f"{base}/v1/uploads",
                    files={"file": ("roster.csv", handle)},
                    headers={"Authorization": f"Bearer {committee}"},
                    timeout=600,
                )
            upload_id = posted.json()["upload_id"]
            upload_status: dict[str, Any] = {}
            while time.perf_counter() - started < sizes["seconds"]:
                if not upload_status or upload_status.get("status") not in {"succeeded", "failed"}:
                    upload_status = httpx.get(
                        f"{base}/v1/uploads/{upload_id}", headers={"Authorization": f"Bearer {committee}"}
                    ).json()
                    if upload_status["status"] in {"succeeded", "failed"}:
                        upload_status["seconds"] = round(time.perf_counter() - upload_started, 1)
                time.sleep(0.5)
            stop.set()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
            verify = httpx.get(
                f"{base}/v1/ledger/verify", headers={"Authorization": f"Bearer {admin}"}, timeout=600
            ).json()
            return {
                "seconds": round(elapsed, 1),
                "lookup_threads": LOOKUP_THREADS,
                "lookups": _summary(results["lookup"][0], results["lookup"][1][0], elapsed),
                "appends": _summary(results["append"][0], results["append"][1][0], elapsed),
                "upload": {
                    k: upload_status.get(k) for k in ("status", "rows_total", "rows_accepted", "seconds")
                },
                "verify": {k: verify.get(k) for k in ("ok", "txs_checked")},
            }
        finally:
            server.terminate()
            server.wait(timeout=60)
