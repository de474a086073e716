"""Ugly requests get a 4xx problem, never a 500, and write nothing."""

import json

import pytest
from httpx import AsyncClient

from tests.support import Keys

REGISTRATION = {"event_id": "a", "type": "person.registered", "name": "x", "region_code": "16"}
PAYMENT = {
    "event_id": "a",
    "type": "contribution.paid",
    "nik": "1671014501900001",
    "months_from": "2025-01",
    "months_to": "2025-01",
    "amount": 1,
    "payer": {"kind": "self"},
    "paid_on": "2025-01-01",
}

UGLY_BODIES = [
    (b"", "application/json"),
    (b"[]", "application/json"),
    (b'{"events": "x"}', "application/json"),
    (b'{"events": [42]}', "application/json"),
    (b'{"events": [{"type": null}]}', "application/json"),
    (json.dumps({"events": [REGISTRATION | {"nik": 1671014501900001}]}).encode(), "application/json"),
    (b'{"events": [{"event_id": "a\\u0000b", "type": "person.registered"}]}', "application/json"),
    ('\ufeff{"events": []}'.encode(), "application/json"),
    (b"\xff\xfe\x00garbage", "application/json"),
    (b"events=1", "application/x-www-form-urlencoded"),
    (
        json.dumps({"events": [PAYMENT]}).replace('"amount": 1', '"amount": 1e400').encode(),
        "application/json",
    ),
]


@pytest.mark.parametrize(("body", "content_type"), UGLY_BODIES)
async def test_ugly_bodies_are_4xx_problems(
    client: AsyncClient, keys: Keys, body: bytes, content_type: str
) -> None:
    response = await client.post(
        "/v1/events", content=body, headers=Keys.header(keys.admin) | {"content-type": content_type}
    )
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "path",
    [
        "/v1/persons/١٦٧١٠١٤٥٠١٩٠٠٠٠١/coverage",
        "/v1/persons/1671014501900001/coverage?valid_at=2024-02-30",
        "/v1/persons/1671014501900001/coverage?known_at=tx:99999999999999999999",
        "/v1/persons/1671014501900001/coverage?known_at=2024-02-20T25:00:00%2B07:00",
        "/v1/persons?limit=100000",
    ],
)
async def test_ugly_queries_are_4xx_problems(client: AsyncClient, keys: Keys, path: str) -> None:
    response = await client.get(path, headers=Keys.header(keys.admin))
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/problem+json"
