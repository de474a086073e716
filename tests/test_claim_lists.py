"""Payouts and claim lists: paid amounts by benefit, region and month as known then and now, an
office's overdue claims, and the due dates lists give."""

from datetime import date, timedelta
from typing import Any

from httpx import AsyncClient

from tests.claims_support import (
    append,
    approved,
    claim,
    filed,
    kpps_2024,
    paid,
    paid_in_full,
    reversed_,
)
from tests.support import Keys


async def _three_paid_claims(client: AsyncClient, keys: Keys) -> tuple[int, int]:
    first = await kpps_2024(client, keys)
    second = await kpps_2024(client, keys, region="16.71.02")
    third = await kpps_2024(client, keys)
    await append(
        client,
        keys.office,
        filed("P-1", first, incident="2024-02-14", filed_on="2024-02-20"),
        approved("P-1", "2024-02-21"),
        paid("P-1", 42_000_000, "2024-02-22"),
        filed(
            "P-2", second, benefit="JKK_DEATH", incident="2024-02-14", wage=1_200_000, filed_on="2024-02-20"
        ),
        approved("P-2", "2024-02-21"),
        paid("P-2", 79_600_000, "2024-03-05"),
        filed("P-3", third, incident="2024-02-10", filed_on="2024-02-20"),
        approved("P-3", "2024-02-21"),
    )
    before = await append(client, keys.office, paid("P-3", 42_000_000, "2024-02-23"))
    after = await append(client, keys.office, reversed_("P-3", "paid to the wrong account"))
    return before, after


async def payouts(client: AsyncClient, secret: str, **params: str) -> dict[str, Any]:
    response = await client.get("/v1/payouts", params=params, headers=Keys.header(secret))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def sums(body: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return {g["key"]: (g["claims"], g["paid_amount"]) for g in body["groups"]}


async def test_payouts_by_benefit_region_and_month_as_known_then_and_now(
    client: AsyncClient, keys: Keys
) -> None:
    before, _ = await _three_paid_claims(client, keys)
    now = await payouts(client, keys.office, group_by="benefit", region="16.71")
    assert sums(now) == {"JKM": (1, 42_000_000), "JKK_DEATH": (1, 79_600_000)}
    assert (now["total"]["claims"], now["total"]["paid_amount"]) == (2, 121_600_000)
    then = await payouts(client, keys.office, group_by="benefit", region="16.71", known_at=f"tx:{before}")
    assert sums(then) == {"JKM": (2, 84_000_000), "JKK_DEATH": (1, 79_600_000)}
    by_region = await payouts(client, keys.office, group_by="region", region="16.71")
    assert sums(by_region) == {"16.71.01": (1, 42_000_000), "16.71.02": (1, 79_600_000)}
    assert all(g["name"] for g in by_region["groups"])
    by_month = await payouts(
        client, keys.office, group_by="month", **{"from": "2024-03-01", "to": "2024-04-01"}
    )
    assert sums(by_month) == {"2024-03": (1, 79_600_000)}
    hidden = await client.get(
        "/v1/payouts", params={"region": "16.71"}, headers=Keys.header(keys.other_office)
    )
    assert hidden.status_code == 404
    elsewhere = await payouts(client, keys.other_office)
    assert elsewhere["total"] == {"key": "total", "name": None, "claims": 0, "payments": 0, "paid_amount": 0}
    backwards = await client.get(
        "/v1/payouts", params={"from": "2024-03-01", "to": "2024-03-01"}, headers=Keys.header(keys.office)
    )
    assert backwards.status_code == 422


async def test_an_office_lists_its_overdue_claims(client: AsyncClient, keys: Keys) -> None:
    await _three_paid_claims(client, keys)
    person = await kpps_2024(client, keys)
    await append(
        client,
        keys.office,
        filed("P-4", person, incident="2024-02-14", filed_on="2024-03-01", complete_on="2024-03-04"),
        approved("P-4", "2024-03-05"),
    )

    async def overdue_on(day: str) -> list[str]:
        response = await client.get(
            "/v1/claims", params={"overdue": "true", "valid_at": day}, headers=Keys.header(keys.office)
        )
        assert response.status_code == 200, response.text
        return [c["claim_id"] for c in response.json()["items"]]

    assert await overdue_on("2024-03-06") == []
    assert await overdue_on("2024-03-20") == ["P-4"]
    # from the day after its due date, not later (mutation testing: a day's grace passed)
    due = date.fromisoformat((await claim(client, keys.office, "P-4", valid_at="2024-03-06"))["due_date"])
    assert await overdue_on(due.isoformat()) == []
    assert await overdue_on((due + timedelta(days=1)).isoformat()) == ["P-4"]
    every = await client.get("/v1/claims", params={"limit": "2"}, headers=Keys.header(keys.office))
    page = every.json()
    assert [c["claim_id"] for c in page["items"]] == ["P-1", "P-2"]
    rest = await client.get(
        "/v1/claims", params={"limit": "2", "cursor": page["next_cursor"]}, headers=Keys.header(keys.office)
    )
    assert [c["claim_id"] for c in rest.json()["items"]] == ["P-3", "P-4"]
    assert rest.json()["next_cursor"] is None
    reversed_only = await client.get(
        "/v1/claims", params={"status": "reversed"}, headers=Keys.header(keys.office)
    )
    assert [c["claim_id"] for c in reversed_only.json()["items"]] == ["P-3"]


async def _listed(client: AsyncClient, keys: Keys, **params: str) -> dict[str, Any]:
    response = await client.get("/v1/claims", params=params, headers=Keys.header(keys.office))
    assert response.status_code == 200, response.text
    return {c["claim_id"]: c for c in response.json()["items"]}


async def test_a_claim_paid_late_was_overdue_on_the_days_before_its_payment(
    client: AsyncClient, keys: Keys
) -> None:
    """Complete 20 Feb 2024, due 23 Feb, paid only on 5 Mar: on 28 Feb it was overdue, and the
    list and the report as of that day say so, as the claim read does, however it was paid later."""
    person = await kpps_2024(client, keys)
    await append(
        client,
        keys.office,
        filed("P-late", person, incident="2024-02-14", filed_on="2024-02-20"),
        approved("P-late", "2024-02-21"),
        paid("P-late", 42_000_000, "2024-03-05"),
    )
    read = await claim(client, keys.office, "P-late", valid_at="2024-02-28")
    assert ("overdue" in read["flags"], read["due_date"], read["days_late"]) == (True, "2024-02-23", 5)
    listed = await _listed(client, keys, overdue="true", valid_at="2024-02-28")
    assert listed["P-late"]["due_date"] == "2024-02-23"
    assert "P-late" not in await _listed(client, keys, overdue="true", valid_at="2024-03-05")
    assert "P-late" not in await _listed(client, keys, overdue="true", valid_at="2024-02-23")
    report = await client.get(
        "/v1/reports/overdue-claims",
        params={"region": "16", "valid_at": "2024-02-28", "format": "json"},
        headers=Keys.header(keys.office),
    )
    body = report.json()
    rows = [dict(zip(body["columns"], r, strict=True)) for r in body["rows"]]
    late = next(r for r in rows if r["claim_id"] == "P-late")
    assert (late["due_date"], late["days_late"], late["penalty_amount"]) == ("2024-02-23", 5, 2_100_000)


async def test_the_list_gives_the_due_date_the_claim_read_gives(client: AsyncClient, keys: Keys) -> None:
    """Two claims due 23 Feb and paid on 22 Feb, their payments taken back on 1 Mar; one paid
    again on 4 Mar. The one still owed is due from the reversal, the one paid again from its
    service time, in the list as in the read."""
    for claim_id, repaid in (("D-open", False), ("D-repaid", True)):
        person = await kpps_2024(client, keys)
        await append(client, keys.office, *paid_in_full(claim_id, person, payment_id=f"{claim_id}-p1"))
        await append(
            client,
            keys.office,
            reversed_(claim_id, "wrong account", payment_event_id=f"{claim_id}-p1", reversed_on="2024-03-01"),
        )
        if repaid:
            await append(client, keys.office, paid(claim_id, 42_000_000, "2024-03-04"))
    listed = await _listed(client, keys)
    for claim_id, due in (("D-open", "2024-03-01"), ("D-repaid", "2024-02-23")):
        read = await claim(client, keys.office, claim_id)
        assert (read["due_date"], listed[claim_id]["due_date"]) == (due, due), claim_id


async def test_payouts_count_a_payment_on_the_first_day_and_not_on_the_last_in_order(
    client: AsyncClient, keys: Keys
) -> None:
    """`from` is the first payment day, `to` exclusive, groups in key order (mutation testing:
    either end moved by a day, or the groups reversed, passed every test)."""
    february, march = await kpps_2024(client, keys), await kpps_2024(client, keys)
    for claim_id, person, paid_on in (("B-feb", february, "2024-02-22"), ("B-mar", march, "2024-03-01")):
        await append(
            client,
            keys.office,
            filed(claim_id, person, incident="2024-02-14", filed_on="2024-02-20"),
            approved(claim_id, "2024-02-21"),
            paid(claim_id, 42_000_000, paid_on),
        )

    async def payouts(**params: str) -> Any:
        response = await client.get("/v1/payouts", params=params, headers=Keys.header(keys.office))
        assert response.status_code == 200, response.text
        return response.json()

    first_day = await payouts(**{"from": "2024-03-01", "to": "2024-03-02", "group_by": "benefit"})
    assert (first_day["total"]["claims"], first_day["total"]["paid_amount"]) == (1, 42_000_000)
    before_it = await payouts(**{"from": "2024-02-01", "to": "2024-03-01", "group_by": "benefit"})
    assert (before_it["total"]["claims"], before_it["total"]["paid_amount"]) == (1, 42_000_000)
    months = await payouts(**{"from": "2024-02-01", "to": "2024-04-01", "group_by": "month"})
    assert [group["key"] for group in months["groups"]] == ["2024-02", "2024-03"]
