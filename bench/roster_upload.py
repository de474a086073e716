"""Issue 4: a committee roster (CSV, then XLSX) from upload to `succeeded` on a served app,
against a raw COPY of the same rows into an unindexed table; the server's peak memory."""

import csv
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import psycopg
import xlsxwriter

from bench.common import bench_database, libpq, serve
from coverage_ledger.uploads.officer_rows import REQUIRED_COLUMNS

SIZES = {"small": 100_000, "full": 1_000_000}
HEADER = [*REQUIRED_COLUMNS, "registered_on"]
DISTRICTS = [("167101", "16.71.01"), ("167102", "16.71.02"), ("167103", "16.71.03"), ("167104", "16.71.04")]
PORT = 8767


def roster_rows(count: int) -> list[list[str]]:
    """`count` valid officer rows with distinct NIKs."""
    rows = []
    for index in range(count):
        born = date(1960 + index % 40, 1 + index // 40 % 12, 1 + index // 480 % 28)
        female = index % 2 == 0
        district, region = DISTRICTS[index // 13440 % len(DISTRICTS)]
        serial = 1 + index // 53760
        day = born.day + (40 if female else 0)
        person = f"{district}{day:02d}{born.month:02d}{born.year % 100:02d}{serial:04d}"
        rows.append(
            [
                person,
                f"Petugas {index}",
                born.isoformat(),
                "P" if female else "L",
                "KPPS",
                region,
                "2024-01-25",
                "2024-02-23",
                "2024-01-15",
            ]
        )
    return rows


def write_roster_csv(path: Path, rows: list[list[str]]) -> None:
    """The roster file the benchmarks upload: the header, then `rows`."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        writer.writerows(rows)


def _peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"VmHWM:\s+(\d+) kB", status)
    return round(int(found.group(1)) / 1024, 1) if found else -1.0


def upload_roster(base: str, secret: str, path: Path, filename: str) -> dict[str, Any]:
    started = time.perf_counter()
    with path.open("rb") as handle:
        response = httpx.post(
            f"{base}/v1/uploads",
            headers={"Authorization": f"Bearer {secret}"},
            files={"file": (filename, handle)},
            timeout=600,
        )
    response.raise_for_status()
    upload_id = response.json()["upload_id"]
    accepted_after = time.perf_counter() - started
    while True:
        status = httpx.get(
            f"{base}/v1/uploads/{upload_id}", headers={"Authorization": f"Bearer {secret}"}
        ).json()
        if status["status"] in {"succeeded", "failed"}:
            break
        time.sleep(0.05)
    total = time.perf_counter() - started
    assert status["status"] == "succeeded", status
    return {
        "seconds_to_succeeded": round(total, 2),
        "seconds_to_202": round(accepted_after, 2),
        "rows_accepted": status["rows_accepted"],
        "phase_seconds": status["phase_seconds"],
    }


def _raw_copy(url: str, path: Path) -> float:
    with psycopg.connect(libpq(url)) as conn:
        conn.execute(
            "CREATE UNLOGGED TABLE IF NOT EXISTS raw_roster (nik text, name text, birth_date text, sex text, "
            "role text, region_code text, term_start text, term_end text, registered_on text)"
        )
        conn.execute("TRUNCATE raw_roster")
        conn.commit()
        started = time.perf_counter()
        with (
            conn.cursor() as cursor,
            cursor.copy("COPY raw_roster FROM STDIN (FORMAT csv, HEADER true)") as copy,
            path.open("rb") as handle,
        ):
            while block := handle.read(1 << 20):
                copy.write(block)
        conn.commit()
        return time.perf_counter() - started


def new_key(url: str, *options: str) -> str:
    """A new key's secret; `options` of `keys create` (default: the committee KPU-16.71)."""
    env = os.environ | {"DATABASE_URL": url}
    options = options or ("--role", "committee", "--region", "16.71", "--org", "KPU-16.71")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "coverage_ledger",
            "keys",
            "create",
            *options,
            "--name",
            f"bench-{time.time_ns()}",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.strip().splitlines()[-1].strip()


def run(*, size: str) -> dict[str, Any]:
    """Measure and return the figures."""
    count = SIZES[size]
    results: dict[str, Any] = {"rows": count}
    with tempfile.TemporaryDirectory(prefix="roster-bench-") as tmp, bench_database("bench_roster") as url:
        rows = roster_rows(count)
        csv_path = Path(tmp) / "roster.csv"
        write_roster_csv(csv_path, rows)
        results["csv_megabytes"] = round(csv_path.stat().st_size / 1e6, 1)
        results["raw_copy_seconds"] = round(_raw_copy(url, csv_path), 2)
        secret = new_key(url)
        env_dir = Path(tmp) / "uploads"
        os.environ["LEDGER_UPLOAD_DIR"] = str(env_dir)
        log = Path(__file__).parent / "results" / "roster_upload-server.log"
        log.parent.mkdir(exist_ok=True)
        server = serve([sys.executable, "-m", "coverage_ledger", "serve"], url, PORT, log=log)
        try:
            base = f"http://127.0.0.1:{PORT}"
            results["server_rss_mb_before"] = _peak_rss_mb(server.pid)
            results["csv"] = upload_roster(base, secret, csv_path, "roster.csv")
            results["csv"]["x_raw_copy"] = round(
                results["csv"]["seconds_to_succeeded"] / results["raw_copy_seconds"], 1
            )
            results["server_peak_rss_mb_after_csv"] = _peak_rss_mb(server.pid)
            xlsx_path = Path(tmp) / "roster.xlsx"
            started = time.perf_counter()
            workbook = xlsxwriter.Workbook(str(xlsx_path), {"constant_memory": True})
            sheet = workbook.add_worksheet()
            sheet.write_row(0, 0, HEADER)
            for index, row in enumerate(rows, start=1):
                # other terms, so the XLSX rows are new enrolments, not duplicates of the CSV's
                sheet.write_row(index, 0, [*row[:6], "2024-11-07", "2024-12-08", "2024-11-01"])
            workbook.close()
            results["xlsx_build_seconds"] = round(time.perf_counter() - started, 1)
            results["xlsx"] = upload_roster(base, secret, xlsx_path, "roster.xlsx")
            results["server_peak_rss_mb_after_xlsx"] = _peak_rss_mb(server.pid)
            converted = re.findall(r'"peak_rss_mb": ([0-9.]+)', log.read_text())
            results["xlsx_reader_child_peak_rss_mb"] = float(converted[-1]) if converted else None
        finally:
            server.terminate()
            server.wait(timeout=60)
    return results
