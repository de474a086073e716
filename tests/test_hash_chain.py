"""The hash chain: verify recomputes every digest and link and names the first broken tx."""

from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.canonical import GENESIS_PREV_HASH, event_digest, tx_hash
from coverage_ledger.domain.timeframes import format_instant
from coverage_ledger.ledger.verification import verify_ledger
from tests.support import Keys, enrolled, nik, registered


async def _append_three(client: AsyncClient, keys: Keys) -> list[int]:
    seqs = []
    for i in range(3):
        person = nik()
        response = await client.post(
            "/v1/events",
            json={
                "events": [
                    registered(person),
                    enrolled(
                        person, event_id=f"chain-{person}-{i}", valid_from="2024-01-25", valid_to="2024-02-24"
                    ),
                ]
            },
            headers=Keys.header(keys.admin),
        )
        seqs.append(response.json()["tx_seq"])
    return seqs


async def test_an_intact_ledger_verifies(client: AsyncClient, keys: Keys, session: AsyncSession) -> None:
    seqs = await _append_three(client, keys)
    report = await verify_ledger(session)
    assert report.ok, report
    assert report.head_tx_seq == seqs[-1] == report.txs_checked
    response = await client.get("/v1/ledger/verify", headers=Keys.header(keys.auditor))
    assert response.json() == {
        "ok": True,
        "txs_checked": seqs[-1],
        "head_tx_seq": seqs[-1],
        "head_hash": report.head_hash,
        "broken_tx_seq": None,
        "reason": None,
    }


async def test_the_stored_hash_is_the_documented_header_hash(session: AsyncSession) -> None:
    """An independent recomputation of tx 1 from the contract's header definition."""
    tx = (await session.execute(text("SELECT * FROM ledger_tx WHERE tx_seq = 1"))).one()
    events = (
        await session.execute(
            text("SELECT event_id, type, payload FROM ledger_event WHERE tx_id = :t ORDER BY position"),
            {"t": tx.tx_id},
        )
    ).all()
    digests = [event_digest(e.event_id, e.type, e.payload) for e in events]
    assert tx.prev_hash == GENESIS_PREV_HASH
    assert format_instant(tx.recorded_at) == "1999-12-31T17:00:00.000000Z"  # 2000-01-01T00:00+07:00
    assert tx.backfill is True
    assert tx.hash == tx_hash(
        tx_seq=1,
        recorded_at=format_instant(tx.recorded_at),
        prev_hash=tx.prev_hash,
        actor=tx.actor,
        source=tx.source,
        backfill=tx.backfill,
        event_digests=digests,
    )


async def _tamper(session: AsyncSession, table: str, statement: str, params: dict[str, Any]) -> None:
    """Change the log as its owner (a superuser here) could, with the guard trigger disabled; the
    service's own role may do neither."""
    await session.execute(text("SET LOCAL ROLE NONE"))
    await session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {table}_guard"))
    await session.execute(text(statement), params)
    await session.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER {table}_guard"))
    await session.execute(text("SET LOCAL ROLE ledger_writer"))


@pytest.mark.parametrize(
    "what",
    [
        "event payload",
        "a float in a payload",
        "a list for a payload",
        "a number past a float's range",
        "recorded_at",
        "actor",
        "dropped event",
    ],
)
async def test_tampering_is_found_at_that_tx(
    client: AsyncClient, keys: Keys, session: AsyncSession, what: str
) -> None:
    seqs = await _append_three(client, keys)
    victim = seqs[1]
    tx_id = (
        await session.execute(text("SELECT tx_id FROM ledger_tx WHERE tx_seq = :n"), {"n": victim})
    ).scalar_one()
    if what == "event payload":
        await _tamper(
            session,
            "ledger_event",
            "UPDATE ledger_event SET payload = jsonb_set(payload, '{valid_from}', '\"2024-01-01\"') "
            "WHERE tx_id = :t AND type = 'officer.enrolled'",
            {"t": tx_id},
        )
    elif what == "a float in a payload":
        # outside what the ledger stores: verify named no tx but raised (a traceback, a 500)
        await _tamper(
            session,
            "ledger_event",
            "UPDATE ledger_event SET payload = payload || '{\"wage\": 1100000.5}' "
            "WHERE tx_id = :t AND type = 'officer.enrolled'",
            {"t": tx_id},
        )
    elif what == "a list for a payload":
        await _tamper(
            session,
            "ledger_event",
            "UPDATE ledger_event SET payload = '[1, 2]' WHERE tx_id = :t AND type = 'officer.enrolled'",
            {"t": tx_id},
        )
    elif what == "a number past a float's range":
        # the decoder refused it before verify saw the row (found by a review)
        await _tamper(
            session,
            "ledger_event",
            "UPDATE ledger_event SET payload = payload || '{\"wage\": 1e400}' "
            "WHERE tx_id = :t AND type = 'officer.enrolled'",
            {"t": tx_id},
        )
    elif what == "recorded_at":
        await _tamper(
            session,
            "ledger_tx",
            "UPDATE ledger_tx SET recorded_at = recorded_at - interval '1 microsecond' WHERE tx_seq = :n",
            {"n": victim},
        )
    elif what == "actor":
        await _tamper(
            session,
            "ledger_tx",
            "UPDATE ledger_tx SET actor = 'key:someone-else' WHERE tx_seq = :n",
            {"n": victim},
        )
    else:
        await _tamper(
            session,
            "ledger_event",
            "DELETE FROM ledger_event WHERE tx_id = :t AND position = 1",
            {"t": tx_id},
        )
    report = await verify_ledger(session)
    assert not report.ok
    assert report.broken_tx_seq == victim
    assert report.txs_checked == victim - 1
    response = await client.get("/v1/ledger/verify", headers=Keys.header(keys.admin))
    assert response.json()["broken_tx_seq"] == victim
    # the head is the ledger's, not the broken tx; its hash is not vouched for
    assert (response.json()["head_tx_seq"], response.json()["head_hash"]) == (seqs[-1], None)


@pytest.mark.parametrize(
    "what", ["nik column", "vault fields", "a float in the vault", "a number past a float's"]
)
async def test_a_changed_column_that_reads_rely_on_is_found_at_that_tx(
    client: AsyncClient, keys: Keys, session: AsyncSession, what: str
) -> None:
    """The NIK column chooses whose history an event appears in, the vault holds the name the
    history shows: neither is digested itself, both must agree with what is."""
    seqs = await _append_three(client, keys)
    victim = seqs[1]
    tx_id = (
        await session.execute(text("SELECT tx_id FROM ledger_tx WHERE tx_seq = :n"), {"n": victim})
    ).scalar_one()
    if what == "nik column":
        await _tamper(
            session,
            "ledger_event",
            "UPDATE ledger_event SET nik = '1671015203880032' WHERE tx_id = :t AND type = 'officer.enrolled'",
            {"t": tx_id},
        )
    else:
        value = {"vault fields": '"Mallory"', "a float in the vault": "1.5"}.get(what, "1e400")
        await session.execute(
            text(
                "UPDATE person_vault SET fields = jsonb_set(fields, '{name}', CAST(:value AS jsonb)) "
                "WHERE event_id IN (SELECT event_id FROM ledger_event WHERE tx_id = :t)"
            ),
            {"t": tx_id, "value": value},
        )
    report = await verify_ledger(session)
    assert not report.ok and report.broken_tx_seq == victim, report


async def test_a_replacement_cut_from_its_correction_is_found(
    client: AsyncClient, keys: Keys, session: AsyncSession
) -> None:
    seqs = await _append_three(client, keys)
    target = (
        await session.execute(
            text(
                "SELECT e.event_id, e.nik FROM ledger_event e JOIN ledger_tx t USING (tx_id) "
                "WHERE t.tx_seq = :n AND e.type = 'officer.enrolled'"
            ),
            {"n": seqs[0]},
        )
    ).one()
    replacement = enrolled(
        target.nik, event_id=f"{target.event_id}-b", valid_from="2024-01-20", valid_to="2024-02-24"
    )
    fix = {
        "event_id": f"{target.event_id}-fix",
        "type": "event.corrected",
        "supersedes": [target.event_id],
        "replacement": replacement,
        "reason": "SK revised",
    }
    response = await client.post("/v1/events", json={"events": [fix]}, headers=Keys.header(keys.admin))
    assert response.status_code == 200, response.text
    assert (await verify_ledger(session)).ok
    await _tamper(
        session,
        "ledger_event",
        "UPDATE ledger_event SET carried_by = NULL WHERE event_id = :e",
        {"e": replacement["event_id"]},
    )
    report = await verify_ledger(session)
    assert not report.ok and report.broken_tx_seq == response.json()["tx_seq"], report
    assert "carried_by" in (report.reason or "")


async def test_head_endpoint(client: AsyncClient, keys: Keys, session: AsyncSession) -> None:
    seqs = await _append_three(client, keys)
    head = (await client.get("/v1/ledger/head", headers=Keys.header(keys.auditor))).json()
    assert head["tx_seq"] == seqs[-1]
    stored = (
        await session.execute(text("SELECT hash FROM ledger_tx WHERE tx_seq = :n"), {"n": seqs[-1]})
    ).scalar_one()
    assert head["hash"] == stored
