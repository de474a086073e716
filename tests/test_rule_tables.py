"""The rule table is built once per state of the rules (`ledger/rule_tables.py`) and never
handed to a moment, or a database, whose rules differ: tests clone every ledger from one template,
so two ledgers may hold different rules at the same tx number."""

import uuid
from typing import Any

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.database.engine import create_engine_for, session_factory
from coverage_ledger.ledger.rule_tables import rule_table_at
from tests.conftest import create_database, drop_database
from tests.live_app import live_app
from tests.support import GRACE_SHORTENED, Keys, nik, registered

TWO_MONTHS_GRACE = GRACE_SHORTENED | {
    "event_id": "grace-two-months",
    "replacement": GRACE_SHORTENED["replacement"] | {"event_id": "grace-2", "parameters": {"months": 2}},
}


async def _append(client: AsyncClient, keys: Keys, *events: dict[str, Any]) -> int:
    response = await client.post("/v1/events", json={"events": list(events)}, headers=Keys.header(keys.admin))
    assert response.status_code == 200, response.text
    tx: int = response.json()["tx_seq"]
    return tx


async def _grace_months(database_url: str, tx_seq: int) -> int:
    engine = create_engine_for(database_url, pool_size=1)
    try:
        async with session_factory(engine)() as session:
            return (await _table(session, tx_seq)).grace_months
    finally:
        await engine.dispose()


async def _table(session: AsyncSession, tx_seq: int) -> Any:
    return await rule_table_at(session, tx_seq=tx_seq)


async def test_each_ledger_and_moment_gets_the_rules_it_holds(
    fresh_database: str, server_url: str, template_name: str
) -> None:
    other_name = f"ledger_test_{uuid.uuid4().hex[:8]}"
    other = create_database(server_url, other_name, template=template_name)
    try:
        async with (
            live_app(fresh_database) as (_, client, keys),
            live_app(other) as (_, other_client, other_keys),
        ):
            before = await _append(client, keys, registered(nik()))
            shortened = await _append(client, keys, GRACE_SHORTENED)
            # the other ledger: the same tx numbers, its grace rule changed otherwise in the same tx
            assert await _append(other_client, other_keys, registered(nik())) == before
            assert await _append(other_client, other_keys, TWO_MONTHS_GRACE) == shortened
        for _ in range(2):  # built, then taken from the cache: the same answers
            assert await _grace_months(fresh_database, before) == 3
            assert await _grace_months(fresh_database, shortened) == 1
            assert await _grace_months(other, before) == 3
            assert await _grace_months(other, shortened) == 2
    finally:
        drop_database(server_url, other_name)


async def test_a_state_of_the_rules_is_built_once(fresh_database: str) -> None:
    async with live_app(fresh_database) as (_, client, keys):
        first = await _append(client, keys, registered(nik()))
        second = await _append(client, keys, registered(nik()))
    engine = create_engine_for(fresh_database, pool_size=1)
    try:
        async with session_factory(engine)() as session:
            assert await _table(session, first) is await _table(session, second)
    finally:
        await engine.dispose()


async def test_a_regional_key_asking_before_the_rules_were_written_gets_an_answer(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by a review: a key with a region reads the rule table for every lookup, and at a tx
    before genesis wrote the rules there is none (a 500)."""
    person = nik()
    response = await client.post(
        "/v1/events", json={"events": [registered(person)]}, headers=Keys.header(keys.admin)
    )
    assert response.status_code == 200, response.text
    for secret in (keys.office, keys.admin):
        early = await client.get(
            f"/v1/persons/{person}/coverage", params={"known_at": "tx:1"}, headers=Keys.header(secret)
        )
        assert early.status_code == 404, early.text
    now = await client.get(f"/v1/persons/{person}/coverage", headers=Keys.header(keys.office))
    assert now.status_code == 200 and now.json()["status"] == "not_enrolled", now.text
