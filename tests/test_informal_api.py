"""BPU coverage through the API, named after the rules (issue "coverage rules")."""

from typing import Any

import pytest
from httpx import AsyncClient

from tests.claims_support import append, paid_member
from tests.support import SELF, Keys, corrected, coverage_of, enrolled_bpu, nik, paid, registered


async def post(client: AsyncClient, keys: Keys, *events: dict[str, Any]) -> Any:
    """Append as the regional office, which records BPU members whoever pays."""
    return await client.post("/v1/events", json={"events": list(events)}, headers=Keys.header(keys.office))


async def test_a_sponsor_enrols_pays_and_corrects_only_as_itself(client: AsyncClient, keys: Keys) -> None:
    """A sponsor key names its organisation; it cannot record another payer's money, nor
    withdraw a payment the member made themselves."""
    sponsor = Keys.header(keys.sponsor)
    own = {"kind": "organisation", "name": "Pemprov Sumsel", "budget": "APBD"}
    worker, member = nik(), nik()
    for payer in ({"kind": "organisation", "name": "Pemkab Lain"}, SELF):
        spoofed = await client.post(
            "/v1/events",
            json={
                "events": [
                    registered(worker),
                    enrolled_bpu(worker, event_id="bpu-spoof", valid_from="2025-01-01", payer=payer),
                ]
            },
            headers=sponsor,
        )
        assert spoofed.status_code == 403, spoofed.text
        assert spoofed.json()["errors"][0] == {
            "field": "events[1].payer",
            "code": "payer_mismatch",
            "message": "the payer must be the key's organisation",
        }
    sponsored = await client.post(
        "/v1/events",
        json={
            "events": [
                registered(worker),
                enrolled_bpu(worker, event_id=f"bpu-{worker}", valid_from="2025-01-01", payer=own),
                paid(
                    worker,
                    event_id=f"pay-{worker}",
                    months=("2025-01", "2025-03"),
                    amount=3 * 16_800,
                    paid_on="2025-01-02",
                    payer=own,
                ),
            ]
        },
        headers=sponsor,
    )
    assert sponsored.status_code == 200, sponsored.text
    own_payment = await client.post(
        "/v1/events",
        json={
            "events": [
                registered(member),
                enrolled_bpu(member, event_id=f"bpu-{member}", valid_from="2025-01-01"),
                paid(
                    member,
                    event_id=f"pay-{member}",
                    months=("2025-01", "2025-03"),
                    amount=3 * 16_800,
                    paid_on="2025-01-02",
                ),
            ]
        },
        headers=Keys.header(keys.office),
    )
    assert own_payment.status_code == 200, own_payment.text
    for target, expected in ((f"pay-{member}", 403), (f"pay-{worker}", 200)):
        retraction = {
            "event_id": f"undo-{target}",
            "type": "event.corrected",
            "supersedes": [target],
            "reason": "x",
        }
        response = await client.post("/v1/events", json={"events": [retraction]}, headers=sponsor)
        assert response.status_code == expected, response.text
    assert (await coverage_of(client, keys, member, "2025-02-15"))["status"] == "covered"


async def test_grace_late_payment_and_lapse(client: AsyncClient, keys: Keys) -> None:
    """Enrolled 1 Jan 2025, pays Jan–Mar; April paid late on 20 May; lapsed from 1 Aug."""
    person = nik()
    first = await post(
        client,
        keys,
        registered(person),
        enrolled_bpu(person, event_id="bpu-g", valid_from="2025-01-01"),
        paid(
            person, event_id="pay-q1", months=("2025-01", "2025-03"), amount=3 * 16_800, paid_on="2025-01-05"
        ),
    )
    assert first.status_code == 200, first.text
    before = first.json()["tx_seq"]
    march = await coverage_of(client, keys, person, "2025-03-15")
    assert march["status"] == "covered"
    assert march["programs"] == ["JKK", "JKM"]
    assert march["sources"][0]["kind"] == "informal"
    april = await coverage_of(client, keys, person, "2025-04-15")
    assert april["status"] == "in_arrears"
    # the source gives the protection that ended, not an empty period
    assert (april["sources"][0]["valid_from"], april["sources"][0]["valid_to"]) == (
        "2025-01-01",
        "2025-04-01",
    )
    assert (
        april["reason"]
        == "In arrears: protection ended after Mar 2025; the arrears can be paid until 30 Jun 2025"
    )

    late = await post(
        client,
        keys,
        paid(person, event_id="pay-apr", months=("2025-04", "2025-04"), amount=16_800, paid_on="2025-05-20"),
    )
    assert late.status_code == 200, late.text
    assert (await coverage_of(client, keys, person, "2025-04-15"))["status"] == "covered"
    assert (await coverage_of(client, keys, person, "2025-04-15", known_at=f"tx:{before}"))[
        "status"
    ] == "in_arrears"
    assert (await coverage_of(client, keys, person, "2025-07-31"))["status"] == "in_arrears"
    lapsed = await coverage_of(client, keys, person, "2025-08-01")
    assert lapsed["status"] == "lapsed"

    august = await post(
        client,
        keys,
        paid(person, event_id="pay-aug", months=("2025-08", "2025-08"), amount=16_800, paid_on="2025-08-05"),
    )
    assert august.status_code == 409
    assert august.json()["errors"][0]["code"] == "membership_lapsed"

    reopen = {
        "event_id": "react-1",
        "type": "membership.reactivated",
        "nik": person,
        "reason": "office decision",
        "reactivated_on": "2025-08-10",
    }
    office = await client.post("/v1/events", json={"events": [reopen]}, headers=Keys.header(keys.office))
    assert office.status_code == 200, office.text
    again = await post(
        client,
        keys,
        paid(
            person, event_id="pay-aug-2", months=("2025-08", "2025-08"), amount=16_800, paid_on="2025-08-10"
        ),
    )
    assert again.status_code == 200, again.text
    assert (await coverage_of(client, keys, person, "2025-08-20"))["status"] == "covered"


async def test_a_reactivation_is_not_withdrawn_from_under_its_payments(
    client: AsyncClient, keys: Keys
) -> None:
    """Paid January only, lapsed from 1 May 2025, reactivated on 10 Aug and paid for August that
    day: the reactivation cannot be retracted while the payment stands; retracted together with
    it, it can."""
    person = nik()
    reactivation = {
        "event_id": f"react-{person}",
        "type": "membership.reactivated",
        "nik": person,
        "reason": "office decision",
        "reactivated_on": "2025-08-10",
    }
    august = paid(
        person, event_id=f"aug-{person}", months=("2025-08", "2025-08"), amount=16_800, paid_on="2025-08-10"
    )
    setup = await post(
        client,
        keys,
        registered(person),
        enrolled_bpu(person, event_id=f"bpu-{person}", valid_from="2025-01-01"),
        paid(
            person,
            event_id=f"jan-{person}",
            months=("2025-01", "2025-01"),
            amount=16_800,
            paid_on="2025-01-05",
        ),
        reactivation,
        august,
    )
    assert setup.status_code == 200, setup.text
    assert (await coverage_of(client, keys, person, "2025-08-20"))["status"] == "covered"

    retracted = await post(client, keys, corrected("no-react", [reactivation["event_id"]], reason="mistake"))
    assert retracted.status_code == 409, retracted.text
    [error] = retracted.json()["errors"]
    assert (error["code"], error["field"]) == ("payment_no_longer_accepted", "events[0]")
    assert august["event_id"] in error["message"] and "lapsed" in error["message"]
    # nothing was written: still covered in August through the reactivation
    assert (await coverage_of(client, keys, person, "2025-08-20"))["status"] == "covered"

    both = await post(
        client,
        keys,
        corrected("no-react-2", [reactivation["event_id"]], reason="mistake"),
        corrected("no-aug", [august["event_id"]], reason="paid to the wrong member"),
    )
    assert both.status_code == 200, both.text
    assert (await coverage_of(client, keys, person, "2025-08-20"))["status"] == "lapsed"


@pytest.mark.parametrize("ids", [("zz-feb", "aa-apr"), ("aa-feb", "zz-apr")])
async def test_payments_of_one_day_are_judged_in_the_order_of_their_months(
    client: AsyncClient, keys: Keys, ids: tuple[str, str]
) -> None:
    """Found by a review: payments paid the same day were judged again in event-id order, so an
    enrolment correction was refused or not depending on the ids (April judged before February
    read as months left unpaid before it)."""
    person = nik()
    feb, apr = (f"{i}-{person}" for i in ids)
    await post(
        client,
        keys,
        registered(person),
        enrolled_bpu(person, event_id=f"bpu-{person}", valid_from="2025-02-01"),
        paid(person, event_id=feb, months=("2025-02", "2025-03"), amount=2 * 16_800, paid_on="2025-02-05"),
        paid(person, event_id=apr, months=("2025-04", "2025-06"), amount=3 * 16_800, paid_on="2025-02-05"),
    )
    january = enrolled_bpu(person, event_id=f"bpu-jan-{person}", valid_from="2025-01-01")
    moved = await post(client, keys, corrected(f"fix-{person}", [f"bpu-{person}"], replacement=january))
    assert moved.status_code == 200, moved.text


async def test_a_month_is_paid_once(client: AsyncClient, keys: Keys) -> None:
    person = nik()
    ok = await post(
        client,
        keys,
        registered(person),
        enrolled_bpu(person, event_id="bpu-once", valid_from="2025-01-01"),
        paid(person, event_id="once-1", months=("2025-01", "2025-02"), amount=33_600, paid_on="2025-01-03"),
    )
    assert ok.status_code == 200
    twice = await post(
        client,
        keys,
        paid(person, event_id="once-2", months=("2025-02", "2025-03"), amount=33_600, paid_on="2025-02-03"),
    )
    assert twice.status_code == 409
    assert twice.json()["errors"][0]["code"] == "month_already_paid"
    # a payment corrected in one step (a mistyped paid_on): the months it pays are its own again
    fixed = paid(
        person, event_id="once-1b", months=("2025-01", "2025-02"), amount=33_600, paid_on="2025-01-04"
    )
    correction = corrected("fix-once", ["once-1"], replacement=fixed, reason="paid_on typo")
    assert (await post(client, keys, correction)).status_code == 200
    history = await client.get(f"/v1/persons/{person}/history", headers=Keys.header(keys.office))
    in_force = {e["event_id"] for e in history.json()["events"] if e["in_force"][-1]["tx_to"] is None}
    assert {"once-1b", "bpu-once"} <= in_force and "once-1" not in in_force
    # the months of the payment it supersedes are free, not those of other payments in force
    march = paid(
        person, event_id="once-3", months=("2025-03", "2025-03"), amount=16_800, paid_on="2025-02-03"
    )
    assert (await post(client, keys, march)).status_code == 200
    wider = paid(
        person, event_id="once-1c", months=("2025-01", "2025-03"), amount=50_400, paid_on="2025-01-04"
    )
    refused = await post(client, keys, corrected("fix-wider", ["once-1b"], replacement=wider, reason="x"))
    assert refused.status_code == 409, refused.text
    assert refused.json()["errors"][0]["code"] == "month_already_paid"


async def test_pp49_2020_relief_accepts_168_and_refuses_16800(client: AsyncClient, keys: Keys) -> None:
    person = nik()
    setup = await post(
        client,
        keys,
        registered(person),
        enrolled_bpu(person, event_id="bpu-2020", valid_from="2020-01-01"),
        paid(
            person,
            event_id="pay-2020h1",
            months=("2020-01", "2020-07"),
            amount=7 * 16_800,
            paid_on="2020-01-10",
        ),
    )
    assert setup.status_code == 200, setup.text
    wrong = await post(
        client,
        keys,
        paid(
            person,
            event_id="pay-2020-09x",
            months=("2020-09", "2020-09"),
            amount=16_800,
            paid_on="2020-09-10",
        ),
    )
    assert wrong.status_code == 422
    error = wrong.json()["errors"][0]
    assert error["code"] == "amount_mismatch"
    assert error["field"] == "events[0].amount"
    assert "expected Rp168" in error["message"]
    right = await post(
        client,
        keys,
        paid(person, event_id="pay-2020-09", months=("2020-09", "2020-09"), amount=168, paid_on="2020-09-10"),
    )
    assert right.status_code == 200, right.text


@pytest.mark.parametrize(
    ("payer", "amount"),
    [(SELF, 8_400), ({"kind": "organisation", "name": "Pemprov Sumsel", "budget": "APBD"}, 16_800)],
)
async def test_pp50_2025_relief_in_may_2026(
    client: AsyncClient, keys: Keys, payer: dict[str, Any], amount: int
) -> None:
    person = nik()
    response = await post(
        client,
        keys,
        registered(person),
        enrolled_bpu(person, event_id=f"bpu-{person}", valid_from="2026-05-01", payer=payer),
        paid(
            person,
            event_id=f"pay-{person}",
            months=("2026-05", "2026-05"),
            amount=amount,
            paid_on="2026-05-02",
            payer=payer,
        ),
    )
    assert response.status_code == 200, response.text


async def test_sertakan_sponsor_pays_for_a_worker(client: AsyncClient, keys: Keys) -> None:
    worker, sponsor = nik(), nik()
    payer = {"kind": "person", "nik": sponsor}
    response = await post(
        client,
        keys,
        registered(worker),
        enrolled_bpu(worker, event_id="bpu-sertakan", valid_from="2025-01-01", payer=payer),
        paid(
            worker,
            event_id="pay-sertakan",
            months=("2025-01", "2025-06"),
            amount=6 * 16_800,
            paid_on="2025-01-02",
            payer=payer,
        ),
    )
    assert response.status_code == 200, response.text
    assert (await coverage_of(client, keys, worker, "2025-06-30"))["status"] == "covered"


BAD = [
    ("person payer without nik", {"payer": {"kind": "person"}}, "events[0].payer"),
    # a person's name would enter the chained log, where erasure cannot reach it
    (
        "person payer named",
        {"payer": {"kind": "person", "nik": "1671014501900001", "name": "Budi"}},
        "events[0].payer",
    ),
    ("self payer named", {"payer": {"kind": "self", "name": "Budi"}}, "events[0].payer"),
    ("months reversed", {"months_from": "2025-03", "months_to": "2025-01"}, "events[0]"),
    ("not a month", {"months_from": "2025-13"}, "events[0].months_from"),
    # found by a probe: the month after 9999-12 has no first day (a 500 deciding the spans)
    ("a month no date may name", {"months_to": "9999-12"}, "events[0].months_to"),
    ("JKM missing", {"programs": ["JKK"]}, "events[0].programs"),
    ("negative amount", {"amount": -1}, "events[0].amount"),
    ("paid on a day to come", {"paid_on": "2099-01-02"}, "events[0].paid_on"),
]


@pytest.mark.parametrize(("case", "change", "field"), BAD, ids=[b[0] for b in BAD])
async def test_bad_payments_are_422(
    client: AsyncClient, keys: Keys, case: str, change: dict[str, Any], field: str
) -> None:
    event = (
        paid(
            "1671014501900001",
            event_id="bad-pay",
            months=("2025-01", "2025-01"),
            amount=16_800,
            paid_on="2025-01-01",
        )
        | change
    )
    response = await post(client, keys, event)
    assert response.status_code == 422, response.text
    assert any(e["field"].startswith(field) for e in response.json()["errors"]), response.json()


async def test_payment_without_membership_is_409(client: AsyncClient, keys: Keys) -> None:
    person = nik()
    response = await post(
        client,
        keys,
        registered(person),
        paid(
            person, event_id="orphan-pay", months=("2025-01", "2025-01"), amount=16_800, paid_on="2025-01-01"
        ),
    )
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "no_membership"


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
    enrolled = await post(
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
    again = await post(client, keys, enrolled_bpu(member, event_id=f"bpu2-{member}", valid_from="2025-06-01"))
    assert again.status_code == 409, again.text
    error = again.json()["errors"][0]
    assert (error["code"], error["field"]) == ("membership_in_force", "events[0].valid_from")
    assert f"bpu-{member}" in error["message"] and "covered, not lapsed" in error["message"]
    assert (await client.get("/v1/ledger/head", headers=Keys.header(keys.admin))).json() == head.json()
    assert (await coverage_of(client, keys, member, "2025-07-15"))["status"] == "covered"

    # paid January to March: in arrears to June, lapsed from July
    lapsed = await paid_member(client, keys.office, since="2025-01", through="2025-03")
    in_grace = await post(
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


def _reactivated_on_20_may(person: str) -> dict[str, Any]:
    return {
        "event_id": f"react-{person}",
        "type": "membership.reactivated",
        "nik": person,
        "reason": "office decision",
        "reactivated_on": "2025-05-20",
    }


def _member_paid_to_december(person: str) -> list[dict[str, Any]]:
    """A worker enrolled on 1 October 2024 who paid October to December on 5 October (lapsed
    from 1 April 2025 unless more is paid in time)."""
    october = ("2024-10", "2024-12")
    return [
        registered(person),
        enrolled_bpu(person, event_id=f"bpu-{person}", valid_from="2024-10-01"),
        paid(person, event_id=f"oct-{person}", months=october, amount=3 * 16_800, paid_on="2024-10-05"),
    ]


def _january_february_paid_in_march(person: str) -> dict[str, Any]:
    months = ("2025-01", "2025-02")
    return paid(person, event_id=f"janfeb-{person}", months=months, amount=2 * 16_800, paid_on="2025-03-15")


def _refused_for_the_reactivation(response: Any) -> dict[str, Any]:
    assert response.status_code == 409, response.text
    [error] = response.json()["errors"]
    assert error["code"] == "reactivation_no_longer_valid" and "2025-05-20" in error["message"], error
    return dict(error)


async def test_a_payment_corrected_to_pay_more_months_cannot_leave_a_reactivation_of_no_lapse(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by a date probe: paid October to December 2024, lapsed from 1 April 2025 and
    reactivated on 20 May; the October payment was then corrected to pay through February, so
    the membership was only in arrears on 20 May, yet the reactivation stayed in force and moved
    the grace window on (a March payment made in June was then taken)."""
    person = nik()
    reactivation = _reactivated_on_20_may(person)
    setup = await post(client, keys, *_member_paid_to_december(person), reactivation)
    assert setup.status_code == 200, setup.text
    more = _member_paid_to_december(person)[2] | {
        "event_id": f"oct-feb-{person}",
        "months_to": "2025-02",
        "amount": 5 * 16_800,
    }
    _refused_for_the_reactivation(
        await post(client, keys, corrected("more-months", [f"oct-{person}"], replacement=more))
    )
    # with the reactivation retracted in the same batch, the correction stands
    retraction = corrected("no-react", [reactivation["event_id"]], reason="it had not lapsed")
    both = await post(
        client, keys, corrected("more-months-2", [f"oct-{person}"], replacement=more), retraction
    )
    assert both.status_code == 200, both.text
    assert (await coverage_of(client, keys, person, "2025-06-15"))["status"] == "lapsed"


async def test_a_payment_recorded_late_cannot_leave_a_reactivation_of_no_lapse(
    client: AsyncClient, keys: Keys
) -> None:
    """The same as a corrected payment, for a new one: January and February paid on 15 March
    2025 (in the grace window), recorded only after the reactivation of 20 May, show that the
    membership had not lapsed then."""
    person = nik()
    reactivation = _reactivated_on_20_may(person)
    setup = await post(client, keys, *_member_paid_to_december(person), reactivation)
    assert setup.status_code == 200, setup.text
    late = _january_february_paid_in_march(person)
    error = _refused_for_the_reactivation(await post(client, keys, late))
    assert error["field"] == "events[0].paid_on"
    retraction = corrected("no-react", [reactivation["event_id"]], reason="it had not lapsed")
    assert (await post(client, keys, retraction, late)).status_code == 200


async def test_a_payment_brought_back_cannot_leave_a_reactivation_of_no_lapse(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by a review: the January and February payment of 15 March was retracted, the
    membership then lapsed from 1 April and was reactivated on 20 May; superseding the retraction
    brings the payment back, and with it a membership that had not lapsed on 20 May."""
    person = nik()
    late = _january_february_paid_in_march(person)
    setup = await post(client, keys, *_member_paid_to_december(person), late)
    assert setup.status_code == 200, setup.text
    assert (await post(client, keys, corrected(f"bounced-{person}", [late["event_id"]]))).status_code == 200
    assert (await post(client, keys, _reactivated_on_20_may(person))).status_code == 200
    _refused_for_the_reactivation(
        await post(client, keys, corrected(f"not-bounced-{person}", [f"bounced-{person}"]))
    )
    # a payment retracted only makes a lapse more likely: the reactivation holds
    assert (await post(client, keys, corrected(f"oct-gone-{person}", [f"oct-{person}"]))).status_code == 200


async def test_a_bounced_payment_is_retracted_whatever_was_paid_after_it(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by a review: while payment corrections ran every rule on moved events, retracting
    the April-June payment that bounced was refused for the July-September one paid after it."""
    person = nik()
    quarters = [
        ("2025-01", "2025-03", "2025-01-05"),
        ("2025-04", "2025-06", "2025-04-05"),
        ("2025-07", "2025-09", "2025-07-05"),
    ]
    payments = [
        paid(person, event_id=f"q{i}-{person}", months=(first, last), amount=50_400, paid_on=day)
        for i, (first, last, day) in enumerate(quarters)
    ]
    member = enrolled_bpu(person, event_id=f"bpu-{person}", valid_from="2025-01-01")
    assert (await post(client, keys, registered(person), member, *payments)).status_code == 200
    bounced = await post(client, keys, corrected(f"bounced-{person}", [f"q1-{person}"], reason="bounced"))
    assert bounced.status_code == 200, bounced.text


async def _jht_member_paid_for_january(
    client: AsyncClient, keys: Keys, *, paid_on: str
) -> tuple[str, dict[str, Any]]:
    """A BPU member with JHT from January 2025 (income Rp1 million) whose January JKK and JKM were
    paid on `paid_on`: the NIK and that payment."""
    member = nik()
    membership = enrolled_bpu(member, event_id=f"bpu-{member}", valid_from="2025-01-01") | {
        "programs": ["JKK", "JKM", "JHT"]
    }
    january = paid(
        member, event_id=f"jan-{member}", months=("2025-01", "2025-01"), amount=16_800, paid_on=paid_on
    )
    assert (await post(client, keys, registered(member), membership, january)).status_code == 200
    return member, january


def _jht_top_up(protection: dict[str, Any], event_id: str, *, paid_on: str) -> dict[str, Any]:
    """JHT alone (2% of Rp1 million) for the months of a protection payment."""
    return protection | {"event_id": event_id, "programs": ["JHT"], "amount": 20_000, "paid_on": paid_on}


async def test_jht_alone_tops_up_months_whose_protection_is_paid(client: AsyncClient, keys: Keys) -> None:
    """Found by a BPU probe: JHT for a month already paid for JKK and JKM could never be paid (JHT
    alone was refused, and with JKK and JKM again the month was paid twice), though DESIGN.md
    pays a month at most once per person and program."""
    member, protection = await _jht_member_paid_for_january(client, keys, paid_on="2025-01-05")
    jht = _jht_top_up(protection, f"jht-jan-{member}", paid_on="2025-03-02")
    topped = await post(client, keys, jht)
    assert topped.status_code == 200, topped.text  # 2% of Rp1 million, paid in March
    again = await post(client, keys, jht | {"event_id": f"jht-jan2-{member}"})
    assert again.status_code == 409 and again.json()["errors"][0]["code"] == "month_already_paid"
    february = jht | {"event_id": f"jht-feb-{member}", "months_from": "2025-02", "months_to": "2025-02"}
    refused = await post(client, keys, february)
    assert refused.status_code == 409, refused.text
    assert refused.json()["errors"][0]["code"] == "protection_unpaid"
    # the top-up protects nothing by itself: February is still unpaid
    answer = await coverage_of(client, keys, member, valid_at="2025-02-10")
    assert answer["status"] == "in_arrears", answer
    # once February's protection is paid, its JHT is due at the rule's amount
    feb_protection = protection | {
        "event_id": f"feb-{member}",
        "months_from": "2025-02",
        "months_to": "2025-02",
    }
    assert (await post(client, keys, feb_protection)).status_code == 200
    short = await post(client, keys, february | {"amount": 19_000})
    assert short.status_code == 422 and short.json()["errors"][0]["code"] == "amount_mismatch", short.text
    assert (await post(client, keys, february)).status_code == 200


async def test_a_jht_top_up_rests_on_protection_paid_by_its_day(client: AsyncClient, keys: Keys) -> None:
    """Found by a review: a top-up dated before its month's protection was paid was taken (and
    the coverage then said the month was paid on the top-up's day), and one retracted could be
    brought back over a month whose protection had been retracted meanwhile."""
    member, jan = await _jht_member_paid_for_january(client, keys, paid_on="2025-01-20")
    early = _jht_top_up(jan, f"jht-{member}", paid_on="2025-01-03")
    refused = await post(client, keys, early)
    assert refused.status_code == 409 and refused.json()["errors"][0]["code"] == "protection_unpaid"
    top_up = early | {"paid_on": "2025-01-21"}
    assert (await post(client, keys, top_up)).status_code == 200
    answer = await coverage_of(client, keys, member, valid_at="2025-01-25")
    assert "paid on 20 Jan 2025" in answer["reason"], answer
    assert (await post(client, keys, corrected("rj", [top_up["event_id"]]))).status_code == 200
    assert (await post(client, keys, corrected("bounced", [jan["event_id"]]))).status_code == 200
    back = await post(client, keys, corrected("undo-rj", ["rj"]))
    assert back.status_code == 409, back.text
    assert back.json()["errors"][0]["code"] == "protection_unpaid"
