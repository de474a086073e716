"""`coverage-ledger demo`: the article's ratio at the printed date, and what a later correction
does to it as known before and after."""

import asyncio
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from httpx import AsyncClient
from typer.testing import CliRunner

from coverage_ledger.cli import app
from coverage_ledger.demo.history import Regency, build_history
from tests.live_app import live_app
from tests.support import Keys

runner = CliRunner()


@pytest.mark.slow
def test_the_demo_shows_the_article_ratio_and_a_later_correction_moves_it_only_as_known_after(
    fresh_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", fresh_database)
    monkeypatch.setenv("COLUMNS", "200")
    result = runner.invoke(app, ["demo", "--scale", "1000", "--port", "9123"])
    assert result.exit_code == 0, result.output
    assert "'http://localhost:9123/v1/" in result.output  # the curl lines call the server's port
    valid_at = re.search(r"^# valid_at: (\S+)$", result.output, re.M)
    assert valid_at is not None, result.output
    again = runner.invoke(app, ["demo", "--scale", "1000"])
    assert again.exit_code == 2 and "only genesis" in again.output

    asyncio.run(_check(fresh_database, valid_at.group(1)))


async def _check(database_url: str, valid_at: str) -> None:
    async with live_app(database_url) as (_, client, keys):
        await _check_claims(client, keys)
        await _check_answers_stay_as_given(client, keys)
        await _check_ratio(client, keys, valid_at)


async def _check_claims(client: AsyncClient, keys: Keys) -> None:
    """The Pemilu 2024 payout report: 44 claims (35 JKM, 9 JKK), Rp2.57 billion, each claim paid
    exactly what the rules in the ledger give it."""
    headers = Keys.header(keys.auditor)
    report = (await client.get("/v1/payouts", params={"region": "16"}, headers=headers)).json()
    by_benefit = {g["key"]: g["claims"] for g in report["groups"]}
    assert by_benefit == {"JKM": 35, "JKK_DEATH": 9}
    assert report["total"]["claims"] == 44
    assert round(report["total"]["paid_amount"] / 1e9, 2) == 2.57
    claims = (await client.get("/v1/claims", params={"limit": "100"}, headers=headers)).json()["items"]
    assert len(claims) == 44
    assert all(c["status"] == "paid" and c["paid_amount"] == c["payable_amount"] for c in claims)
    assert sum(c["paid_amount"] for c in claims) == report["total"]["paid_amount"]
    for claim in claims:
        detail = (await client.get(f"/v1/claims/{claim['claim_id']}", headers=headers)).json()
        assert detail["payable_amount"] == sum(c["amount"] for c in detail["breakdown"])
        assert detail["known_now"]["payable"] and detail["known_now"]["amount"] == detail["payable_amount"]
    on_duty = (await client.get("/v1/claims/BPJSTK-2024-036", headers=headers)).json()
    assert (on_duty["payable_amount"], on_duty["scholarship_total"]) == (79_600_000, 174_000_000)
    late = (await client.get("/v1/claims/BPJSTK-2024-007", headers=headers)).json()
    assert late["late"] and late["penalty_amount"] == 42_000_000 * late["days_late"] // 100
    reversed_once = (await client.get("/v1/claims/BPJSTK-2024-003", headers=headers)).json()
    assert reversed_once["reversed_amount"] == 42_000_000 and reversed_once["status"] == "paid"


PINNED = Path(__file__).parent / "data" / "demo-claim-answers.json"
"""What the demo's claims answered as of fixed moments: regenerate (LEDGER_REPIN_DEMO_ANSWERS=1)
only when the demo's history itself changes, never because the code reads it otherwise."""
PINNED_MOMENTS = (("2024-03-01", "2024-03-01"), ("2024-12-20", "2025-06-30"))
"""(known_at, valid_at) pairs: during the Pemilu 2024 claims, and the demo's history as a whole."""


async def _check_answers_stay_as_given(client: AsyncClient, keys: Keys) -> None:
    """An answer given for a past moment never changes, not even with a release: a change to how
    claims are assessed comes as a rule of the ledger, dated by its tx (docs/architecture.md,
    "Genesis"). Releases once moved approved amounts, due dates and penalties of decided claims
    by reading the same events otherwise; these pins catch that before it ships."""
    headers = Keys.header(keys.auditor)
    answers: dict[str, Any] = {}
    for known_at, valid_at in PINNED_MOMENTS:
        point = {"known_at": known_at, "valid_at": valid_at}
        listed = await client.get("/v1/claims", params=point | {"limit": "100"}, headers=headers)
        assert listed.status_code == 200, listed.text
        for item in listed.json()["items"]:
            detail = await client.get(f"/v1/claims/{item['claim_id']}", params=point, headers=headers)
            body = detail.json()
            answers[f"{known_at} {valid_at} {item['claim_id']}"] = {
                "listed": {k: v for k, v in item.items() if k != "nik"},
                "status": body["status"],
                "payable_amount": body["payable_amount"],
                "paid_amount": body["paid_amount"],
                "breakdown": [[c["name"], c["amount"]] for c in body["breakdown"]],
                "due_date": body["due_date"],
                "days_late": body.get("days_late"),
                "penalty_amount": body.get("penalty_amount"),
                "flags": body["flags"],
            }
        for report in ("payouts", "overdue-claims", "coverage-ratios"):
            manifest = await client.get(
                f"/v1/reports/{report}/manifest",
                params=point | {"format": "csv", "region": "16"},
                headers=headers,
            )
            assert manifest.status_code == 200, manifest.text
            answers[f"{known_at} {valid_at} report {report}"] = [
                manifest.json()["rows"],
                manifest.json()["sha256"],
            ]
    if os.environ.get("LEDGER_REPIN_DEMO_ANSWERS") == "1":
        PINNED.write_text(json.dumps(answers, indent=1, sort_keys=True) + "\n")
    pinned = json.loads(PINNED.read_text())
    changed = sorted(k for k in pinned.keys() | answers.keys() if pinned.get(k) != answers.get(k))
    assert not changed, f"{len(changed)} answer(s) given for a past moment changed, first: {changed[0]}: " + (
        f"pinned {pinned.get(changed[0])}, now {answers.get(changed[0])}"
    )


async def _check_ratio(client: AsyncClient, keys: Keys, valid_at: str) -> None:
    headers = Keys.header(keys.office)
    url = "/v1/regions/16/coverage"
    params = {"valid_at": valid_at, "segment": "informal"}
    before = (await client.get(url, params=params, headers=headers)).json()
    assert round(100 * before["ratio"], 2) == 9.83
    assert before["potential"] == 30_200
    # as known before the late December payments were recorded, fewer were covered
    earlier = (await client.get(url, params=params | {"known_at": "2024-12-16"}, headers=headers)).json()
    assert earlier["covered"] < before["covered"]
    # a payment found to be a duplicate is retracted today
    covered = (
        await client.get(
            "/v1/persons",
            params={"region": "16", "status": "covered", "valid_at": valid_at, "limit": "1"},
            headers=headers,
        )
    ).json()["items"][0]["nik"]
    retraction = {
        "event_id": "demo-test-retract",
        "type": "event.corrected",
        "supersedes": [f"demo:{covered}:pay-q4"],
        "reason": "paid twice by mistake; refunded",
    }
    posted = await client.post("/v1/events", json={"events": [retraction]}, headers=Keys.header(keys.admin))
    assert posted.status_code == 200, posted.text
    after = (await client.get(url, params=params, headers=headers)).json()
    replay = (
        await client.get(
            url, params=params | {"known_at": f"tx:{before['as_of']['tx_seq']}"}, headers=headers
        )
    ).json()
    assert after["covered"] == before["covered"] - 1
    assert (replay["covered"], replay["ratio"]) == (before["covered"], before["ratio"])


def test_the_history_adds_up_to_the_article_at_any_scale() -> None:
    regencies = [Regency(f"16.{n:02d}", f"R{n}", f"16.{n:02d}.01") for n in range(1, 18)]
    for scale in (100, 1000, 10_000):
        history = build_history(regencies, scale=scale)
        estimates = [e for tx in history.txs for e in tx.events if e["type"] == "potential.estimated"]
        informal = [e for e in estimates if e["segment"] == "informal"]
        assert sum(e["count"] for e in informal) == history.potential == round(30_200_000 / scale)
        officers = sum(e["count"] for e in estimates if e["segment"] == "officer")
        assert officers == max(1, round(120_000 / scale))  # every KPPS: so the `all` ratio is known
        assert round(100 * history.covered / history.potential, 2) == 9.83
        recorded = [tx.recorded_at for tx in history.txs]
        assert recorded == sorted(recorded)
