"""The steps of a claim and its lateness: a claim with nothing payable is never late, the steps keep
their order, an early BPU death counts the months paid, and a reversal makes a claim overdue only
from its day."""

from typing import Any

from httpx import AsyncClient

from tests.claims_support import (
    append,
    approved,
    claim,
    filed,
    kpps_2024,
    only_error,
    paid,
    post,
    reversed_,
)
from tests.support import Keys, corrected, enrolled, enrolled_bpu, nik, registered
from tests.support import paid as contribution


async def test_a_claim_with_nothing_payable_is_never_overdue(client: AsyncClient, keys: Keys) -> None:
    person = nik()
    await append(
        client,
        keys.office,
        registered(person),
        # registered on 1 March, after the term: no cover on the day of the death
        enrolled(
            person,
            event_id="late-kpps",
            valid_from="2024-01-25",
            valid_to="2024-02-24",
            registered_on="2024-03-01",
        ),
        filed("N-1", person, incident="2024-02-14", filed_on="2024-02-20"),
    )
    body = await claim(client, keys.office, "N-1")
    assert (body["covered_on_incident"], body["payable_amount"]) == (False, 0)
    assert "overdue" not in body["flags"]
    assert (body["due_date"], body["penalty_amount"], body["days_late"]) == (None, 0, 0)
    listed = await client.get("/v1/claims", params={"overdue": "true"}, headers=Keys.header(keys.office))
    assert "N-1" not in [c["claim_id"] for c in listed.json()["items"]]


async def test_the_steps_of_a_claim_keep_their_order(client: AsyncClient, keys: Keys) -> None:
    person = await kpps_2024(client, keys)
    early = await post(
        client, keys.office, filed("O-0", person, incident="2024-02-14", complete_on="2024-02-01")
    )
    assert early.status_code == 422, early.text
    assert only_error(early)["field"] == "events[0].complete_on"

    await append(client, keys.office, filed("O-1", person, incident="2024-02-14", filed_on="2024-02-20"))
    steps: list[tuple[dict[str, Any], str, str]] = [
        (approved("O-1", "2024-02-19"), "decided_on", "the claim's filed_on 2024-02-20"),
    ]
    for step, field, earlier in steps:
        response = await post(client, keys.office, step)
        assert response.status_code == 422, response.text
        error = only_error(response)
        assert (error["code"], error["field"]) == ("day_out_of_order", f"events[0].{field}")
        assert earlier in error["message"]
    await append(client, keys.office, approved("O-1", "2024-02-21"))
    too_soon = await post(client, keys.office, paid("O-1", 42_000_000, "2024-02-20"))
    assert too_soon.status_code == 422, too_soon.text
    assert only_error(too_soon)["message"] == "paid_on 2024-02-20 is before the decision of 2024-02-21"
    await append(client, keys.office, paid("O-1", 42_000_000, "2024-02-22", event_id="O-1-pay"))
    named = await post(
        client, keys.office, reversed_("O-1", "bounced", payment_event_id="O-1-pay", reversed_on="2024-02-21")
    )
    assert named.status_code == 422, named.text
    assert only_error(named)["field"] == "events[0].reversed_on"
    redated = approved("O-1", "2024-02-28", event_id="O-1-approved-again")
    moved = await post(client, keys.office, corrected("redate", ["O-1-approved"], replacement=redated))
    assert moved.status_code == 422, moved.text
    assert only_error(moved)["message"] == (
        "decided_on 2024-02-28 is after the payment of 2024-02-22 it allowed; a decision comes first"
    )
    unnamed = await post(client, keys.office, reversed_("O-1", "bounced", reversed_on="2024-02-21"))
    assert unnamed.status_code == 409, unnamed.text
    assert (
        only_error(unnamed)["message"]
        == "no payment of this claim was paid on or before reversed_on 2024-02-21"
    )


async def test_an_early_bpu_death_counts_the_months_paid_not_the_months_enrolled(
    client: AsyncClient, keys: Keys
) -> None:
    """Enrolled on 1 Jan 2025 but paying only from March: on 10 April the member has been
    "active & paying" for two months, so JKM pays the early amount (facts.md)."""
    amounts = {}
    for label, first_month in (("paid-late", "2025-03"), ("paid-from-start", "2025-01")):
        person = nik()
        months = 4 - int(first_month[-1]) + 1
        await append(
            client,
            keys.office,
            registered(person),
            enrolled_bpu(person, event_id=f"bpu-{person}", valid_from="2025-01-01"),
            contribution(
                person,
                event_id=f"pay-{person}",
                months=(first_month, "2025-04"),
                amount=months * 16_800,
                paid_on="2025-03-05",
            ),
            filed(f"E-{label}", person, incident="2025-04-10", filed_on="2025-04-12"),
        )
        amounts[label] = (await claim(client, keys.office, f"E-{label}"))["payable_amount"]
    assert amounts == {"paid-late": 10_000_000, "paid-from-start": 42_000_000}


async def test_the_overdue_report_counts_lateness_as_the_claim_read_does(
    client: AsyncClient, keys: Keys
) -> None:
    """Due 23 Feb, paid 11 days late on 5 Mar, the payment reversed on 20 Mar: on 22 Mar it is 13
    days late in the read and in the report alike (the first stretch's days are not forgotten)."""
    person = await kpps_2024(client, keys)
    await append(
        client,
        keys.office,
        filed("L-1", person, incident="2024-02-14", filed_on="2024-02-20"),
        approved("L-1", "2024-02-21"),
        paid("L-1", 42_000_000, "2024-03-05", event_id="L-1-pay"),
    )
    await append(
        client,
        keys.office,
        reversed_("L-1", "wrong account", payment_event_id="L-1-pay", reversed_on="2024-03-20"),
    )
    read = await claim(client, keys.office, "L-1", valid_at="2024-03-22")
    assert (read["due_date"], read["days_late"], read["penalty_amount"]) == ("2024-03-20", 13, 5_460_000)
    report = await client.get(
        "/v1/reports/overdue-claims",
        params={"region": "16", "valid_at": "2024-03-22", "format": "json"},
        headers=Keys.header(keys.office),
    )
    body = report.json()
    row = dict(zip(body["columns"], next(r for r in body["rows"] if r[0] == "L-1"), strict=True))
    assert (row["due_date"], row["days_late"], row["penalty_amount"]) == ("2024-03-20", 13, 5_460_000)


async def test_a_claim_partly_reversed_is_overdue_only_from_the_reversal(
    client: AsyncClient, keys: Keys
) -> None:
    """Paid in full on 22 Feb (due 23 Feb), half of it taken back on 5 Mar: not overdue on 26 Feb,
    5 days late on 10 Mar, in the read, the overdue list and the report alike."""
    person = await kpps_2024(client, keys)
    await append(
        client,
        keys.office,
        filed("H-1", person, incident="2024-02-14", filed_on="2024-02-20"),
        approved("H-1", "2024-02-21"),
        paid("H-1", 21_000_000, "2024-02-22", event_id="H-1-a"),
        paid("H-1", 21_000_000, "2024-02-22", event_id="H-1-b"),
    )
    await append(
        client, keys.office, reversed_("H-1", "bounced", payment_event_id="H-1-b", reversed_on="2024-03-05")
    )

    async def overdue_list(day: str) -> bool:
        listed = await client.get(
            "/v1/claims", params={"overdue": "true", "valid_at": day}, headers=Keys.header(keys.office)
        )
        return "H-1" in [c["claim_id"] for c in listed.json()["items"]]

    early = await claim(client, keys.office, "H-1", valid_at="2024-02-26")
    assert ("overdue" in early["flags"], await overdue_list("2024-02-26")) == (False, False)
    later = await claim(client, keys.office, "H-1", valid_at="2024-03-10")
    assert (later["due_date"], later["days_late"], "overdue" in later["flags"]) == ("2024-03-05", 5, True)
    assert await overdue_list("2024-03-10") is True


async def test_a_claim_whose_only_partial_payment_is_reversed_stays_overdue(
    client: AsyncClient, keys: Keys
) -> None:
    """Half paid on 22 Feb (due 23 Feb), that half taken back on 5 Mar: it was never paid in full,
    so it is overdue from 24 Feb on, in the read and the list alike."""
    person = await kpps_2024(client, keys)
    await append(
        client,
        keys.office,
        filed("N-2", person, incident="2024-02-14", filed_on="2024-02-20"),
        approved("N-2", "2024-02-21"),
        paid("N-2", 21_000_000, "2024-02-22", event_id="N-2-a"),
    )
    await append(
        client, keys.office, reversed_("N-2", "bounced", payment_event_id="N-2-a", reversed_on="2024-03-05")
    )
    for day in ("2024-02-26", "2024-03-10"):
        read = await claim(client, keys.office, "N-2", valid_at=day)
        listed = await client.get(
            "/v1/claims", params={"overdue": "true", "valid_at": day}, headers=Keys.header(keys.office)
        )
        assert "overdue" in read["flags"], (day, read)
        assert "N-2" in [c["claim_id"] for c in listed.json()["items"]], day
