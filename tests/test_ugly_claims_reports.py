"""Odd requests to the claim, payout, report and proof endpoints: each a 4xx problem+json naming
what is wrong, never a 5xx."""

from typing import Any, get_args

import psycopg
import pytest
from httpx import ASGITransport, AsyncClient

from coverage_ledger.app import create_app
from coverage_ledger.ledger.schemas import RuleDefined
from tests.claims_support import filed, kpps_2024, post
from tests.support import Keys, nik, registered

ODD_READS = [
    ("/v1/claims/%00", {}),
    ("/v1/claims/" + "x" * 300, {}),
    ("/v1/claims/C-1", {"known_at": "yesterday"}),
    ("/v1/claims/C-1", {"valid_at": "2024-02-30"}),
    ("/v1/claims", {"region": "16.7"}),
    ("/v1/claims", {"status": "lost"}),
    ("/v1/claims", {"limit": "0"}),
    ("/v1/claims", {"overdue": "maybe"}),
    ("/v1/payouts", {"group_by": "nik"}),
    ("/v1/payouts", {"from": "2024-13-01"}),
    ("/v1/payouts", {"from": "2024-03-01", "to": "2024-02-01"}),
    ("/v1/payouts", {"known_at": "tx:-1"}),
    ("/v1/reports/payouts", {"format": "pdf"}),
    ("/v1/reports/payouts", {"region": "99"}),
    ("/v1/reports/coverage-roster", {"valid_at": "14/02/2024"}),
    ("/v1/reports/coverage-roster/manifest", {"known_at": "tx:abc"}),
    ("/v1/reports/coverage-diff", {"known_then": "2024-02-30"}),
    ("/v1/reports/coverage-diff", {"format": "xlsx"}),
    ("/v1/reports/access-log", {"before": "0"}),
    ("/v1/ledger/proof", {}),
    ("/v1/ledger/proof", {"from_hash": "0" * 63}),
    ("/v1/ledger/export", {"from_tx": "0"}),
    ("/v1/ledger/export", {"from_tx": "5", "to_tx": "2"}),
]


@pytest.mark.parametrize(("path", "params"), ODD_READS)
async def test_odd_reads_are_4xx_problems(
    client: AsyncClient, keys: Keys, path: str, params: dict[str, str]
) -> None:
    response = await client.get(path, params=params, headers=Keys.header(keys.admin))
    assert 400 <= response.status_code < 500, (path, params, response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == response.status_code and body["detail"]


@pytest.mark.parametrize(
    ("path", "name"),
    [("/v1/reports/access-log", "before"), ("/v1/ledger/export", "from_tx"), ("/v1/ledger/export", "to_tx")],
)
async def test_a_number_past_any_stored_one_is_out_of_range_not_unstorable(
    client: AsyncClient, keys: Keys, path: str, name: str
) -> None:
    """Found by a probe: `before=99999999999999999999` reached the database and was answered
    "cannot be stored (bigint out of range); nothing was written", of a read."""
    response = await client.get(path, params={name: str(2**63)}, headers=Keys.header(keys.admin))
    assert response.status_code == 422, response.text
    assert response.json()["type"].endswith("/validation-error"), response.text
    assert [error["field"] for error in response.json()["errors"]] == [name]


@pytest.mark.parametrize(
    "change",
    [
        {"amount": 0},
        {"amount": 10**16},
        {"amount": "42000000"},
        {"paid_on": "2024-02-31"},
        {"claim_id": ""},
        {"claim_id": "a b"},
        {"extra": 1},
    ],
)
async def test_odd_payments_are_422_and_write_nothing(
    client: AsyncClient, keys: Keys, change: dict[str, Any]
) -> None:
    payment = {
        "event_id": "odd-pay",
        "type": "claim.paid",
        "claim_id": "C-odd",
        "amount": 1,
        "paid_on": "2024-02-22",
    }
    response = await post(client, keys.office, payment | change)
    assert response.status_code == 422, response.text
    history = await client.get("/v1/claims/C-odd", headers=Keys.header(keys.office))
    assert history.status_code == 404


async def test_odd_claim_fields_are_422(client: AsyncClient, keys: Keys) -> None:
    person = await kpps_2024(client, keys)
    for change in (
        {"benefit": "JKK_PARTIAL", "disability_percent": "12.345", "wage": 1_000_000},
        {"children": [{"level": "SD", "years_done": 11}]},
        {"children": [{"level": "SD"}] * 11},
        {"incident_date": "2024-02-14T10:00:00"},
        {"complete_on": "2024-02-01", "filed_on": "2024-02-15"},
        {"payee": {"nik": "123"}},
    ):
        response = await post(client, keys.office, filed("C-odd", person, incident="2024-02-14") | change)
        assert response.status_code == 422, (change, response.text)
        assert response.json()["errors"], change


async def test_a_nul_character_anywhere_is_422_and_writes_nothing(client: AsyncClient, keys: Keys) -> None:
    person = nik()
    event = registered(person, name="Siti\u0000Aminah")
    response = await client.post("/v1/events", json={"events": [event]}, headers=Keys.header(keys.admin))
    assert response.status_code == 422, response.text
    # refused as an invisible character before it could reach the database
    assert response.json()["errors"][0]["field"] == "events[0].name"
    correction = {"event_id": "c-nul", "type": "event.corrected", "supersedes": ["x"], "reason": "a\u0000b"}
    stored = await client.post("/v1/events", json={"events": [correction]}, headers=Keys.header(keys.admin))
    assert stored.status_code == 422, stored.text
    coverage = await client.get(f"/v1/persons/{person}/coverage", headers=Keys.header(keys.admin))
    assert coverage.status_code == 404
    search = await client.get(
        "/v1/persons", params={"committee": "KPU\u000016.71"}, headers=Keys.header(keys.admin)
    )
    assert search.status_code == 422
    # a read names the parameter and says nothing of writing (found by a probe)
    assert search.json()["errors"] == [
        {
            "code": "nul_character",
            "message": "holds a NUL character (%00), which no value can contain",
            "field": "committee",
        }
    ]
    assert "written" not in search.json()["detail"]
    by_id = await client.get("/v1/claims/C1%00", headers=Keys.header(keys.admin))
    assert by_id.status_code == 422, by_id.text
    assert (by_id.json()["errors"][0]["code"], by_id.json()["errors"][0]["field"]) == (
        "nul_character",
        "claim_id",
    )


@pytest.mark.parametrize("error", [psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure])
async def test_a_retry_asked_by_the_database_is_a_503_with_retry_after(error: type[psycopg.Error]) -> None:
    app = create_app(database_url="postgresql+psycopg://unused/unused")

    @app.get("/give-way")
    async def give_way() -> None:
        raise error("the database chose this transaction")

    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as http:
        response = await http.get("/give-way")
    assert response.status_code == 503 and response.headers["retry-after"] == "1"
    assert response.headers["content-type"].startswith("application/problem+json")


RULE_KINDS = get_args(RuleDefined.model_fields["kind"].annotation)


@pytest.mark.parametrize("kind", RULE_KINDS)
async def test_a_rule_whose_parameters_do_not_make_its_kind_is_422(
    client: AsyncClient, keys: Keys, kind: str
) -> None:
    # found by the fuzzer: an empty service_time rule was stored, then broke every claim review
    rule = {
        "event_id": f"bad-{kind}",
        "type": "rule.defined",
        "rule_id": f"bad-{kind}",
        "kind": kind,
        "parameters": {},
        "regulation": "none",
        "source": "test",
    }
    head = (await client.get("/v1/ledger/head", headers=Keys.header(keys.admin))).json()
    response = await client.post("/v1/events", json={"events": [rule]}, headers=Keys.header(keys.admin))
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["code"] == "malformed_rule"
    assert response.json()["errors"][0]["field"] == "events[0].parameters"
    assert (await client.get("/v1/ledger/head", headers=Keys.header(keys.admin))).json() == head


@pytest.mark.parametrize(
    ("kind", "parameters", "at_fault"),
    [
        ("grace", {"months": 100_000}, "months"),
        ("grace", {"months": -1}, "months"),
        ("claim_deadline", {"program": "JKK", "years": 100_000}, "years"),
        (
            "service_time",
            {"program": "JKM", "working_days": 3_000_000, "penalty_bp_per_day": 100},
            "working_days",
        ),
        (
            "service_time",
            {"program": "JKM", "working_days": 3, "penalty_bp_per_day": -100},
            "penalty_bp_per_day",
        ),
        # found by a later probe: these were stored, the last one leaving every payment of its
        # months without a rate in force
        ("grace", {"months": "3"}, "months"),
        ("service_time", {"program": "XXX", "working_days": 7, "penalty_bp_per_day": 100}, "program"),
        ("claim_deadline", {"program": "JHT", "years": 2}, "program"),
        ("claim_deadline", {"program": "JKK", "years": 5, "incidents_from": 20191202}, "incidents_from"),
        ("claim_deadline", {"program": "JKK", "years": 5, "incidents_from": "2019-02-30"}, "incidents_from"),
        (
            "bpu_rates",
            {
                "months_from": "2015-07",
                "months_to": "2010-01",
                "jkk_rate_bp": 100,
                "jkk_minimum": 1_000_000,
                "jkm_flat": 6_800,
                "jht_rate_bp": 200,
            },
            "months_to",
        ),
        ("relief", {"months_from": 202001, "months_to": "2020-12", "discount_bp": 9_900}, "months_from"),
    ],
)
async def test_a_rule_whose_durations_leave_the_calendar_is_422_naming_the_parameter(
    client: AsyncClient, keys: Keys, kind: str, parameters: dict[str, object], at_fault: str
) -> None:
    # found by a probe: a grace of 100,000 months was stored, and every coverage read of a BPU
    # member at that known_at and later failed (a date past year 9999)
    rule = {
        "event_id": f"absurd-{kind}",
        "type": "rule.defined",
        "rule_id": f"absurd-{kind}",
        "kind": kind,
        "parameters": parameters,
        "regulation": "none",
        "source": "test",
    }
    head = (await client.get("/v1/ledger/head", headers=Keys.header(keys.admin))).json()
    response = await client.post("/v1/events", json={"events": [rule]}, headers=Keys.header(keys.admin))
    assert response.status_code == 422, response.text
    error = response.json()["errors"][0]
    assert (error["code"], error["field"]) == ("malformed_rule", f"events[0].parameters.{at_fault}"), error
    assert at_fault in error["message"]
    assert (await client.get("/v1/ledger/head", headers=Keys.header(keys.admin))).json() == head


async def test_the_fuzzers_claim_and_rule_batch_is_422_not_500(client: AsyncClient, keys: Keys) -> None:
    batch = [
        {"claim_id": "4SPlpsCsa5", "type": "claim.approved", "event_id": "qF", "decided_on": "0286-03-13"},
        {"claim_id": "56", "reason": "ª", "event_id": "Xv", "type": "claim.reversed"},
        {
            "parameters": {},
            "rule_id": "$ÑL",
            "source": "y|¡",
            "type": "rule.defined",
            "regulation": "u",
            "kind": "service_time",
            "event_id": "F0",
        },
    ]
    response = await client.post("/v1/events", json={"events": batch}, headers=Keys.header(keys.admin))
    assert response.status_code == 422, response.text
