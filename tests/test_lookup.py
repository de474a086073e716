"""POST /v1/coverage/lookup: many NIKs, one (valid_at, known_at), one answer each."""

from datetime import date, timedelta

import pytest
from httpx import AsyncClient

from coverage_ledger.coverage.schemas import LookupResponse
from tests.support import Keys, enrolled, nik, registered

REAL_TERMS = [
    ("Pemilu 2024 KPPS", "KPPS", "2024-01-25", "2024-02-24"),
    ("Pemilu 2024 PPK", "PPK", "2023-01-04", "2024-04-05"),
    ("Pemilu 2024 PPS", "PPS", "2023-01-17", "2024-04-05"),
    ("Pemilu 2024 Pantarlih", "PANTARLIH", "2023-02-03", "2023-03-13"),
    ("Pilkada 2024 KPPS", "KPPS", "2024-11-07", "2024-12-09"),
]


@pytest.mark.parametrize(("name", "role", "first", "after_last"), REAL_TERMS, ids=[t[0] for t in REAL_TERMS])
async def test_real_terms_cover_their_first_and_last_day(
    client: AsyncClient, keys: Keys, name: str, role: str, first: str, after_last: str
) -> None:
    person = nik()
    events = [
        registered(person),
        enrolled(
            person,
            event_id=f"term-{person}",
            role=role,
            valid_from=first,
            valid_to=after_last,
            registered_on="2022-12-01",
        ),
    ]
    assert (
        await client.post("/v1/events", json={"events": events}, headers=Keys.header(keys.admin))
    ).status_code == 200
    last = (date.fromisoformat(after_last) - timedelta(days=1)).isoformat()
    body = {"niks": [person, person, person], "valid_at": first}
    on_first = (await client.post("/v1/coverage/lookup", json=body, headers=Keys.header(keys.office))).json()
    assert on_first["results"][0]["status"] == "covered"
    on_last = (
        await client.post(
            "/v1/coverage/lookup", json=body | {"valid_at": last}, headers=Keys.header(keys.office)
        )
    ).json()
    assert on_last["results"][0]["status"] == "covered"
    after = (
        await client.post(
            "/v1/coverage/lookup", json=body | {"valid_at": after_last}, headers=Keys.header(keys.office)
        )
    ).json()
    assert after["results"][0]["status"] == "term_ended"


async def test_lookup_answers_each_nik_in_order_and_hides_the_out_of_scope(
    client: AsyncClient, keys: Keys
) -> None:
    covered, elsewhere, unknown = nik(), nik(), "1671014501909998"
    events = [
        registered(covered),
        enrolled(
            covered,
            event_id="lk-1",
            valid_from="2024-01-25",
            valid_to="2024-02-24",
            registered_on="2024-01-01",
        ),
        registered(elsewhere, region="32.01"),
    ]
    tx = (await client.post("/v1/events", json={"events": events}, headers=Keys.header(keys.admin))).json()[
        "tx_seq"
    ]
    response = await client.post(
        "/v1/coverage/lookup",
        json={"niks": [unknown, covered, elsewhere], "valid_at": "2024-02-01", "known_at": f"tx:{tx}"},
        headers=Keys.header(keys.office),
    )
    assert response.status_code == 200
    body = response.json()
    # written without FastAPI's response validation, so held to the documented model here
    assert LookupResponse.model_validate(body).model_dump(mode="json") == body
    assert [r["nik"] for r in body["results"]] == [unknown, covered, elsewhere]
    assert [r["found"] for r in body["results"]] == [False, True, False]
    assert body["results"][1]["status"] == "covered"
    assert body["results"][0] == {**body["results"][2], "nik": unknown}, (
        "unknown and out of scope look the same"
    )
    assert body["as_of"]["tx_seq"] == tx
    earlier = await client.post(
        "/v1/coverage/lookup",
        json={"niks": [covered], "valid_at": "2024-02-01", "known_at": f"tx:{tx - 1}"},
        headers=Keys.header(keys.office),
    )
    assert earlier.json()["results"][0]["found"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"niks": []}, "niks"),
        ({"niks": ["12345"]}, "niks[0]"),
        ({"niks": ["1671014501900001"] * 10_001}, "niks"),
        ({"niks": ["1671014501900001"], "known_at": "yesterday"}, "known_at"),
    ],
)
async def test_bad_lookups_are_422(
    client: AsyncClient, keys: Keys, body: dict[str, object], field: str
) -> None:
    response = await client.post("/v1/coverage/lookup", json=body, headers=Keys.header(keys.office))
    assert response.status_code == 422
    assert any(e["field"].startswith(field) for e in response.json()["errors"])


async def test_ten_thousand_niks_in_one_call(client: AsyncClient, keys: Keys) -> None:
    people = [f"167101{(i % 28) + 41:02d}01{90 + i // 2800:02d}{i % 9999 + 1:04d}" for i in range(300)]
    events = [registered(p) for p in set(people)]
    assert (
        await client.post("/v1/events", json={"events": events}, headers=Keys.header(keys.admin))
    ).status_code == 200
    niks = (people * 34)[:10_000]
    response = await client.post(
        "/v1/coverage/lookup", json={"niks": niks, "valid_at": "2024-02-01"}, headers=Keys.header(keys.office)
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 10_000
    assert {r["status"] for r in results} == {"not_enrolled"}
