"""POST /v1/events: atomic batches, idempotent ids, and clear errors that write nothing."""

from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support import Keys, enrolled, ledger_size, nik, registered

KPPS: dict[str, Any] = {"valid_from": "2024-01-25", "valid_to": "2024-02-24"}


async def post(client: AsyncClient, secret: str, events: list[dict[str, Any]], **extra: Any) -> Any:
    return await client.post("/v1/events", json={"events": events, **extra}, headers=Keys.header(secret))


async def test_a_batch_is_one_tx(client: AsyncClient, keys: Keys, session: AsyncSession) -> None:
    person = nik()
    before = await ledger_size(session)
    response = await post(
        client, keys.admin, [registered(person), enrolled(person, event_id="enrol-1", **KPPS)]
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["accepted"], body["duplicates"]) == (2, 0)
    assert body["tx_seq"] == before[0] + 1
    assert await ledger_size(session) == (before[0] + 1, before[1] + 2, before[2] + 1)


async def test_identical_resend_is_a_duplicate_and_writes_nothing(
    client: AsyncClient, keys: Keys, session: AsyncSession
) -> None:
    person = nik()
    batch = [registered(person), enrolled(person, event_id="enrol-dup", **KPPS)]
    first = (await post(client, keys.admin, batch)).json()
    size = await ledger_size(session)
    again = await post(client, keys.admin, batch)
    assert again.status_code == 200
    assert again.json() == {**first, "accepted": 0, "duplicates": 2}
    assert await ledger_size(session) == size


async def test_same_id_with_other_content_is_409_naming_the_id(
    client: AsyncClient, keys: Keys, session: AsyncSession
) -> None:
    person = nik()
    await post(client, keys.admin, [registered(person), enrolled(person, event_id="enrol-x", **KPPS)])
    size = await ledger_size(session)
    changed = enrolled(person, event_id="enrol-x", valid_from="2024-01-20", valid_to="2024-02-24")
    response = await post(client, keys.admin, [changed])
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert "enrol-x" in problem["detail"]
    assert problem["errors"][0]["field"] == "events[0].event_id"
    assert await ledger_size(session) == size


async def test_registration_resend_with_another_name_is_409(client: AsyncClient, keys: Keys) -> None:
    person = nik()
    await post(client, keys.admin, [registered(person, name="Siti Aminah")])
    assert (await post(client, keys.admin, [registered(person, name="Siti Aminah")])).json()[
        "duplicates"
    ] == 1
    response = await post(client, keys.admin, [registered(person, name="Siti Aminah Binti Ahmad")])
    assert response.status_code == 409


async def test_personal_fields_stay_out_of_the_log(
    client: AsyncClient, keys: Keys, session: AsyncSession
) -> None:
    person = nik()
    event = registered(person, name="Rahmawati Unique Name") | {
        "phone": "081234567890",
        "birth_date": "1990-01-05",
    }
    assert (await post(client, keys.admin, [event])).status_code == 200
    payload = (
        await session.execute(text("SELECT payload::text FROM ledger_event WHERE nik = :n"), {"n": person})
    ).scalar_one()
    assert "Rahmawati" not in payload and "0812" not in payload and "1990-01-05" not in payload
    assert "personal_digest" in payload
    vault = (
        await session.execute(text("SELECT fields FROM person_vault WHERE nik = :n"), {"n": person})
    ).scalar_one()
    assert vault == {"name": "Rahmawati Unique Name", "phone": "081234567890", "birth_date": "1990-01-05"}


BAD_BATCHES = [
    (
        "unknown event type",
        [{"event_id": "u1", "type": "person.teleported", "nik": "1671014501900001"}],
        422,
        "events[0]",
    ),
    (
        "missing field",
        [{"event_id": "m1", "type": "person.registered", "nik": "1671014501900001", "region_code": "16.71"}],
        422,
        "events[0].name",
    ),
    ("invalid NIK", [registered("1671013202900001")], 422, "events[0].nik"),
    ("Excel NIK", [registered("1.67101E+15", event_id="excel")], 422, "events[0].nik"),
    ("unknown district in NIK", [registered("9971014501900001")], 422, "events[0].nik"),
    ("unknown region", [registered("1671014501900009", region="16.99.99")], 422, "events[0].region_code"),
    (
        "malformed region code",
        [registered("1671014501900009", region="Palembang")],
        422,
        "events[0].region_code",
    ),
    ("sex disagrees with NIK", [registered("1671014501900009") | {"sex": "M"}], 422, "events[0].sex"),
    (
        "birth date disagrees with NIK",
        [registered("1671014501900009") | {"birth_date": "1990-01-06"}],
        422,
        "events[0].birth_date",
    ),
    ("unregistered person", [enrolled("1671014501900077", event_id="n1", **KPPS)], 422, "events[0].nik"),
    (
        "valid_to before valid_from",
        [enrolled("1671014501900001", event_id="v1", valid_from="2024-02-24", valid_to="2024-01-25")],
        422,
        "events[0]",
    ),
    (
        "empty period",
        [enrolled("1671014501900001", event_id="v2", valid_from="2024-02-24", valid_to="2024-02-24")],
        422,
        "events[0]",
    ),
    (
        "unknown role",
        [enrolled("1671014501900001", event_id="r1", role="CAPTAIN", **KPPS)],
        422,
        "events[0].role",
    ),
    (
        "unknown program",
        [enrolled("1671014501900001", event_id="p1", programs=["JHT"], **KPPS)],
        422,
        "events[0].programs[0]",
    ),
    ("extra field", [registered("1671014501900009") | {"salary": 1}], 422, "events[0].salary"),
    ("empty batch", [], 422, "events"),
]


@pytest.mark.parametrize(("case", "events", "status", "field"), BAD_BATCHES, ids=[c[0] for c in BAD_BATCHES])
async def test_bad_input_is_a_clear_4xx_and_writes_nothing(
    client: AsyncClient,
    keys: Keys,
    session: AsyncSession,
    case: str,
    events: list[dict[str, Any]],
    status: int,
    field: str,
) -> None:
    size = await ledger_size(session)
    response = await post(client, keys.admin, events)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert {"type", "title", "status", "detail"} <= problem.keys()
    assert any(e.get("field", "").startswith(field) for e in problem["errors"]), problem
    assert await ledger_size(session) == size


async def test_one_bad_event_rejects_the_batch_with_its_index(
    client: AsyncClient, keys: Keys, session: AsyncSession
) -> None:
    good = nik()
    size = await ledger_size(session)
    response = await post(
        client, keys.admin, [registered(good), registered("1671013202900001", event_id="bad")]
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "events[1].nik"
    assert await ledger_size(session) == size


async def test_malformed_json_is_400(client: AsyncClient, keys: Keys) -> None:
    response = await client.post(
        "/v1/events",
        content=b'{"events": [',
        headers=Keys.header(keys.admin) | {"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["type"] == "/problems/malformed-request"
    # the body is at fault, where its text breaks off (a contract probe was given `[1]`)
    [error] = response.json()["errors"]
    assert (error["code"], error["field"]) == ("invalid_json", "body"), error
    assert "(at character 12)" in error["message"]


async def test_batch_uses_an_id_twice(client: AsyncClient, keys: Keys) -> None:
    a, b = nik(), nik()
    response = await post(
        client, keys.admin, [registered(a, event_id="same"), registered(b, event_id="same")]
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "duplicate_event_id"
