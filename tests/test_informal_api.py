"""BPU coverage through the API, named after the rules (issue "coverage rules")."""

from typing import Any

import pytest
from httpx import AsyncClient

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
    first = await post_as_office(
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

    late = await post_as_office(
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

    august = await post_as_office(
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
    again = await post_as_office(
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
    setup = await post_as_office(
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

    retracted = await post_as_office(
        client, keys, corrected("no-react", [reactivation["event_id"]], reason="mistake")
    )
    assert retracted.status_code == 409, retracted.text
    [error] = retracted.json()["errors"]
    assert (error["code"], error["field"]) == ("payment_no_longer_accepted", "events[0]")
    assert august["event_id"] in error["message"] and "lapsed" in error["message"]
    # nothing was written: still covered in August through the reactivation
    assert (await coverage_of(client, keys, person, "2025-08-20"))["status"] == "covered"

    both = await post_as_office(
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
    await post_as_office(
        client,
        keys,
        registered(person),
        enrolled_bpu(person, event_id=f"bpu-{person}", valid_from="2025-02-01"),
        paid(person, event_id=feb, months=("2025-02", "2025-03"), amount=2 * 16_800, paid_on="2025-02-05"),
        paid(person, event_id=apr, months=("2025-04", "2025-06"), amount=3 * 16_800, paid_on="2025-02-05"),
    )
    january = enrolled_bpu(person, event_id=f"bpu-jan-{person}", valid_from="2025-01-01")
    moved = await post_as_office(
        client, keys, corrected(f"fix-{person}", [f"bpu-{person}"], replacement=january)
    )
    assert moved.status_code == 200, moved.text


async def test_a_month_is_paid_once(client: AsyncClient, keys: Keys) -> None:
    person = nik()
    ok = await post_as_office(
        client,
        keys,
        registered(person),
        enrolled_bpu(person, event_id="bpu-once", valid_from="2025-01-01"),
        paid(person, event_id="once-1", months=("2025-01", "2025-02"), amount=33_600, paid_on="2025-01-03"),
    )
    assert ok.status_code == 200
    twice = await post_as_office(
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
    assert (await post_as_office(client, keys, correction)).status_code == 200
    history = await client.get(f"/v1/persons/{person}/history", headers=Keys.header(keys.office))
    in_force = {e["event_id"] for e in history.json()["events"] if e["in_force"][-1]["tx_to"] is None}
    assert {"once-1b", "bpu-once"} <= in_force and "once-1" not in in_force
    # the months of the payment it supersedes are free, not those of other payments in force
    march = paid(
        person, event_id="once-3", months=("2025-03", "2025-03"), amount=16_800, paid_on="2025-02-03"
    )
    assert (await post_as_office(client, keys, march)).status_code == 200
    wider = paid(
        person, event_id="once-1c", months=("2025-01", "2025-03"), amount=50_400, paid_on="2025-01-04"
    )
    refused = await post_as_office(
        client, keys, corrected("fix-wider", ["once-1b"], replacement=wider, reason="x")
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["errors"][0]["code"] == "month_already_paid"


async def test_pp49_2020_relief_accepts_168_and_refuses_16800(client: AsyncClient, keys: Keys) -> None:
    person = nik()
    setup = await post_as_office(
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
    wrong = await post_as_office(
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
    right = await post_as_office(
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
    response = await post_as_office(
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
    response = await post_as_office(
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
    response = await post_as_office(client, keys, event)
    assert response.status_code == 422, response.text
    assert any(e["field"].startswith(field) for e in response.json()["errors"]), response.json()


async def test_payment_without_membership_is_409(client: AsyncClient, keys: Keys) -> None:
    person = nik()
    response = await post_as_office(
        client,
        keys,
        registered(person),
        paid(
            person, event_id="orphan-pay", months=("2025-01", "2025-01"), amount=16_800, paid_on="2025-01-01"
        ),
    )
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "no_membership"
