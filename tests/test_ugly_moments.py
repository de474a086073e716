"""Ugly time parameters: known_at and valid_at in every wrong shape, moments before the first or past
the last representable instant or past the head, and backfills in the future."""

import pytest
from httpx import AsyncClient

from tests.support import BARE_ENROLMENT, BARE_PAYMENT, BARE_REGISTRATION, Keys, head_tx


@pytest.mark.parametrize(
    "known_at", ["9999-12-31", "9999-12-31T23:59:59-14:00", "9999-12-31T23:59:59.999999%2B14:00"]
)
async def test_a_known_at_past_the_last_representable_instant_reads_the_head(
    client: AsyncClient, keys: Keys, known_at: str
) -> None:
    head = await head_tx(client, keys)
    response = await client.get(
        f"/v1/persons/1671014501900001/coverage?known_at={known_at}", headers=Keys.header(keys.admin)
    )
    assert response.status_code == 404  # nobody registered: the read itself worked, at the head
    lookup = await client.post(
        "/v1/coverage/lookup",
        json={"niks": ["1671014501900001"], "known_at": known_at.replace("%2B", "+")},
        headers=Keys.header(keys.admin),
    )
    assert lookup.status_code == 200, lookup.text
    assert lookup.json()["as_of"]["tx_seq"] == head


async def test_a_known_at_before_the_first_representable_instant_reads_the_empty_ledger(
    client: AsyncClient, keys: Keys
) -> None:
    lookup = await client.post(
        "/v1/coverage/lookup",
        json={"niks": ["1671014501900001"], "known_at": "0001-01-01T00:00:00+14:00"},
        headers=Keys.header(keys.admin),
    )
    assert lookup.status_code == 200, lookup.text
    assert lookup.json()["as_of"]["tx_seq"] == 0


@pytest.mark.parametrize(
    "known_at", ["20240220T090000%2B0700", "2024-W08-2", "2024-02-20T09%2B07:00", "2024-02-20T09:00"]
)
async def test_known_at_is_rfc_3339_a_date_or_a_tx_and_nothing_looser(
    client: AsyncClient, keys: Keys, known_at: str
) -> None:
    response = await client.get(
        f"/v1/persons/1671014501900001/coverage?known_at={known_at}", headers=Keys.header(keys.admin)
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "known_at"


@pytest.mark.parametrize("valid_at", ["2024-W08", "20240214", "0"])
async def test_valid_at_is_a_calendar_date(client: AsyncClient, keys: Keys, valid_at: str) -> None:
    response = await client.get(
        f"/v1/persons/1671014501900001/coverage?valid_at={valid_at}", headers=Keys.header(keys.admin)
    )
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("field", "value"),
    [("amount", True), ("amount", "16800"), ("amount", 16800.0), ("paid_on", 0), ("paid_on", "20250101")],
)
async def test_numbers_and_dates_are_taken_only_in_their_json_form(
    client: AsyncClient, keys: Keys, field: str, value: object
) -> None:
    response = await client.post(
        "/v1/events", json={"events": [BARE_PAYMENT | {field: value}]}, headers=Keys.header(keys.admin)
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == f"events[0].{field}"


async def test_a_lookup_valid_at_must_be_a_date_text(client: AsyncClient, keys: Keys) -> None:
    response = await client.post(
        "/v1/coverage/lookup",
        json={"niks": ["1671014501900001"], "valid_at": 0},
        headers=Keys.header(keys.admin),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "valid_at"


async def test_a_backfill_in_the_future_is_refused(client: AsyncClient, keys: Keys) -> None:
    head = await head_tx(client, keys)
    response = await client.post(
        "/v1/events",
        json={
            "events": [BARE_REGISTRATION | {"nik": "1671014501900001"}],
            "recorded_at": "2100-01-01T00:00:00+07:00",
        },
        headers=Keys.header(keys.admin),
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"code": "backfill_in_future", "message": "recorded_at is later than now", "field": "recorded_at"}
    ]
    numeric = await client.post(
        "/v1/events",
        json={"events": [BARE_REGISTRATION | {"nik": "1671014501900001"}], "recorded_at": 1700000000},
        headers=Keys.header(keys.admin),
    )
    assert numeric.status_code == 422
    assert numeric.json()["errors"][0]["field"] == "recorded_at"
    assert await head_tx(client, keys) == head


async def test_the_coverage_diff_and_its_manifest_need_known_then(client: AsyncClient, keys: Keys) -> None:
    for path in ("/v1/reports/coverage-diff", "/v1/reports/coverage-diff/manifest"):
        response = await client.get(path, headers=Keys.header(keys.auditor))
        assert response.status_code == 422, path
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["field"] == "known_then", response.text
    wrong = await client.get(
        "/v1/reports/coverage-diff?known_then=2024-W08", headers=Keys.header(keys.auditor)
    )
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "known_then"


async def test_the_coverage_diff_given_an_empty_known_then_is_told_it_is_missing(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by a contract probe: `?known_then=&known_now=` answered an always empty diff."""
    response = await client.get(
        "/v1/reports/coverage-diff?known_then=&known_now=", headers=Keys.header(keys.auditor)
    )
    assert response.status_code == 422, response.text
    assert [(e["code"], e["field"]) for e in response.json()["errors"]] == [("missing_field", "known_then")]


async def test_a_moment_past_the_head_is_answered_and_echoed_as_the_head(
    client: AsyncClient, keys: Keys
) -> None:
    """Only the head's own recorded_at is a known_at whose answer cannot change later: a tx
    stamped but not yet committed may still come before any later moment."""
    person = "1671014501900001"
    written = await client.post(
        "/v1/events", json={"events": [BARE_REGISTRATION | {"nik": person}]}, headers=Keys.header(keys.admin)
    )
    assert written.status_code == 200, written.text
    head = (await client.get("/v1/ledger/head", headers=Keys.header(keys.admin))).json()
    beyond = (
        {"known_at": "2099-01-01"},
        {"known_at": "2099-01-01T00:00:00Z"},
        {"known_at": "tx:" + "9" * 30},
    )
    for params in ({}, *beyond):
        response = await client.post(
            "/v1/coverage/lookup", json={"niks": [person], **params}, headers=Keys.header(keys.admin)
        )
        assert response.json()["as_of"]["tx_seq"] == head["tx_seq"]
        assert response.json()["as_of"]["known_at"] == head["recorded_at"], params
    inside = await client.post(
        "/v1/coverage/lookup",
        json={"niks": [person], "known_at": "2020-01-01T00:00:00Z"},
        headers=Keys.header(keys.admin),
    )
    genesis_head = inside.json()["as_of"]["tx_seq"]  # the last reference tx written at genesis
    tx = await client.post(
        "/v1/coverage/lookup",
        json={"niks": [person], "known_at": f"tx:{genesis_head}"},
        headers=Keys.header(keys.admin),
    )
    assert inside.json()["as_of"]["known_at"] == tx.json()["as_of"]["known_at"]  # its recorded_at


async def test_a_date_known_at_echoes_an_instant_that_replays_it_even_with_a_tx_at_midnight(
    client: AsyncClient, keys: Keys
) -> None:
    """known_at=2024-02-20 takes the txs recorded before 00:00 Jakarta on 21 Feb; one recorded at
    that very instant is not among them, and the echoed instant must not take it either."""
    person = "1671014501900021"
    admin = Keys.header(keys.admin)
    events = [BARE_REGISTRATION | {"nik": person}, BARE_ENROLMENT | {"nik": person, "event_id": "mid-e"}]
    first = await client.post(
        "/v1/events", json={"events": events, "recorded_at": "2024-02-20T10:00:00+07:00"}, headers=admin
    )
    assert first.status_code == 200, first.text
    retraction = {"event_id": "mid-x", "type": "event.corrected", "supersedes": ["mid-e"], "reason": "x"}
    second = await client.post(
        "/v1/events", json={"events": [retraction], "recorded_at": "2024-02-21T00:00:00+07:00"}, headers=admin
    )
    assert second.status_code == 200, second.text
    params = {"valid_at": "2024-02-20", "known_at": "2024-02-20"}
    by_date = await client.get(f"/v1/persons/{person}/coverage", params=params, headers=admin)
    assert by_date.json()["status"] == "covered"
    echoed = by_date.json()["as_of"]
    assert echoed["known_at"] == "2024-02-20T03:00:00.000000Z"  # the tx answered from
    replayed = await client.get(
        f"/v1/persons/{person}/coverage",
        params={"valid_at": "2024-02-20", "known_at": echoed["known_at"]},
        headers=admin,
    )
    assert replayed.json()["status"] == "covered" and replayed.json()["as_of"] == echoed
