"""Claim and BPU rules that a rules probe found missing: a death is paid once, a claim with
nothing payable is never late, the steps of a claim keep their order, an early BPU death counts
the months paid, and the days of cover events are not after the day they are recorded."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from httpx import AsyncClient

from coverage_ledger.domain.timeframes import jakarta_date
from tests.claims_support import (
    append,
    approved,
    claim,
    filed,
    kpps_2024,
    member_paid_for_the_first_quarter,
    paid,
    post,
    rejected,
    reversed_,
)
from tests.live_app import live_app
from tests.support import Keys, corrected, enrolled, enrolled_bpu, nik, registered
from tests.support import paid as contribution


def only_error(response: Any) -> dict[str, str]:
    errors: list[dict[str, str]] = response.json()["errors"]
    assert len(errors) == 1, errors
    return errors[0]


async def test_a_person_dies_once_and_has_no_incident_after_it(client: AsyncClient, keys: Keys) -> None:
    person = await kpps_2024(client, keys)
    on_duty = filed(
        "D-1", person, benefit="JKK_DEATH", incident="2024-02-14", filed_on="2024-02-20", wage=1_100_000
    )
    head = await append(client, keys.office, on_duty)

    second = await post(
        client, keys.office, filed("D-2", person, incident="2024-02-14", filed_on="2024-02-20")
    )
    assert second.status_code == 409, second.text
    error = only_error(second)
    assert (error["code"], error["field"]) == ("death_already_claimed", "events[0].benefit")
    assert "claim 'D-1'" in error["message"]

    later = filed(
        "D-3",
        person,
        benefit="JKK_TEMPORARY",
        incident="2024-02-20",
        filed_on="2024-02-21",
        wage=1_100_000,
        incapacity_months=2,
    )
    after = await post(client, keys.office, later)
    assert after.status_code == 409, after.text
    error = only_error(after)
    assert (error["code"], error["field"]) == ("incident_after_death", "events[0].incident_date")
    assert "2024-02-20 is after the death that claim 'D-1' claims (2024-02-14)" in error["message"]

    both = await post(
        client,
        keys.office,
        filed("D-4", person, incident="2024-02-14", filed_on="2024-02-20"),
        filed("D-5", person, benefit="JKK_DEATH", incident="2024-02-14", wage=1_100_000),
    )
    assert both.status_code == 409, both.text
    assert {e["code"] for e in both.json()["errors"]} == {"death_already_claimed"}

    # the office finds the death did not come from work: it rejects the JKK claim and files JKM
    assert await append(client, keys.office, rejected("D-1", "2024-02-21", "died before duty")) == head + 1
    await append(client, keys.office, filed("D-2", person, incident="2024-02-14", filed_on="2024-02-20"))
    assert (await claim(client, keys.office, "D-2"))["payable_amount"] == 42_000_000


async def test_another_regions_death_claim_is_not_named(client: AsyncClient, keys: Keys) -> None:
    """A committee of 16.71 enrols a person registered in another province; its own claim is
    then refused without the name of the home office's claim."""
    person = nik(district="320101")
    await append(
        client,
        keys.admin,
        registered(person, region="32.01.01"),
        filed("H-1", person, incident="2024-02-14", filed_on="2024-02-20"),
    )
    await append(
        client,
        keys.admin,
        enrolled(
            person,
            event_id="kpps-far",
            valid_from="2024-01-25",
            valid_to="2024-02-24",
            registered_on="2024-01-20",
        ),
    )
    refused = await post(
        client, keys.office, filed("H-2", person, incident="2024-02-14", filed_on="2024-02-21")
    )
    assert refused.status_code == 409, refused.text
    error = only_error(refused)
    assert error["code"] == "death_already_claimed"
    assert "H-1" not in error["message"] and "another claim" in error["message"]
    injury = filed(
        "H-3", person, benefit="JKK_TEMPORARY", incident="2024-02-20", wage=1_100_000, incapacity_months=1
    )
    after = await post(client, keys.office, injury)
    assert after.status_code == 409, after.text
    error = only_error(after)
    assert error["code"] == "incident_after_death"
    assert "H-1" not in error["message"] and "2024-02-14" not in error["message"]  # not even its date


async def test_a_committee_reads_no_claim_through_a_persons_history(client: AsyncClient, keys: Keys) -> None:
    person = await kpps_2024(client, keys)
    await append(client, keys.office, filed("V-1", person, incident="2024-02-14"))
    for secret, sees_claim in ((keys.committee, False), (keys.office, True)):
        history = await client.get(f"/v1/persons/{person}/history", headers=Keys.header(secret))
        types = {e["type"] for e in history.json()["events"]}
        assert ("claim.filed" in types) is sees_claim and "officer.enrolled" in types


async def test_a_rejected_death_claim_does_not_come_back_beside_another(
    client: AsyncClient, keys: Keys
) -> None:
    person = await kpps_2024(client, keys)
    await append(client, keys.office, filed("U-1", person, incident="2024-02-14"))
    await append(client, keys.office, rejected("U-1", "2024-02-21", "died on duty: JKK"))
    await append(
        client,
        keys.office,
        filed(
            "U-2", person, benefit="JKK_DEATH", incident="2024-02-14", filed_on="2024-02-21", wage=1_100_000
        ),
        approved("U-2", "2024-02-22"),
    )
    unrejected = await post(client, keys.office, corrected("unreject", ["U-1-rejected"], reason="oops"))
    assert unrejected.status_code == 409, unrejected.text
    assert only_error(unrejected)["code"] == "death_already_claimed"


async def test_a_death_claim_is_refiled_as_the_other_benefit_in_one_batch(
    client: AsyncClient, keys: Keys
) -> None:
    person = await kpps_2024(client, keys)
    await append(
        client, keys.office, filed("R-1", person, benefit="JKK_DEATH", incident="2024-02-14", wage=1_100_000)
    )
    await append(
        client,
        keys.office,
        corrected("not-on-duty", ["R-1-filed"], reason="died before duty"),
        filed("R-2", person, incident="2024-02-14"),
    )
    # the JKM claim stands with the JKM lump sum; the withdrawn JKK death claim is no claim now
    refiled = await claim(client, keys.office, "R-2")
    assert (refiled["benefit"], refiled["payable_amount"]) == ("JKM", 42_000_000), refiled
    withdrawn = await client.get("/v1/claims/R-1", headers=Keys.header(keys.office))
    assert withdrawn.status_code == 404, withdrawn.text


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


async def test_a_wage_or_payment_of_nothing_is_refused(client: AsyncClient, keys: Keys) -> None:
    person = await kpps_2024(client, keys)
    no_wage = await post(
        client, keys.office, filed("Z-1", person, benefit="JKK_DEATH", incident="2024-02-14", wage=0)
    )
    assert no_wage.status_code == 422, no_wage.text
    assert only_error(no_wage)["field"] == "events[0].wage"
    await append(
        client, keys.office, filed("Z-2", person, incident="2024-02-14"), approved("Z-2", "2024-02-21")
    )
    for amount in (0, -5):
        nothing = await post(client, keys.office, paid("Z-2", amount, "2024-02-22"))
        assert nothing.status_code == 422, nothing.text
        error = only_error(nothing)
        assert (error["field"], error["code"]) == ("events[0].amount", "out_of_range")


async def test_a_reactivated_member_is_told_the_last_month_paid(client: AsyncClient, keys: Keys) -> None:
    """The Sidoarjo pattern: paid to July, lapsed, reactivated on 17 December with the arrears."""
    person = nik()
    await append(
        client,
        keys.office,
        registered(person),
        enrolled_bpu(person, event_id=f"bpu-{person}", valid_from="2024-01-01"),
        contribution(
            person,
            event_id=f"pay1-{person}",
            months=("2024-01", "2024-07"),
            amount=7 * 16_800,
            paid_on="2024-01-05",
        ),
    )
    await append(
        client,
        keys.office,
        {
            "event_id": f"re-{person}",
            "type": "membership.reactivated",
            "nik": person,
            "reason": "heirs paid the arrears",
            "reactivated_on": "2024-12-17",
        },
        contribution(
            person,
            event_id=f"pay2-{person}",
            months=("2024-08", "2024-09"),
            amount=2 * 16_800,
            paid_on="2024-12-17",
        ),
    )
    response = await client.get(
        f"/v1/persons/{person}/coverage", params={"valid_at": "2024-12-17"}, headers=Keys.header(keys.office)
    )
    body = response.json()
    assert body["status"] == "in_arrears", body
    assert "protection ended after Sep 2024" in body["reason"], body["reason"]


async def test_cover_is_not_dated_after_the_day_it_is_recorded(client: AsyncClient, keys: Keys) -> None:
    tomorrow = (jakarta_date(datetime.now(UTC)) + timedelta(days=1)).isoformat()
    member, officer, newcomer = nik(), nik(), nik()
    await append(
        client,
        keys.office,
        registered(member),
        enrolled_bpu(member, event_id=f"bpu-{member}", valid_from="2025-01-01"),
        registered(officer),
        registered(newcomer),
    )
    enrolment = enrolled(
        officer, event_id="kpps-next", valid_from="2024-01-25", valid_to="2024-02-24", registered_on=tomorrow
    )
    reactivation = {
        "event_id": "re-next",
        "type": "membership.reactivated",
        "nik": member,
        "reason": "typo",
        "reactivated_on": tomorrow,
    }
    future_bpu = enrolled_bpu(newcomer, event_id="bpu-next", valid_from="2025-01-01") | {
        "registered_on": tomorrow
    }
    payment = contribution(
        member, event_id="pay-next", months=("2025-01", "2025-01"), amount=16_800, paid_on=tomorrow
    )
    for event, field in (
        (enrolment, "registered_on"),
        (reactivation, "reactivated_on"),
        (future_bpu, "registered_on"),
        (payment, "paid_on"),
    ):
        response = await post(client, keys.office, event)
        assert response.status_code == 422, response.text
        error = only_error(response)
        assert (error["code"], error["field"]) == ("day_in_future", f"events[0].{field}")
        assert "wrong amount" not in response.json()["detail"]


async def test_a_payment_is_only_for_the_programs_of_the_membership(client: AsyncClient, keys: Keys) -> None:
    person = nik()
    await append(
        client,
        keys.office,
        registered(person),
        enrolled_bpu(person, event_id=f"bpu-{person}", valid_from="2025-01-01"),
    )
    with_jht = contribution(
        person, event_id="pay-jht", months=("2025-01", "2025-01"), amount=36_800, paid_on="2025-01-05"
    )
    response = await post(client, keys.office, with_jht | {"programs": ["JKK", "JKM", "JHT"]})
    assert response.status_code == 409, response.text
    error = only_error(response)
    assert (error["code"], error["field"]) == ("program_not_enrolled", "events[0].programs")
    assert error["message"] == "the membership has JKK, JKM; JHT is not one of its programs"


async def test_a_membership_is_not_moved_away_from_its_payments(client: AsyncClient, keys: Keys) -> None:
    """Paid January to March 2025: the membership cannot be corrected to start in April, nor
    retracted, while those payments stand; with them corrected in the same batch it can."""
    person = await member_paid_for_the_first_quarter(client, keys)
    later_start = enrolled_bpu(person, event_id=f"bpu2-{person}", valid_from="2025-04-01")
    moved = await post(client, keys.office, corrected("move", [f"bpu-{person}"], replacement=later_start))
    assert moved.status_code == 409, moved.text
    error = only_error(moved)
    assert (error["code"], error["field"]) == ("payment_outside_membership", "events[0].replacement")
    assert f"q1-{person}" in error["message"]
    retracted = await post(client, keys.office, corrected("drop", [f"bpu-{person}"]))
    assert retracted.status_code == 409, retracted.text
    assert only_error(retracted)["field"] == "events[0]"
    income = enrolled_bpu(person, event_id=f"bpu3-{person}", valid_from="2025-01-01", income=1_200_000)
    assert (
        await post(client, keys.office, corrected("income", [f"bpu-{person}"], replacement=income))
    ).status_code == 200
    await append(
        client,
        keys.office,
        corrected("move-2", [f"bpu3-{person}"], replacement=later_start),
        corrected("refund", [f"q1-{person}"], reason="paid before the membership began"),
    )


async def test_a_payment_is_not_restored_without_its_membership(client: AsyncClient, keys: Keys) -> None:
    person = await member_paid_for_the_first_quarter(client, keys)
    await append(
        client,
        keys.office,
        corrected("drop-member", [f"bpu-{person}"], reason="never joined"),
        corrected("drop-payment", [f"q1-{person}"], reason="never paid"),
    )
    restored = await post(
        client, keys.office, corrected("undo-payment", ["drop-payment"], reason="it was paid")
    )
    assert restored.status_code == 409, restored.text
    assert only_error(restored)["code"] == "payment_outside_membership"
    again = enrolled_bpu(person, event_id=f"bpu-again-{person}", valid_from="2026-01-01")
    assert (await post(client, keys.office, again)).status_code == 200  # a new membership is not held up


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


async def test_two_offices_filing_a_death_at_once_cannot_both_win(fresh_database: str) -> None:
    """The one-death check runs under the append lock: of two death claims for one person sent at
    once (JKM from one clerk, JKK death from another), one is written and the other refused."""
    async with live_app(fresh_database) as (_, client, keys):
        for attempt in range(3):
            person = await kpps_2024(client, keys)
            replies = await asyncio.gather(
                post(
                    client,
                    keys.office,
                    filed(f"A-{attempt}", person, incident="2024-02-14", filed_on="2024-02-20"),
                ),
                post(
                    client,
                    keys.office,
                    filed(f"B-{attempt}", person, benefit="JKK_DEATH", incident="2024-02-14", wage=1_100_000),
                ),
            )
            assert sorted(r.status_code for r in replies) == [200, 409], [r.text for r in replies]
            refused = next(r for r in replies if r.status_code == 409)
            assert refused.json()["errors"][0]["code"] == "death_already_claimed"


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
