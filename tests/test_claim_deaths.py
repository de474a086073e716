"""A person dies once: one death claim, no incident after it, refiled as the other benefit in one
batch, never named to another region, and two offices filing it at once cannot both win."""

import asyncio

from httpx import AsyncClient

from tests.claims_support import (
    append,
    approved,
    claim,
    filed,
    kpps_2024,
    only_error,
    post,
    rejected,
)
from tests.live_app import live_app
from tests.support import Keys, corrected, enrolled, nik, registered


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
