"""Shared plumbing of the benchmarks: a database, timers, the machine's description."""

import os
import platform
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
from psycopg import sql

from coverage_ledger.database.embedded import EmbeddedCluster, create_database
from coverage_ledger.database.engine import libpq_url
from coverage_ledger.database.migrate import upgrade_database


@contextmanager
def bench_database(name: str) -> Iterator[str]:
    """A migrated database with genesis: in a throwaway embedded cluster, or on DATABASE_URL's server."""
    external = os.environ.get("DATABASE_URL")
    if external:
        admin = external.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            conn.execute(create_database(name))
        url = admin.rsplit("/", 1)[0] + f"/{name}"
        upgrade_database(url)
        yield url.replace("postgresql://", "postgresql+psycopg://", 1)
        return
    with tempfile.TemporaryDirectory(prefix="ledger-bench-") as tmp:
        cluster = EmbeddedCluster(Path(tmp) / "data", throwaway=True)
        try:
            url = cluster.ensure_database(name)
            upgrade_database(url)
            yield url
        finally:
            cluster.stop()


def libpq(url: str) -> str:
    """The URL for psycopg itself."""
    return libpq_url(url)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest rank."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered)) - 1))
    return ordered[index]


def summarize_ms(samples: list[float]) -> dict[str, float]:
    """p50/p99/mean of durations in seconds, as milliseconds."""
    return {
        "p50_ms": round(statistics.median(samples) * 1000, 3),
        "p99_ms": round(percentile(samples, 99) * 1000, 3),
        "mean_ms": round(statistics.fmean(samples) * 1000, 3),
    }


def timed(fn: Callable[[], object]) -> float:
    """Seconds one call takes."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def machine() -> str:
    """A one-line description of this machine."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    system = f"{platform.system()} {platform.release()}"
    return f"{os.cpu_count()} cores ({cpu}){memory}, {system}, Python {platform.python_version()}"


def serve(command: list[str], url: str, port: int, log: Path | None = None) -> subprocess.Popen[bytes]:
    """Start a server command on `port` against `url` and wait until it answers."""
    env = os.environ | {"DATABASE_URL": url, "LEDGER_PORT": str(port)}
    sink = log.open("wb") if log is not None else subprocess.DEVNULL
    process = subprocess.Popen(command, env=env, stdout=sink, stderr=sink)
    for _ in range(300):
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=0.5)
            return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server on :{port} did not start")
