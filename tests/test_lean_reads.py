"""The lean coverage lookup answers exactly what the FastAPI route answers: status, media type and
body, for answers, misses, refusals and malformed requests alike."""

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from tests.support import Keys, corrected, enrolled, nik, registered

PERSON = "1671014501900001"


async def _both(app: FastAPI, client: AsyncClient, url: str, headers: dict[str, str]) -> list[Any]:
    answers = []
    instant = datetime.now(UTC)
    app.state.clock = lambda: instant  # both read "now" (the default known_at) at the same instant
    for lean in (True, False):
        app.state.lean_reads = lean
        response = await client.get(url, headers=headers)
        answers.append((response.status_code, response.headers["content-type"], response.json()))
    app.state.lean_reads = True
    return answers


def _kpps(event_id: str, valid_from: str) -> dict[str, Any]:
    return enrolled(
        PERSON, event_id=event_id, valid_from=valid_from, valid_to="2024-02-24", registered_on="2024-01-15"
    )


@pytest.fixture
async def history(client: AsyncClient, keys: Keys) -> dict[str, int]:
    """A KPPS term appended, then corrected to start later: the tx of each."""
    first = await client.post(
        "/v1/events",
        json={"events": [registered(PERSON), _kpps("kpps-1", "2024-01-25")]},
        headers=Keys.header(keys.admin),
    )
    assert first.status_code == 200, first.text
    second = await client.post(
        "/v1/events",
        json={"events": [corrected("fix-1", ["kpps-1"], replacement=_kpps("kpps-2", "2024-02-01"))]},
        headers=Keys.header(keys.admin),
    )
    assert second.status_code == 200, second.text
    return {"first": first.json()["tx_seq"], "second": second.json()["tx_seq"]}


CASES = [
    ("office", f"/v1/persons/{PERSON}/coverage?valid_at=2024-01-28", 200),
    ("office", f"/v1/persons/{PERSON}/coverage?valid_at=2024-01-28&known_at=tx:FIRST", 200),
    ("office", f"/v1/persons/{PERSON}/coverage?valid_at=2024-01-28&known_at=2024-01-01", 404),
    ("office", f"/v1/persons/{PERSON}/coverage", 200),
    ("office", "/v1/persons/3201014501900001/coverage?valid_at=2024-02-02", 404),
    ("other_office", f"/v1/persons/{PERSON}/coverage?valid_at=2024-02-02", 404),
    ("auditor", f"/v1/persons/{PERSON}/coverage?valid_at=2024-02-02&known_at=tx:SECOND", 200),
    ("office", f"/v1/persons/{PERSON}/coverage?valid_at=2024-02-30", 422),
    ("office", f"/v1/persons/{PERSON}/coverage?known_at=yesterday", 422),
    ("office", "/v1/persons/167101450190000/coverage", 422),
    ("office", "/v1/persons/16710145019000011/coverage", 422),
    ("none", f"/v1/persons/{PERSON}/coverage", 401),
    ("revoked", f"/v1/persons/{PERSON}/coverage", 401),
    ("basic", f"/v1/persons/{PERSON}/coverage", 401),
    ("x-api-key", f"/v1/persons/{PERSON}/coverage?valid_at=2024-02-02", 200),
    ("none", f"/v1/persons/{PERSON}/coverage?valid_at=nonsense", 401),
]


def _headers(keys: Keys, who: str) -> dict[str, str]:
    match who:
        case "none":
            return {}
        case "revoked":
            return Keys.header("clk_not-a-key")
        case "basic":
            return {"Authorization": f"Basic {keys.office}"}
        case "x-api-key":
            return {"X-API-Key": keys.office}
        case _:
            return Keys.header(getattr(keys, who))


@pytest.mark.parametrize(("who", "url", "status"), CASES, ids=[f"{c[0]} {c[1]}" for c in CASES])
async def test_the_lean_lookup_answers_as_the_route_does(
    app: FastAPI, client: AsyncClient, keys: Keys, history: dict[str, int], who: str, url: str, status: int
) -> None:
    url = url.replace("FIRST", str(history["first"])).replace("SECOND", str(history["second"]))
    lean, route = await _both(app, client, url, _headers(keys, who))
    assert lean == route
    assert lean[0] == status, lean


async def test_the_lean_lookup_reads_the_corrected_term_now_and_the_first_one_before(
    client: AsyncClient, keys: Keys, history: dict[str, int]
) -> None:
    url = f"/v1/persons/{PERSON}/coverage?valid_at=2024-01-28"
    now = (await client.get(url, headers=Keys.header(keys.office))).json()
    before = (
        await client.get(f"{url}&known_at=tx:{history['first']}", headers=Keys.header(keys.office))
    ).json()
    assert now["status"] == "not_started" and now["as_of"]["tx_seq"] == history["second"]
    assert before["status"] == "covered" and before["evidence"] == ["kpps-1"]


async def test_switched_off_the_route_answers_and_other_methods_always_reach_it(
    app: FastAPI, client: AsyncClient, keys: Keys
) -> None:
    person = nik()
    await client.post("/v1/events", json={"events": [registered(person)]}, headers=Keys.header(keys.admin))
    app.state.lean_reads = False
    off = await client.get(f"/v1/persons/{person}/coverage", headers=Keys.header(keys.office))
    assert off.status_code == 200 and off.json()["status"] == "not_enrolled"
    app.state.lean_reads = True
    post = await client.post(f"/v1/persons/{person}/coverage", headers=Keys.header(keys.office))
    assert post.status_code == 405
