"""The rule table is built once per state of the rules (`ledger/rule_table_cache.py`) and never
handed to a moment, or a database, whose rules differ: tests clone every ledger from one template,
so two ledgers may hold different rules at the same tx number."""

import uuid
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.database.engine import create_engine_for, session_factory
from coverage_ledger.ledger import service as ledger_service
from coverage_ledger.ledger.rule_table_cache import rule_table_at
from tests.databases import create_database, drop_database
from tests.live_app import live_app
from tests.support import GRACE_SHORTENED, Keys, append_committed, enrolled_bpu, nik, paid, registered

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
            months: int = (await _table(session, tx_seq)).grace_months
            return months
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


def _grace(event_id: str, months: int, rule_id: str = "bpu-grace") -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": "rule.defined",
        "rule_id": rule_id,
        "kind": "grace",
        "parameters": {"months": months},
        "regulation": "test",
        "source": "test",
    }


async def test_the_rules_in_force_never_hold_two_grace_lengths(client: AsyncClient, keys: Keys) -> None:
    """Found by a probe: two grace rules in force (sent together, or one restored by superseding
    a correction that carried another) made the grace length the table's physical order, and an
    answer at a fixed tx changed between two reads."""

    async def post(*events: dict[str, Any]) -> Any:
        return await client.post("/v1/events", json={"events": list(events)}, headers=Keys.header(keys.admin))

    refused = await post(_grace("grace-a", 1, "grace-a"))
    assert refused.status_code == 409 and refused.json()["errors"][0]["code"] == "grace_rule_defined"
    same_id = await post({**_grace("rates-twice", 2), "kind": "grace"} | {"rule_id": "bpu-rates-pp44-2015"})
    assert same_id.status_code == 409, same_id.text
    assert {e["code"] for e in same_id.json()["errors"]} == {"grace_rule_defined", "rule_id_in_force"}
    assert (await post(GRACE_SHORTENED)).status_code == 200
    # superseding the correction brings the shipped rule back; its replacement would be a second
    two = await post(
        {
            "event_id": "undo-shortening",
            "type": "event.corrected",
            "supersedes": ["grace-shortened"],
            "reason": "test",
            "replacement": _grace("grace-two-months-x", 2),
        }
    )
    assert two.status_code == 409, two.text
    assert {e["code"] for e in two.json()["errors"]} == {"grace_rule_defined", "rule_id_in_force"}


async def test_a_payment_checked_while_the_grace_was_shortened_is_judged_by_the_new_grace(
    fresh_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by a probe: the recheck under the append lock did not look at the rules, so payments
    checked under the old rules were written after a change of them (2,500 at a rate restored
    while they were checked). A payment of March, made in May, is in time under three months'
    grace after February and not under one."""
    member = nik()
    original = ledger_service.write_checked
    shortened: list[int] = []

    async def shortened_meanwhile(session: AsyncSession, **checked: Any) -> Any:
        written = await original(session, **checked)
        if not shortened:  # another writer's tx, committed once the payment was checked
            shortened.append(0)  # (its own append is written through this function too)
            shortened[0] = await append_committed(fresh_database, [GRACE_SHORTENED])
        return written

    async with live_app(fresh_database) as (_, client, keys):
        start = await client.post(
            "/v1/events",
            json={
                "events": [
                    registered(member),
                    enrolled_bpu(member, event_id=f"bpu-{member}", valid_from="2025-01-01"),
                    paid(member, event_id=f"jan-feb-{member}", months=("2025-01", "2025-02"), amount=33_600,
                         paid_on="2025-01-10"),
                ]
            },
            headers=Keys.header(keys.admin),
        )  # fmt: skip
        assert start.status_code == 200, start.text
        monkeypatch.setattr(ledger_service, "write_checked", shortened_meanwhile)
        late = paid(member, event_id=f"mar-{member}", months=("2025-03", "2025-03"), amount=16_800,
                    paid_on="2025-05-15")  # fmt: skip
        response = await client.post("/v1/events", json={"events": [late]}, headers=Keys.header(keys.admin))
    assert shortened, "the grace was shortened while the payment was checked"
    assert response.status_code in (409, 422), response.text
    assert response.json()["errors"][0]["code"] == "membership_lapsed", response.text
