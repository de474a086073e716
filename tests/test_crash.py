"""Crash safety: the server killed (SIGKILL) in the middle of a large roster upload and in the
middle of a stream of appends, then started again. No partial tx is visible, the hash chain
verifies, every acknowledged tx is there, the upload is reported failed or completes, and the
same file uploaded again commits exactly once."""

import threading
import time
from pathlib import Path

import httpx
import psycopg
import pytest

from coverage_ledger.database.engine import libpq_url
from tests.rosters import many_officers, roster_csv
from tests.served import cli_key, start_server
from tests.support import nik

pytestmark = pytest.mark.slow
ROWS = 60_000


def _enrolments(database_url: str) -> int:
    with psycopg.connect(libpq_url(database_url)) as conn:
        row = conn.execute(
            "SELECT count(*) FROM event_knowledge WHERE type = 'officer.enrolled' AND tx_to IS NULL"
        ).fetchone()
    assert row is not None
    return int(row[0])


def _wait(base: str, key: str, upload_id: str, until: set[str], seconds: float = 300) -> dict[str, object]:
    deadline = time.monotonic() + seconds
    while True:
        status: dict[str, object] = httpx.get(
            f"{base}/v1/uploads/{upload_id}", headers={"Authorization": f"Bearer {key}"}
        ).json()
        if status["status"] in until or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def test_killed_during_an_upload_and_during_appends(fresh_database: str, tmp_path: Path) -> None:
    committee = cli_key(
        fresh_database,
        "--role",
        "committee",
        "--region",
        "16.71",
        "--org",
        "KPU-16.71",
        "--name",
        "crash-kpu",
    )
    admin = cli_key(fresh_database, "--role", "admin", "--name", "crash-admin")
    roster = roster_csv(many_officers(ROWS))
    uploads = tmp_path / "uploads"

    server, base = start_server(fresh_database, uploads)
    posted = httpx.post(
        f"{base}/v1/uploads",
        files={"file": ("big.csv", roster)},
        headers={"Authorization": f"Bearer {committee}"},
        timeout=60,
    )
    assert posted.status_code == 202, posted.text
    upload_id = posted.json()["upload_id"]
    seen = _wait(base, committee, upload_id, {"committing", "succeeded", "failed"})
    server.kill()  # SIGKILL: no shutdown, no cleanup
    server.wait(timeout=30)
    assert _enrolments(fresh_database) in {0, ROWS}, "a partial upload is visible"

    server, base = start_server(fresh_database, uploads)
    try:
        final = _wait(base, committee, upload_id, {"succeeded", "failed"})
        assert final["status"] in {"succeeded", "failed"}, (seen, final)
        print(f"\nkilled while {seen['status']}; after the restart: {final['status']}")
        assert _enrolments(fresh_database) == (ROWS if final["status"] == "succeeded" else 0)
        again = httpx.post(
            f"{base}/v1/uploads",
            files={"file": ("big.csv", roster)},
            headers={"Authorization": f"Bearer {committee}"},
            timeout=60,
        )
        assert again.status_code in {200, 202}, again.text
        if again.status_code == 202:
            assert (
                _wait(base, committee, again.json()["upload_id"], {"succeeded", "failed"})["status"]
                == "succeeded"
            )
        assert _enrolments(fresh_database) == ROWS  # committed exactly once

        # appends in flight when the server dies
        acknowledged: list[int] = []
        stop = threading.Event()

        def append_batches() -> None:
            with httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {admin}"}, timeout=30
            ) as client:
                while not stop.is_set():
                    events = [
                        {
                            "event_id": f"reg-{p}",
                            "type": "person.registered",
                            "nik": p,
                            "name": "X",
                            "region_code": "16.71.01",
                        }
                        for p in (nik() for _ in range(500))
                    ]
                    try:
                        response = client.post("/v1/events", json={"events": events})
                    except httpx.TransportError:
                        return
                    if response.status_code == 200:
                        acknowledged.append(response.json()["tx_seq"])

        writer = threading.Thread(target=append_batches)
        writer.start()
        time.sleep(2.0)
        server.kill()
        server.wait(timeout=30)
        stop.set()
        writer.join(timeout=60)
        assert acknowledged, "no append was acknowledged before the kill"
        print(f"appends acknowledged before the kill: {len(acknowledged)}")
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=30)

    server, base = start_server(fresh_database, uploads)
    try:
        verify = httpx.get(  # the whole chain: give it more than httpx's 5 s default
            f"{base}/v1/ledger/verify", headers={"Authorization": f"Bearer {admin}"}, timeout=120
        ).json()
        assert verify["ok"], verify
        with psycopg.connect(libpq_url(fresh_database)) as conn:
            txs = {row[0] for row in conn.execute("SELECT tx_seq FROM ledger_tx")}
            partial = conn.execute(
                "SELECT count(*) FROM ledger_tx t WHERE t.event_count <> "
                "(SELECT count(*) FROM ledger_event e WHERE e.tx_id = t.tx_id)"
            ).fetchone()
        assert set(acknowledged) <= txs, "an acknowledged tx was lost"
        assert partial is not None and partial[0] == 0
    finally:
        server.terminate()
        server.wait(timeout=30)
