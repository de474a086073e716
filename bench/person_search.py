"""`GET /v1/persons` by region, status and committee on a ledger where one regency holds nearly
every officer: the page times of a small regency's office, of its committee, of the province and
of the big regency's own districts, over HTTP on a served app."""

import csv
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from bench.common import bench_database, serve
from bench.roster_upload import HEADER, new_key, roster_rows, upload_roster, write_roster_csv

SIZES = {"small": 200_000, "full": 1_000_000}
SMALL_REGENCY_OFFICERS = 300
PORT = 8768
VALID_AT = "2024-02-14"
TERM = ("2024-01-25", "2024-02-23", "2024-01-15")
"""The small regency's officers' term and registration day: the big regency's (roster_rows)."""


def small_regency_rows() -> list[list[str]]:
    """Officers of Ogan Komering Ulu (16.01): half with NIKs issued there, half with Palembang
    NIKs that fall among the big regency's in NIK order."""
    rows = []
    for index in range(SMALL_REGENCY_OFFICERS):
        born = date(1970 + index % 30, 1 + index % 12, 1 + index % 28)
        female = index % 2 == 0
        district = "160107" if index < SMALL_REGENCY_OFFICERS // 2 else "167101"
        day = born.day + (40 if female else 0)
        person = f"{district}{day:02d}{born.month:02d}{born.year % 100:02d}{9000 + index:04d}"
        sex = "P" if female else "L"
        rows.append([person, f"Petugas OKU {index}", born.isoformat(), sex, "KPPS", "16.01.07", *TERM])
    return rows


def _pages(base: str, secret: str, params: dict[str, str], *, most: int) -> dict[str, Any]:
    """Walk up to `most` pages of a search; the time of each page."""
    seconds: list[float] = []
    found = 0
    cursor: str | None = None
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {secret}"}, timeout=600) as http:
        while len(seconds) < most:
            asked = params | {"valid_at": VALID_AT, "limit": "100"} | ({"cursor": cursor} if cursor else {})
            started = time.perf_counter()
            response = http.get("/v1/persons", params=asked)
            seconds.append(time.perf_counter() - started)
            response.raise_for_status()
            page = response.json()
            found += len(page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
    return {
        "pages": len(seconds),
        "persons": found,
        "median_page_ms": round(statistics.median(seconds) * 1000, 1),
        "slowest_page_ms": round(max(seconds) * 1000, 1),
        "total_s": round(sum(seconds), 2),
    }


def _asked_again(base: str, secret: str, params: dict[str, str], *, times: int) -> dict[str, Any]:
    """The first page of a search asked `times` times: its median and fastest time."""
    seconds: list[float] = []
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {secret}"}, timeout=600) as http:
        for _ in range(times):
            started = time.perf_counter()
            response = http.get("/v1/persons", params=params | {"valid_at": VALID_AT, "limit": "100"})
            seconds.append(time.perf_counter() - started)
            response.raise_for_status()
    return {
        "times": times,
        "persons": len(response.json()["items"]),
        "median_ms": round(statistics.median(seconds) * 1000, 1),
        "fastest_ms": round(min(seconds) * 1000, 1),
    }


def run(*, size: str) -> dict[str, Any]:
    """Measure and return the figures."""
    count = SIZES[size]
    results: dict[str, Any] = {"officers_in_16_71": count, "officers_in_16_01": SMALL_REGENCY_OFFICERS}
    with tempfile.TemporaryDirectory(prefix="search-bench-") as tmp, bench_database("bench_search") as url:
        big, small = Path(tmp) / "palembang.csv", Path(tmp) / "oku.csv"
        write_roster_csv(big, roster_rows(count))
        with small.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(HEADER)
            writer.writerows(small_regency_rows())
        palembang = new_key(url)
        oku = new_key(url, "--role", "committee", "--region", "16.01", "--org", "KPU-16.01")
        office = new_key(url, "--role", "regional_office", "--region", "16")
        west_java = new_key(url, "--role", "regional_office", "--region", "32")
        os.environ["LEDGER_UPLOAD_DIR"] = str(Path(tmp) / "uploads")
        server = serve([sys.executable, "-m", "coverage_ledger", "serve"], url, PORT)
        try:
            base = f"http://127.0.0.1:{PORT}"
            results["upload_seconds"] = upload_roster(base, palembang, big, "palembang.csv")[
                "seconds_to_succeeded"
            ]
            upload_roster(base, oku, small, "oku.csv")
            _pages(base, office, {"region": "16.01"}, most=1)  # the server's first request warms it
            searches = {
                "region 16.01 (small regency), every page": ({"region": "16.01"}, 100),
                "region 16.01, status term_ended (matches nobody)": (
                    {"region": "16.01", "status": "term_ended"},
                    100,
                ),
                "committee KPU-16.01, every page": ({"committee": "KPU-16.01"}, 100),
                "committee KPU-16.71 in region 16.01 (the big regency's committee elsewhere: nobody)": (
                    {"committee": "KPU-16.71", "region": "16.01"},
                    100,
                ),
                "region 16.71.02 (a district of the big regency), 20 pages": ({"region": "16.71.02"}, 20),
                "region 16 (the province), 20 pages": ({"region": "16"}, 20),
            }
            results["searches"] = {
                name: _pages(base, office, params, most=most) for name, (params, most) in searches.items()
            }
            # another province's key asking for the big regency's committee: nobody, and as fast
            # as for a committee that does not exist (its time told the committee's size)
            for name, committee in (("KPU-16.71", "KPU-16.71"), ("an unknown committee", "KPU-NONE")):
                results["searches"][f"province 32's key, committee {name} (nobody)"] = _asked_again(
                    base, west_java, {"committee": committee}, times=30
                )
        finally:
            server.terminate()
            server.wait(timeout=60)
    return results
