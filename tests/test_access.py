"""Keys: 401 without a valid key, 403 for a role or region that may not write, 404 outside scope."""

from datetime import UTC, datetime, timedelta

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.auth.service import create_key, revoke_key, secret_hash
from coverage_ledger.domain.access import Role
from tests.support import Keys, enrolled, nik, registered


async def _person_in_palembang(client: AsyncClient, keys: Keys) -> str:
    person = nik()
    response = await client.post(
        "/v1/events",
        json={
            "events": [
                registered(person),
                enrolled(person, event_id=f"acc-{person}", valid_from="2024-01-25", valid_to="2024-02-24"),
            ]
        },
        headers=Keys.header(keys.admin),
    )
    assert response.status_code == 200
    return person


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer clk_nope"}, {"X-API-Key": "wrong"}, {"Authorization": "Basic abc"}],
)
async def test_no_valid_key_is_401(client: AsyncClient, headers: dict[str, str]) -> None:
    response = await client.get("/v1/persons/1671014501900001/coverage", headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("body", [b"garbage", b'{"events": [', b'{"events": []}'])
async def test_a_request_without_a_key_is_401_whatever_its_body(client: AsyncClient, body: bytes) -> None:
    response = await client.post("/v1/events", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("body", [b"garbage", b'{"events": ['])
async def test_a_wrong_key_is_401_and_a_right_one_400_for_a_malformed_body(
    client: AsyncClient, keys: Keys, body: bytes
) -> None:
    json_type = {"content-type": "application/json"}
    wrong = await client.post("/v1/events", content=body, headers=json_type | Keys.header("clk_unknown"))
    assert wrong.status_code == 401, wrong.text
    right = await client.post("/v1/events", content=body, headers=json_type | Keys.header(keys.admin))
    assert right.status_code == 400, right.text
    assert right.json()["type"].endswith("malformed-request")


async def test_revoked_and_expired_keys_are_401(client: AsyncClient, session: AsyncSession) -> None:
    _, revoked = await create_key(session, role=Role.ADMIN, name="to-revoke")
    await revoke_key(session, name="to-revoke")
    _, expired = await create_key(
        session, role=Role.ADMIN, name="expired", expires_at=datetime.now(UTC) - timedelta(minutes=1)
    )
    # an auditor key made with a region before keys create refused one: its scope was half kept
    _, regional_auditor = await create_key(session, role=Role.AUDITOR, name="old-regional-auditor")
    await session.execute(text("UPDATE api_key SET region_prefix = '16' WHERE name = 'old-regional-auditor'"))
    for secret in (revoked, expired, regional_auditor):
        assert (await client.get("/v1/ledger/head", headers=Keys.header(secret))).status_code == 401


async def test_only_the_hash_of_a_secret_is_stored(session: AsyncSession) -> None:
    _, secret = await create_key(session, role=Role.AUDITOR, name="hash-only")
    stored = (
        await session.execute(text("SELECT secret_sha256 FROM api_key WHERE name = 'hash-only'"))
    ).scalar_one()
    assert stored == secret_hash(secret=secret) != secret


async def test_x_api_key_header_works(client: AsyncClient, keys: Keys) -> None:
    assert (await client.get("/v1/ledger/head", headers={"X-API-Key": keys.auditor})).status_code == 200


async def test_auditor_cannot_write(client: AsyncClient, keys: Keys) -> None:
    response = await client.post(
        "/v1/events", json={"events": [registered(nik())]}, headers=Keys.header(keys.auditor)
    )
    assert response.status_code == 403


async def test_committee_cannot_append_reference_data(client: AsyncClient, keys: Keys) -> None:
    event = {
        "event_id": "r-x",
        "type": "region.defined",
        "code": "16.99",
        "name": "Kabupaten Baru",
        "decree": "test",
    }
    response = await client.post("/v1/events", json={"events": [event]}, headers=Keys.header(keys.committee))
    assert response.status_code == 403


async def test_write_outside_the_keys_region_is_403(client: AsyncClient, keys: Keys) -> None:
    person = nik()
    response = await client.post(
        "/v1/events", json={"events": [registered(person, region="32.01")]}, headers=Keys.header(keys.office)
    )
    assert response.status_code == 403


async def test_committee_enrols_only_for_itself(client: AsyncClient, keys: Keys) -> None:
    person = nik()
    events = [
        registered(person),
        enrolled(
            person,
            event_id="other-committee",
            committee="KPU-16.72",
            valid_from="2024-01-25",
            valid_to="2024-02-24",
        ),
    ]
    response = await client.post("/v1/events", json={"events": events}, headers=Keys.header(keys.committee))
    assert response.status_code == 403
    events[1]["committee"] = "KPU-16.71"
    assert (
        await client.post("/v1/events", json={"events": events}, headers=Keys.header(keys.committee))
    ).status_code == 200


async def test_reading_outside_the_region_is_the_same_404_as_unknown(client: AsyncClient, keys: Keys) -> None:
    person = await _person_in_palembang(client, keys)
    outside = await client.get(f"/v1/persons/{person}/coverage", headers=Keys.header(keys.other_office))
    unknown = await client.get(
        "/v1/persons/1671014501909999/coverage", headers=Keys.header(keys.other_office)
    )
    assert outside.status_code == unknown.status_code == 404
    assert outside.json() == unknown.json()
    inside = await client.get(f"/v1/persons/{person}/coverage", headers=Keys.header(keys.office))
    assert inside.status_code == 200
    history = await client.get(f"/v1/persons/{person}/history", headers=Keys.header(keys.other_office))
    assert history.status_code == 404


async def test_backfill_is_admin_only_and_after_the_head(
    client: AsyncClient, keys: Keys, session: AsyncSession
) -> None:
    head = (await session.execute(text("SELECT max(recorded_at) FROM ledger_tx"))).scalar_one()
    person = nik()
    later = (head + timedelta(seconds=1)).isoformat()
    office = await client.post(
        "/v1/events",
        json={"events": [registered(person)], "recorded_at": later},
        headers=Keys.header(keys.office),
    )
    assert office.status_code == 403
    for not_after in (head - timedelta(seconds=1), head):  # the head's own moment is not after it
        refused = await client.post(
            "/v1/events",
            json={"events": [registered(person)], "recorded_at": not_after.isoformat()},
            headers=Keys.header(keys.admin),
        )
        assert refused.status_code == 409, refused.text
        assert refused.json()["errors"][0]["code"] == "backfill_not_after_head"
    accepted = await client.post(
        "/v1/events",
        json={"events": [registered(person)], "recorded_at": later},
        headers=Keys.header(keys.admin),
    )
    assert accepted.status_code == 200
    row = (
        await session.execute(
            text("SELECT backfill, recorded_at FROM ledger_tx ORDER BY tx_seq DESC LIMIT 1")
        )
    ).one()
    assert row.backfill is True
    assert row.recorded_at == head + timedelta(seconds=1)
