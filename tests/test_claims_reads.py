"""Claims of informal workers, payouts, the overdue list, and two payers racing."""

import asyncio

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.database.migrate import apply_pending_reprojections
from coverage_ledger.ledger.rebuild import rebuild_check
from tests.claims_support import (
    append,
    approved,
    claim,
    filed,
    kpps_2024,
    paid,
    paid_in_full,
    post,
    reversed_,
)
from tests.live_app import live_app
from tests.support import Keys, corrected, enrolled, enrolled_bpu, nik, registered
from tests.support import paid as contribution_paid

MONTHLY = 16_800  # JKK 1% of Rp1,000,000 + JKM Rp6,800 (2025: no relief)


async def test_sidoarjo_arrears_paid_after_the_death_make_jkm_payable_and_flagged(
    client: AsyncClient, keys: Keys
) -> None:
    """Paid through July, died in September, lapsed; the office reopened the membership on
    17 December and the heirs paid the arrears that day (facts.md)."""
    person = nik()
    await append(
        client,
        keys.office,
        registered(person),
        enrolled_bpu(person, event_id="bpu-s", valid_from="2025-01-01"),
        contribution_paid(
            person,
            event_id="pay-jan-jul",
            months=("2025-01", "2025-07"),
            amount=7 * MONTHLY,
            paid_on="2025-01-10",
        ),
    )
    await append(client, keys.office, filed("C-sid", person, incident="2025-09-20", filed_on="2025-12-16"))
    early = await post(client, keys.office, approved("C-sid", "2025-12-16"))
    assert early.status_code == 409
    assert "not covered for JKM" in early.json()["errors"][0]["message"]
    await append(
        client,
        keys.office,
        {
            "event_id": "reopen",
            "type": "membership.reactivated",
            "nik": person,
            "reason": "state programme: heirs pay the arrears",
            "reactivated_on": "2025-12-17",
        },
        contribution_paid(
            person,
            event_id="arrears",
            months=("2025-08", "2025-12"),
            amount=5 * MONTHLY,
            paid_on="2025-12-17",
        ),
    )
    await append(client, keys.office, approved("C-sid", "2025-12-17"))
    body = await claim(client, keys.office, "C-sid", valid_at="2025-12-18")
    assert body["status"] == "approved"
    assert body["payable_amount"] == 42_000_000
    assert body["flags"] == ["cover_recorded_after_incident"]
    assert "arrears" in body["when_decided"]["reason"]


async def test_an_informal_worker_dying_within_three_months_of_joining_gets_10_million(
    client: AsyncClient, keys: Keys
) -> None:
    person = nik()
    await append(
        client,
        keys.office,
        registered(person),
        enrolled_bpu(person, event_id="bpu-new", valid_from="2025-08-01"),
        contribution_paid(
            person,
            event_id="pay-new",
            months=("2025-08", "2025-09"),
            amount=2 * MONTHLY,
            paid_on="2025-08-01",
        ),
        filed("C-new", person, incident="2025-09-15", filed_on="2025-09-20"),
        approved("C-new", "2025-09-22"),
    )
    body = await claim(client, keys.office, "C-new")
    assert body["payable_amount"] == 10_000_000
    assert {c["name"]: c["amount"] for c in body["breakdown"]} == {
        "lump_sum": 8_000_000,
        "funeral": 2_000_000,
    }


async def test_a_jkk_death_records_the_childrens_scholarship_as_a_yearly_entitlement(
    client: AsyncClient, keys: Keys
) -> None:
    person = await kpps_2024(client, keys)
    await append(
        client,
        keys.office,
        filed(
            "C-kids",
            person,
            benefit="JKK_DEATH",
            incident="2024-02-14",
            wage=1_200_000,
            filed_on="2024-02-20",
            children=[{"level": "TK"}, {"level": "TK"}, {"level": "SD"}],
            claimant={"nik": nik(), "relation": "spouse"},
        ),
    )
    body = await claim(client, keys.office, "C-kids")
    assert body["payable_amount"] == 79_600_000  # the scholarship is not in the amount
    assert body["scholarship_total"] == 174_000_000  # two children from TK: Rp87 million each
    assert {s["child"] for s in body["scholarships"]} == {1, 2}
    assert body["scholarships"][0] == {"child": 1, "school_year": 2023, "level": "TK", "amount": 1_500_000}
    assert body["claimant"]["relation"] == "spouse"
    assert body["payee"] == body["claimant"]


async def test_two_offices_paying_the_same_claim_at_once_cannot_both_win(fresh_database: str) -> None:
    async with live_app(fresh_database) as (_, client, keys):
        person = await kpps_2024(client, keys)
        await append(
            client,
            keys.office,
            filed("R-1", person, incident="2024-02-14", filed_on="2024-02-20"),
            approved("R-1", "2024-02-21"),
        )
        for attempt in range(3):
            replies = await asyncio.gather(
                post(client, keys.office, paid("R-1", 42_000_000, "2024-02-22", event_id=f"pay-a-{attempt}")),
                post(client, keys.office, paid("R-1", 42_000_000, "2024-02-22", event_id=f"pay-b-{attempt}")),
            )
            codes = sorted(r.status_code for r in replies)
            if attempt == 0:
                assert codes == [200, 409], [r.text for r in replies]
            else:
                assert codes == [409, 409]
        body = await claim(client, keys.office, "R-1")
        assert (body["status"], body["paid_amount"], len(body["payments"])) == ("paid", 42_000_000, 1)


async def test_a_claim_whose_payments_were_all_reversed_is_overdue_from_the_reversal_on(
    client: AsyncClient, keys: Keys
) -> None:
    """Complete 4 Mar 2024, due 7 Mar, paid 6 Mar, the payment taken back on 12 Mar: owed again
    from 12 Mar, so overdue from then on, and not on the days it was paid."""
    person = await kpps_2024(client, keys)
    await append(
        client,
        keys.office,
        filed("R-back", person, incident="2024-02-14", filed_on="2024-03-01", complete_on="2024-03-04"),
        approved("R-back", "2024-03-05"),
        paid("R-back", 42_000_000, "2024-03-06", event_id="r-back-p1"),
    )
    await append(
        client,
        keys.office,
        reversed_(
            "R-back", "paid to the wrong account", payment_event_id="r-back-p1", reversed_on="2024-03-12"
        ),
    )

    async def overdue_on(day: str) -> bool:
        listed = await client.get(
            "/v1/claims", params={"overdue": "true", "valid_at": day}, headers=Keys.header(keys.office)
        )
        detail = await claim(client, keys.office, "R-back", valid_at=day)
        in_list = "R-back" in [c["claim_id"] for c in listed.json()["items"]]
        assert in_list == ("overdue" in detail["flags"]), (day, detail["flags"])
        return in_list

    assert await overdue_on("2024-03-11") is False
    assert await overdue_on("2024-03-12") is False  # owed again from that day: not yet late
    assert await overdue_on("2024-03-20") is True
    # late from the reversal, not from the first due date (7 Mar): 8 days, 1% of Rp42M a day
    paid_then = await claim(client, keys.office, "R-back", valid_at="2024-03-11")
    assert (paid_then["days_late"], paid_then["penalty_amount"]) == (0, 0)
    owed = await claim(client, keys.office, "R-back", valid_at="2024-03-20")
    assert (owed["due_date"], owed["days_late"], owed["penalty_amount"]) == ("2024-03-12", 8, 3_360_000)
    report = await client.get(
        "/v1/reports/overdue-claims",
        params={"region": "16", "valid_at": "2024-03-20", "format": "json"},
        headers=Keys.header(keys.office),
    )
    body = report.json()
    columns = body["columns"]
    row = dict(zip(columns, next(r for r in body["rows"] if r[0] == "R-back"), strict=True))
    assert (row["due_date"], row["days_late"], row["penalty_amount"]) == ("2024-03-12", 8, 3_360_000)


async def test_an_upgrade_rebuilds_the_claim_projection_a_migration_left_pending(
    client: AsyncClient, keys: Keys, session: AsyncSession
) -> None:
    """Migration 0010 added claim_record.reversed_on: rows written before it hold NULL there, and
    the next `db upgrade` rebuilds the claims from the log."""
    person = await kpps_2024(client, keys)
    await append(client, keys.office, *paid_in_full("R-old", person, payment_id="r-old-p1"))
    await append(client, keys.office, reversed_("R-old", "returned", reversed_on="2024-02-23"))
    assert await rebuild_check(session) == []
    await session.execute(text("UPDATE claim_record SET reversed_on = NULL"))  # as the migration left it
    await session.execute(
        text("INSERT INTO pending_reprojection (projection, reason) VALUES ('claims', 'test')")
    )
    assert any("claim_record" in d for d in await rebuild_check(session))
    assert await apply_pending_reprojections(session) == ["claims"]
    assert await rebuild_check(session) == []
    assert await apply_pending_reprojections(session) == []


async def test_a_persons_history_shows_a_regional_key_only_the_claims_placed_in_its_region(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by a probe: an office of region 16 saw, through a person's history, a claim placed
    in region 32 that `GET /v1/claims/{id}` refused it. The person is visible to it through a
    later term in 16; the claim, on an incident during a term in 32, is not."""
    person = nik(district="320101")
    await append(
        client,
        keys.admin,
        registered(person, region="32.01.01"),
        enrolled(
            person,
            event_id=f"kpps32-{person}",
            valid_from="2024-01-25",
            valid_to="2024-02-24",
            registered_on="2024-01-20",
            region="32.01.01",
            committee="KPU-32.01",
        ),
        enrolled(
            person,
            event_id=f"pps16-{person}",
            valid_from="2024-10-01",
            valid_to="2024-12-01",
            registered_on="2024-09-20",
            role="PPS",
        ),
    )
    claim_id = f"JKK32-{person}"
    await append(
        client,
        keys.admin,
        filed(
            claim_id,
            person,
            benefit="JKK_TEMPORARY",
            incident="2024-02-14",
            wage=3_000_000,
            incapacity_months=2,
            filed_on="2024-02-15",
        ),
    )
    refiled = filed(
        claim_id,
        person,
        benefit="JKK_TEMPORARY",
        incident="2024-02-14",
        wage=3_100_000,
        incapacity_months=2,
        filed_on="2024-02-15",
    )
    await append(
        client,
        keys.admin,
        corrected(
            f"fix-{claim_id}",
            [f"{claim_id}-filed"],
            replacement=refiled | {"event_id": f"{claim_id}-refiled"},
        ),
    )
    await append(client, keys.admin, approved(claim_id, "2024-02-20"))

    async def history(secret: str) -> list[str]:
        response = await client.get(
            f"/v1/persons/{person}/history?valid_at=2024-11-01", headers=Keys.header(secret)
        )
        assert response.status_code == 200, response.text
        return [e["event_id"] for e in response.json()["events"]]

    # the claim's events, its approval too, which names the claim only (found by a regression
    # probe: a history listed no decision, payment or reversal of the person's claims)
    claim_events = {f"{claim_id}-filed", f"{claim_id}-refiled", f"{claim_id}-approved"}
    assert claim_events <= set(await history(keys.auditor))
    office = await history(keys.office)
    assert f"pps16-{person}" in office and not claim_events & set(office), office
    assert (await client.get(f"/v1/claims/{claim_id}", headers=Keys.header(keys.office))).status_code == 404
    assert (
        await client.get(f"/v1/claims/{claim_id}", headers=Keys.header(keys.other_office))
    ).status_code == 200


async def test_the_service_time_starts_with_the_earliest_cover_whoever_reads(
    client: AsyncClient, keys: Keys, session: AsyncSession
) -> None:
    """Found by a review: the start of the service time was taken from the cover as the reader
    saw it, and from the latest of every covering source. A KPPS term in Palembang covered the
    death of 10 September from the start; a Bogor BPU membership in arrears was paid for
    September only on 20 October. The claim, complete on 12 September, was approvable then: due
    17 September for every key, in the list, and as a rebuild computes it."""
    person = nik()
    await append(
        client,
        keys.admin,
        registered(person),
        enrolled(
            person,
            event_id=f"kpps-{person}",
            valid_from="2025-09-01",
            valid_to="2025-10-01",
            registered_on="2025-08-25",
        ),
        enrolled_bpu(person, event_id=f"bpu-{person}", valid_from="2025-01-01", region="32.01.01"),
        contribution_paid(
            person,
            event_id=f"p-{person}",
            months=("2025-01", "2025-08"),
            amount=8 * MONTHLY,
            paid_on="2025-01-02",
        ),
    )
    await append(
        client,
        keys.office,
        filed("S-two", person, incident="2025-09-10", filed_on="2025-09-12", complete_on="2025-09-12"),
    )
    september = contribution_paid(
        person, event_id=f"sep-{person}", months=("2025-09", "2025-09"), amount=MONTHLY, paid_on="2025-10-20"
    )
    await append(client, keys.admin, september)
    await append(
        client, keys.office, approved("S-two", "2025-10-21"), paid("S-two", 42_000_000, "2025-10-24")
    )
    for key in (keys.office, keys.admin):
        body = await claim(client, key, "S-two", valid_at="2025-11-01")
        assert (body["due_date"], body["days_late"]) == ("2025-09-17", 37), body
    listed = await client.get("/v1/claims", params={"region": "16"}, headers=Keys.header(keys.office))
    [row] = [c for c in listed.json()["items"] if c["claim_id"] == "S-two"]
    assert row["due_date"] == "2025-09-17", row
    assert await rebuild_check(session) == []
