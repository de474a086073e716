"""An auditor's own check: the chain recomputed from the NDJSON export alone (with an
independent RFC 8785 implementation), a proof from an archived head, and both failing at the tx
whose past event was altered behind the guard."""

import hashlib
import json
from typing import Any

import rfc8785
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.claims_support import append, kpps_2024
from tests.support import Keys, append_in_savepoint, corrected, nik, registered

GENESIS_PREV = "0" * 64


def _sha(value: Any) -> str:
    return hashlib.sha256(rfc8785.dumps(value)).hexdigest()


def recompute(ndjson: str) -> tuple[list[dict[str, Any]], int | None]:
    """The tx headers of an export, and the first tx whose events or hash do not check out."""
    txs: list[dict[str, Any]] = []
    events: dict[int, list[dict[str, Any]]] = {}
    for line in ndjson.splitlines():
        item = json.loads(line)
        if "tx" in item:
            txs.append(item["tx"])
            events[item["tx"]["tx_seq"]] = []
        else:
            events[txs[-1]["tx_seq"]].append(item["event"])
    previous = GENESIS_PREV
    for tx in txs:
        digests = [
            _sha({"event_id": e["event_id"], "type": e["type"], **e["payload"]}) for e in events[tx["tx_seq"]]
        ]
        header = {k: tx[k] for k in ("tx_seq", "recorded_at", "prev_hash", "actor", "source", "backfill")}
        if (
            digests != tx["event_digests"]
            or tx["prev_hash"] != previous
            or _sha(header | {"event_digests": digests}) != tx["hash"]
        ):
            return txs, tx["tx_seq"]
        previous = tx["hash"]
    return txs, None


async def test_the_export_alone_recomputes_the_chain_and_a_proof_extends_an_archived_head(
    client: AsyncClient, keys: Keys, session: AsyncSession
) -> None:
    auditor = Keys.header(keys.auditor)
    first = await kpps_2024(client, keys)
    archived = (await client.get("/v1/ledger/head", headers=auditor)).json()
    await kpps_2024(client, keys)
    await append(client, keys.office, corrected("fix-proof", [f"kpps-{first}"], reason="never served"))
    head = (await client.get("/v1/ledger/head", headers=auditor)).json()

    export = await client.get("/v1/ledger/export", headers=auditor)
    assert export.status_code == 200 and export.headers["content-type"].startswith("application/x-ndjson")
    txs, broken = recompute(export.text)
    assert broken is None
    assert (txs[-1]["tx_seq"], txs[-1]["hash"]) == (head["tx_seq"], head["hash"])
    assert any(tx["backfill"] is False for tx in txs)
    part = await client.get("/v1/ledger/export", params={"from_tx": 2, "to_tx": 3}, headers=auditor)
    assert [json.loads(line)["tx"]["tx_seq"] for line in part.text.splitlines() if '"tx"' in line[:6]] == [
        2,
        3,
    ]

    proof = await client.get("/v1/ledger/proof", params={"from_hash": archived["hash"]}, headers=auditor)
    assert proof.status_code == 200, proof.text
    # hex has no case: the same head read back in capitals proves the same
    shouted = await client.get(
        "/v1/ledger/proof", params={"from_hash": archived["hash"].upper()}, headers=auditor
    )
    assert shouted.status_code == 200 and shouted.text == proof.text
    lines = [json.loads(line) for line in proof.text.splitlines()]
    assert lines[0]["proof"]["from_tx_seq"] == archived["tx_seq"]
    previous = archived["hash"]
    for item in lines[1:]:
        header = {k: v for k, v in item["tx"].items() if k != "hash"}
        assert header["prev_hash"] == previous and _sha(header) == item["tx"]["hash"]
        previous = item["tx"]["hash"]
    assert previous == head["hash"]

    # a past event altered behind the guard: the export, verify and the proof all fail at its tx
    await session.execute(text("SET LOCAL ROLE NONE"))  # as the owner: the service's role may not
    await session.execute(text("ALTER TABLE ledger_event DISABLE TRIGGER ledger_event_guard"))
    await session.execute(
        text(
            "UPDATE ledger_event SET payload = jsonb_set(payload, '{valid_from}', '\"2024-01-01\"') "
            "WHERE event_id = :event_id"
        ),
        {"event_id": f"kpps-{first}"},
    )
    tampered_tx = archived["tx_seq"]  # the first officer's one tx
    _, broken = recompute((await client.get("/v1/ledger/export", headers=auditor)).text)
    assert broken == tampered_tx
    verify = (await client.get("/v1/ledger/verify", headers=auditor)).json()
    assert (verify["ok"], verify["broken_tx_seq"]) == (False, tampered_tx)
    refused = await client.get("/v1/ledger/proof", params={"from_hash": archived["hash"]}, headers=auditor)
    assert refused.status_code == 409
    assert f"at tx {tampered_tx}" in refused.json()["detail"]


async def test_only_auditors_and_admins_take_proofs_and_exports(client: AsyncClient, keys: Keys) -> None:
    for secret in (keys.office, keys.committee, keys.sponsor):
        assert (await client.get("/v1/ledger/export", headers=Keys.header(secret))).status_code == 403
    unknown = await client.get(
        "/v1/ledger/proof", params={"from_hash": "a" * 64}, headers=Keys.header(keys.admin)
    )
    assert unknown.status_code == 409
    assert unknown.json()["errors"][0]["code"] == "proof_failed"
    assert (
        await client.get("/v1/ledger/proof", params={"from_hash": "xyz"}, headers=Keys.header(keys.admin))
    ).status_code == 422


async def _log_reads(session: AsyncSession) -> tuple[int, int]:
    """Scans of the whole log this transaction made, and events it read through the log's
    (tx_id, position) index."""
    row = (
        await session.execute(
            text(
                "SELECT pg_stat_get_xact_numscans('ledger_event'::regclass), "
                "pg_stat_get_xact_tuples_fetched('uq_ledger_event_tx_id_position'::regclass)"
            )
        )
    ).one()
    return row[0], row[1]


async def test_an_export_of_one_tx_reads_that_tx_alone(
    client: AsyncClient, keys: Keys, session: AsyncSession
) -> None:
    """Found by a scale probe: exporting one small tx after a 300,000-row roster took 8 s, as the
    events of every tx from `from_tx` on were read (and the next tx's built) before `to_tx` ended
    the stream. Here a tx of 3,000 registrations stands in for the roster."""
    auditor = Keys.header(keys.auditor)
    tx = await append(client, keys.office, corrected("fix-one", [f"kpps-{await kpps_2024(client, keys)}"]))
    crowd = [registered(nik(district="167102", serial=n), event_id=f"crowd-{n}") for n in range(1, 3001)]
    assert await append_in_savepoint(session, crowd) == tx + 1
    scanned, fetched = await _log_reads(session)
    one = await client.get("/v1/ledger/export", params={"from_tx": tx, "to_tx": tx}, headers=auditor)
    lines = [json.loads(line) for line in one.text.splitlines()]
    assert [line["tx"]["tx_seq"] for line in lines if "tx" in line] == [tx]
    assert [line["event"]["event_id"] for line in lines if "event" in line] == ["fix-one"]
    scanned_after, fetched_after = await _log_reads(session)
    assert scanned_after == scanned  # no scan of the whole log
    assert fetched_after - fetched < 100  # its one event, not the 3,000 after it
