"""Issue "reports": the coverage-roster CSV of a million covered persons as of a past known_at,
streamed from a served app: time to first and last byte, rows per second, the server's memory;
then a small regency's own roster beside them, which should cost what its few rows do."""

import csv
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.common import bench_database, serve
from bench.person_search import small_regency_rows
from bench.roster_upload import HEADER, _peak_rss_mb, new_key, roster_rows, upload_roster, write_roster_csv

SIZES = {"small": 100_000, "full": 1_000_000}
PORT = 8768


def _pull(base: str, secret: str, params: dict[str, str]) -> dict[str, Any]:
    started = time.perf_counter()
    first_byte = None
    size = lines = 0
    with httpx.stream(
        "GET",
        f"{base}/v1/reports/coverage-roster",
        params=params,
        headers={"Authorization": f"Bearer {secret}"},
        timeout=600,
    ) as response:
        response.raise_for_status()
        for chunk in response.iter_bytes():
            if first_byte is None:
                first_byte = time.perf_counter() - started
            size += len(chunk)
            lines += chunk.count(b"\n")
    total = time.perf_counter() - started
    return {
        "rows": lines - 1,
        "megabytes": round(size / 1e6, 1),
        "seconds_to_first_byte": round(first_byte or 0.0, 3),
        "seconds_to_last_byte": round(total, 2),
        "rows_per_second": round((lines - 1) / total),
    }


def _small_regency(base: str, url: str, auditor: str, path: Path) -> dict[str, Any]:
    """Upload a small regency's roster (16.01) beside the big one, then pull its own report in
    each format three times; the seconds of each pull."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        writer.writerows(small_regency_rows())
    oku = new_key(url, "--role", "committee", "--region", "16.01", "--org", "KPU-16.01")
    upload_roster(base, oku, path, "oku.csv")
    figures: dict[str, Any] = {}
    for form in ("csv", "json", "xlsx"):
        params = {"valid_at": "2024-02-14", "format": form, "region": "16.01"}
        pulls = [_pull(base, auditor, params) for _ in range(3)]
        figures[f"{form}_seconds"] = [pull["seconds_to_last_byte"] for pull in pulls]
        if form == "csv":
            figures["csv_rows"] = pulls[0]["rows"]
    return figures


def run(*, size: str) -> dict[str, Any]:
    """Load the covered persons through a roster upload, then pull the report; the figures."""
    count = SIZES[size]
    results: dict[str, Any] = {"persons": count}
    with tempfile.TemporaryDirectory(prefix="report-bench-") as tmp, bench_database("bench_report") as url:
        csv_path = Path(tmp) / "roster.csv"
        write_roster_csv(csv_path, roster_rows(count))
        committee, auditor = new_key(url), new_key(url, "--role", "auditor")
        os.environ["LEDGER_UPLOAD_DIR"] = str(Path(tmp) / "uploads")
        log = Path(__file__).parent / "results" / "report_roster-server.log"
        log.parent.mkdir(exist_ok=True)
        server = serve([sys.executable, "-m", "coverage_ledger", "serve"], url, PORT, log=log)
        try:
            base = f"http://127.0.0.1:{PORT}"
            results["load"] = upload_roster(base, committee, csv_path, "roster.csv")
            past = httpx.get(f"{base}/v1/ledger/head", headers={"Authorization": f"Bearer {auditor}"}).json()
            # later knowledge, so the report is read as of a past tx
            write_roster_csv(
                csv_path, [[*row[:6], "2024-11-07", "2024-12-08", "2024-11-01"] for row in roster_rows(1_000)]
            )
            upload_roster(base, committee, csv_path, "later.csv")
            results["server_rss_mb_before"] = _peak_rss_mb(server.pid)
            params = {
                "valid_at": "2024-02-14",
                "known_at": f"tx:{past['tx_seq']}",
                "format": "csv",
                "region": "16",
            }
            results["csv"] = _pull(base, auditor, params)
            results["csv_again"] = _pull(base, auditor, params)
            results["server_peak_rss_mb_after"] = _peak_rss_mb(server.pid)
            results["small_regency"] = _small_regency(base, url, auditor, Path(tmp) / "oku.csv")
        finally:
            server.terminate()
            server.wait(timeout=60)
    return results
