"""BPU memberships beside officer terms and other memberships, across regions and over time."""

from httpx import AsyncClient

from tests.claims_support import append, paid_member
from tests.support import (
    SELF,
    Keys,
    corrected,
    coverage_of,
    enrolled_bpu,
    nik,
    paid,
    post_as_office,
    registered,
)


async def test_officer_and_bpu_coverage_coexist(client: AsyncClient, keys: Keys) -> None:
    person = nik()
    officer = {
        "event_id": "both-kpps",
        "type": "officer.enrolled",
        "nik": person,
        "role": "KPPS",
        "committee": "KPU-16.71",
        "region_code": "16.71.01",
        "valid_from": "2025-01-25",
        "valid_to": "2025-02-24",
        "registered_on": "2025-01-15",
    }
    response = await client.post(
        "/v1/events",
        json={
            "events": [
                registered(person),
                officer,
                enrolled_bpu(person, event_id="both-bpu", valid_from="2025-01-01"),
                paid(
                    person,
                    event_id="both-pay",
                    months=("2025-01", "2025-03"),
                    amount=3 * 16_800,
                    paid_on="2025-01-02",
                ),
            ]
        },
        headers=Keys.header(keys.office),
    )
    assert response.status_code == 200, response.text
    both = await coverage_of(client, keys, person, "2025-02-01")
    assert both["status"] == "covered"
    assert {s["kind"] for s in both["sources"]} == {"officer", "informal"}
    assert "KPPS" in both["reason"] and "BPU" in both["reason"]


async def test_another_regions_member_is_paid_for_as_if_unknown(client: AsyncClient, keys: Keys) -> None:
    """A payment or reactivation for a member outside the key's region gets the answer a NIK
    nobody registered gets: the refusal must not tell another region that the person is a member."""
    member, stranger = nik(), nik()
    enrolled = await post_as_office(
        client,
        keys,
        registered(member),
        enrolled_bpu(member, event_id=f"bpu-{member}", valid_from="2025-01-01"),
    )
    assert enrolled.status_code == 200, enrolled.text
    elsewhere = Keys.header(keys.other_office)
    answers = []
    for person in (member, stranger):
        payment = paid(
            person, event_id="pay-x", months=("2025-01", "2025-01"), amount=16_800, paid_on="2025-01-02"
        )
        reactivation = {
            "event_id": "react-x",
            "type": "membership.reactivated",
            "nik": person,
            "reactivated_on": "2025-09-01",
            "reason": "x",
        }
        for event in (payment, reactivation):
            response = await client.post("/v1/events", json={"events": [event]}, headers=elsewhere)
            answers.append((response.status_code, response.json()))
    assert answers[0] == answers[2] and answers[1] == answers[3], answers
    assert [(status, body["errors"][0]["code"]) for status, body in answers[:2]] == [
        (409, "no_membership"),
        (409, "no_membership"),
    ], answers


async def test_a_new_membership_never_takes_the_months_another_one_paid(
    client: AsyncClient, keys: Keys
) -> None:
    """A member paid for all of 2025: a second enrolment from June would govern from June with
    nothing paid (the paid months stayed with the first) and read in arrears. It is refused,
    nothing written; the change is a correction of the membership. After a lapse a new one may
    start."""
    member = await paid_member(client, keys.office, since="2025-01", through="2025-12")
    head = await client.get("/v1/ledger/head", headers=Keys.header(keys.admin))
    again = await post_as_office(
        client, keys, enrolled_bpu(member, event_id=f"bpu2-{member}", valid_from="2025-06-01")
    )
    assert again.status_code == 409, again.text
    error = again.json()["errors"][0]
    assert (error["code"], error["field"]) == ("membership_in_force", "events[0].valid_from")
    assert f"bpu-{member}" in error["message"] and "covered, not lapsed" in error["message"]
    assert (await client.get("/v1/ledger/head", headers=Keys.header(keys.admin))).json() == head.json()
    assert (await coverage_of(client, keys, member, "2025-07-15"))["status"] == "covered"

    # paid January to March: in arrears to June, lapsed from July
    lapsed = await paid_member(client, keys.office, since="2025-01", through="2025-03")
    in_grace = await post_as_office(
        client, keys, enrolled_bpu(lapsed, event_id=f"early-{lapsed}", valid_from="2025-05-01")
    )
    assert in_grace.status_code == 409, in_grace.text
    assert "in_arrears, not lapsed" in in_grace.json()["errors"][0]["message"]
    await append(
        client, keys.office, enrolled_bpu(lapsed, event_id=f"bpu2-{lapsed}", valid_from="2025-09-01")
    )
    assert (await coverage_of(client, keys, lapsed, "2025-09-15"))["status"] == "in_arrears"


async def test_a_membership_is_corrected_and_an_earlier_one_recorded_beside_it(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by a review: a worker enrolled again after a lapse could not have the new membership
    corrected (the lapsed one read as paid by the new one's payments), nor could a membership
    before the current one be recorded."""
    member = nik()
    await append(
        client,
        keys.office,
        registered(member),
        enrolled_bpu(member, event_id=f"old-{member}", valid_from="2023-01-01"),
        paid(
            member,
            event_id=f"pay23-{member}",
            months=("2023-01", "2023-03"),
            amount=3 * 16_800,
            paid_on="2023-01-02",
        ),
        enrolled_bpu(member, event_id=f"new-{member}", valid_from="2024-01-01"),
        paid(
            member,
            event_id=f"pay24-{member}",
            months=("2024-01", "2024-12"),
            amount=12 * 16_800,
            paid_on="2024-01-02",
        ),
    )
    fixed = corrected(
        "fix-new",
        [f"new-{member}"],
        replacement=enrolled_bpu(member, event_id=f"new2-{member}", valid_from="2024-01-01"),
    )
    await append(client, keys.office, fixed)
    assert (await coverage_of(client, keys, member, "2024-06-15"))["status"] == "covered"

    later = await paid_member(client, keys.office, since="2025-03", through="2025-05")
    await append(
        client, keys.office, enrolled_bpu(later, event_id=f"before-{later}", valid_from="2023-01-01")
    )
    assert (await coverage_of(client, keys, later, "2025-04-15"))["status"] == "covered"


async def test_no_key_enrols_a_member_of_another_region_away(client: AsyncClient, keys: Keys) -> None:
    """A Jawa Barat member, paid for 2025: a South Sumatra sponsor's or office's enrolment is
    refused without the membership's details, and the Jawa Barat office keeps the member."""
    member = await paid_member(
        client, keys.other_office, since="2025-01", through="2025-12", region="32.01.01"
    )
    own = {"kind": "organisation", "name": "Pemprov Sumsel", "budget": "APBD"}
    for secret, payer in ((keys.sponsor, own), (keys.office, SELF)):
        taken = await client.post(
            "/v1/events",
            json={
                "events": [
                    enrolled_bpu(member, event_id=f"away-{member}", valid_from="2025-06-01", payer=payer)
                ]
            },
            headers=Keys.header(secret),
        )
        assert taken.status_code == 409, taken.text
        error = taken.json()["errors"][0]
        assert (error["code"], error["field"]) == ("membership_outside_region", "events[0].nik")
        assert "32" not in error["message"] and f"bpu-{member}" not in taken.text
    kept = await client.get(
        f"/v1/persons/{member}/coverage",
        params={"valid_at": "2025-07-15"},
        headers=Keys.header(keys.other_office),
    )
    assert kept.status_code == 200 and kept.json()["status"] == "covered", kept.text


async def test_a_membership_not_started_shows_the_months_paid_from_its_start(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by a probe: the day before a paid-up membership began, its source read
    `valid_from = valid_to = 2025-01-01`, an empty period, where an officer's shows the term."""
    member = await paid_member(client, keys.office, since="2025-01", through="2025-06")
    before = await coverage_of(client, keys, member, "2024-12-31")
    assert before["status"] == "not_started", before
    source = before["sources"][0]
    assert (source["valid_from"], source["valid_to"]) == ("2025-01-01", "2025-07-01"), source
    assert "paid through" in before["reason"], before["reason"]
