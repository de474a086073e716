"""Claim requests: scoped by region and role, refused with the field named, decisions changed by
corrections, ids and days that tell nothing they should not."""

from typing import Any

import pytest
from httpx import AsyncClient

from tests.claims_support import (
    append,
    approved,
    claim,
    filed,
    kpps_2024,
    paid,
    paid_in_full,
    post,
    rejected,
    reversed_,
)
from tests.support import Keys, corrected, nik, registered


async def test_claims_are_scoped_by_region_and_role(client: AsyncClient, keys: Keys) -> None:
    person = await kpps_2024(client, keys)
    await append(client, keys.office, filed("C-scope", person, incident="2024-02-14"))
    hidden = await client.get("/v1/claims/C-scope", headers=Keys.header(keys.other_office))
    unknown = await client.get("/v1/claims/C-nobody", headers=Keys.header(keys.other_office))
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json()["detail"].replace("C-scope", "X") == unknown.json()["detail"].replace(
        "C-nobody", "X"
    )
    foreign = await post(client, keys.other_office, approved("C-scope", "2024-02-20"))
    nobody = await post(client, keys.other_office, approved("C-nobody", "2024-02-20"))
    # DESIGN.md: a write outside the key's region is a 403 that tells nothing of the record
    assert (foreign.status_code, nobody.status_code) == (403, 422)
    assert foreign.json()["errors"] == [
        {
            "code": "region_out_of_scope",
            "message": "the claim lies outside this key's region",
            "field": "events[0].claim_id",
        }
    ]
    assert nobody.json()["errors"][0]["code"] == "claim_not_filed"
    filed_elsewhere = await post(client, keys.other_office, filed("C-scope-2", person, incident="2024-02-14"))
    assert filed_elsewhere.status_code == 422
    assert filed_elsewhere.json()["errors"][0]["code"] == "person_not_registered"
    # a correction naming the claim's event by its id is refused as outside the region, no more
    by_id = await post(client, keys.other_office, corrected("undo-scope", ["C-scope-filed"], reason="x"))
    by_nothing = await post(client, keys.other_office, corrected("undo-none", ["C-none-filed"], reason="x"))
    assert (by_id.status_code, by_nothing.status_code) == (403, 422)
    assert by_id.json()["errors"] == [
        {
            "code": "region_out_of_scope",
            "message": "the event lies outside this key's region",
            "field": "events[0].supersedes[0]",
        }
    ]
    committee = await post(client, keys.committee, filed("C-scope-3", person, incident="2024-02-14"))
    assert committee.status_code == 403
    auditor = await client.get("/v1/claims/C-scope", headers=Keys.header(keys.auditor))
    assert auditor.status_code == 200


async def test_bad_claims_name_the_field(client: AsyncClient, keys: Keys) -> None:
    person = await kpps_2024(client, keys)
    no_wage = await post(
        client,
        keys.office,
        filed("C-bad", person, benefit="JKK_DEATH", incident="2024-02-14", filed_on="2024-02-15"),
    )
    assert no_wage.status_code == 422
    assert no_wage.json()["errors"][0] == {
        "field": "events[0].wage",
        "code": "benefit_not_computable",
        "message": "a JKK benefit needs the monthly wage: give `wage` in the claim",
    }
    no_percent = await post(
        client, keys.office, filed("C-bad", person, benefit="JKK_PARTIAL", incident="2024-02-14")
    )
    assert no_percent.status_code == 422
    assert "disability_percent" in no_percent.text
    orphan = await post(client, keys.office, approved("C-none", "2024-02-20"))
    assert orphan.status_code == 422
    assert orphan.json()["errors"][0]["code"] == "claim_not_filed"
    await append(client, keys.office, filed("C-twice", person, incident="2024-02-14"))
    twice = await post(
        client, keys.office, filed("C-twice", person, incident="2024-02-14") | {"event_id": "other"}
    )
    assert twice.status_code == 409
    assert twice.json()["errors"][0]["code"] == "claim_id_taken"
    unpaid = await post(client, keys.office, paid("C-twice", 1_000, "2024-02-20"))
    assert unpaid.status_code == 409
    assert unpaid.json()["errors"][0]["code"] == "claim_not_approved"
    await append(client, keys.office, approved("C-twice", "2024-02-20"))
    decided_again = await post(client, keys.office, rejected("C-twice", "2024-02-21", "second thoughts"))
    assert decided_again.status_code == 409
    assert decided_again.json()["errors"][0]["code"] == "claim_already_decided"


async def test_a_decision_is_changed_by_correcting_it(client: AsyncClient, keys: Keys) -> None:
    person = await kpps_2024(client, keys)
    approved_tx = await append(
        client, keys.office, filed("C-fix", person, incident="2024-02-14"), approved("C-fix", "2024-02-20")
    )
    await append(
        client,
        keys.office,
        corrected(
            "fix-1", ["C-fix-approved"], replacement=rejected("C-fix", "2024-02-20", "forged certificate")
        ),
    )
    assert (await claim(client, keys.office, "C-fix"))["status"] == "rejected"
    assert (await claim(client, keys.office, "C-fix", known_at=f"tx:{approved_tx}"))["status"] == "approved"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"benefit": "JKK_FUNERAL"}, "benefit"),
        ({"incident_date": "14/02/2024"}, "incident_date"),
        ({"nik": "1.67101450190E+15"}, "nik"),
        ({"benefit": "JKK_PARTIAL", "disability_percent": 150}, "disability_percent"),
        ({"benefit": "JKK_DEATH", "wage": -5}, "wage"),
        ({"children": [{"level": "S2"}]}, "children"),
        ({"claimant": {"relation": "spouse"}}, "events[0]"),
        ({"filed_on": "2024-02-01"}, "events[0]"),
    ],
)
async def test_malformed_claims_are_422_naming_the_field(
    client: AsyncClient, keys: Keys, change: dict[str, Any], field: str
) -> None:
    event = filed("C-ugly", nik(), incident="2024-02-14") | change
    response = await post(client, keys.office, event)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert any(field in (e.get("field") or "") for e in response.json()["errors"]), response.json()
    assert (await client.get("/v1/claims/C-ugly", headers=Keys.header(keys.office))).status_code == 404


async def test_a_reversal_naming_no_payment_does_not_reverse_later_ones(
    client: AsyncClient, keys: Keys
) -> None:
    """Paid, reversed (all payments so far), paid again: the new payment stands, and a third one
    would pay more than was approved."""
    person = await kpps_2024(client, keys)
    await append(client, keys.office, *paid_in_full("C-rev", person, payment_id="c-rev-p1"))
    await append(
        client, keys.office, reversed_("C-rev", "paid to the wrong account", reversed_on="2024-02-23")
    )
    await append(client, keys.office, paid("C-rev", 42_000_000, "2024-02-26", event_id="c-rev-p2"))
    body = await claim(client, keys.office, "C-rev")
    assert (body["status"], body["paid_amount"], body["reversed_amount"]) == ("paid", 42_000_000, 42_000_000)
    third = await post(client, keys.office, paid("C-rev", 42_000_000, "2024-02-27", event_id="c-rev-p3"))
    assert third.status_code == 409 and third.json()["errors"][0]["code"] == "overpaid", third.text


async def test_a_rejected_claim_has_nothing_payable_and_no_due_date(client: AsyncClient, keys: Keys) -> None:
    person = await kpps_2024(client, keys)
    await append(
        client,
        keys.office,
        filed("C-no", person, incident="2024-02-14", filed_on="2024-02-20"),
        rejected("C-no", "2024-02-21", "not on duty that day"),
    )
    body = await claim(client, keys.office, "C-no")
    assert (body["status"], body["payable_amount"], body["due_date"]) == ("rejected", 0, None)
    listed = await client.get("/v1/claims", params={"status": "rejected"}, headers=Keys.header(keys.office))
    (item,) = [c for c in listed.json()["items"] if c["claim_id"] == "C-no"]
    assert (item["payable_amount"], item["due_date"]) == (0, None)


async def test_a_decided_claim_cannot_be_refiled_under_its_decision(client: AsyncClient, keys: Keys) -> None:
    """Correcting the filing of an approved claim (another person, benefit or incident) would change
    what the approval stood for: the decision goes with it, and the claim is decided again."""
    person, other = await kpps_2024(client, keys), await kpps_2024(client, keys)
    await append(
        client,
        keys.office,
        filed("C-refile", person, incident="2024-02-14"),
        approved("C-refile", "2024-02-20"),
    )
    swapped = filed("C-refile", other, incident="2023-02-14") | {"event_id": "C-refile-filed-2"}
    alone = await post(client, keys.office, corrected("refile-1", ["C-refile-filed"], replacement=swapped))
    assert alone.status_code == 409, alone.text
    assert alone.json()["errors"][0]["code"] == "decided_claim_refiled"
    # with its decision superseded too, the claim is filed again, undecided
    both = corrected("refile-2", ["C-refile-filed", "C-refile-approved"], replacement=swapped)
    assert (await post(client, keys.office, both)).status_code == 200
    assert (await claim(client, keys.office, "C-refile"))["status"] == "filed"


async def test_a_claim_cannot_tell_of_days_to_come_or_pay_before_its_incident(
    client: AsyncClient, keys: Keys
) -> None:
    person = await kpps_2024(client, keys)
    future = await post(client, keys.office, filed("C-soon", person, incident="2099-02-14"))
    assert future.status_code == 422 and future.json()["errors"][0]["code"] == "day_in_future", future.text
    assert future.json()["errors"][0]["field"] == "events[0].incident_date"
    await append(
        client, keys.office, filed("C-days", person, incident="2024-02-14"), approved("C-days", "2024-02-20")
    )
    early = await post(client, keys.office, paid("C-days", 1_000_000, "2024-02-10"))
    assert early.status_code == 422 and early.json()["errors"][0]["code"] == "day_before_incident", early.text


async def test_a_claim_id_of_another_region_is_taken_and_nothing_more_is_told(
    client: AsyncClient, keys: Keys
) -> None:
    person = await kpps_2024(client, keys)
    await append(
        client,
        keys.office,
        filed("C-same", person, incident="2024-02-14"),
        approved("C-same", "2024-02-20"),
        paid("C-same", 30_000_000, "2024-02-22"),
    )
    elsewhere = nik(district="320101")
    await append(client, keys.other_office, registered(elsewhere, region="32.01.01"))
    twin = filed("C-same", elsewhere, incident="2024-02-14") | {"event_id": "c-same-west"}
    clash = await post(client, keys.other_office, twin)
    assert clash.status_code == 409
    codes = [e["code"] for e in clash.json()["errors"]]
    assert codes == ["claim_id_taken"], codes  # said alone: nothing of the other claim, no contradiction
    assert "30,000,000" not in clash.text


async def test_correcting_a_reversal_or_the_payment_it_took_keeps_what_it_took(
    client: AsyncClient, keys: Keys
) -> None:
    """A reversal naming no payment takes back those paid by its day; corrections of the reversal
    or of that payment, appended after a later payment, change nothing of that."""
    person = await kpps_2024(client, keys)
    await append(client, keys.office, *paid_in_full("C-keep", person, payment_id="c-keep-p1"))
    back = reversed_("C-keep", "returned by the bank", reversed_on="2024-02-23")
    await append(client, keys.office, back)
    await append(client, keys.office, paid("C-keep", 42_000_000, "2024-02-26", event_id="c-keep-p2"))
    reworded = back | {"event_id": "c-keep-r2", "reason": "returned: account closed"}
    await append(client, keys.office, corrected("c-keep-fix-r", [back["event_id"]], replacement=reworded))
    body = await claim(client, keys.office, "C-keep")
    assert (body["status"], body["paid_amount"], body["reversed_amount"]) == ("paid", 42_000_000, 42_000_000)
    moved = paid("C-keep", 42_000_000, "2024-02-21", event_id="c-keep-p1b")
    fix = await post(client, keys.office, corrected("c-keep-fix-p", ["c-keep-p1"], replacement=moved))
    assert fix.status_code == 200, fix.text
    body = await claim(client, keys.office, "C-keep")
    assert (body["status"], body["paid_amount"], body["reversed_amount"]) == ("paid", 42_000_000, 42_000_000)


async def test_a_claim_cannot_be_completed_or_reversed_on_a_day_to_come(
    client: AsyncClient, keys: Keys
) -> None:
    person = await kpps_2024(client, keys)
    later = await post(
        client, keys.office, filed("C-late", person, incident="2024-02-14", complete_on="2099-01-01")
    )
    assert later.status_code == 422 and later.json()["errors"][0]["field"] == "events[0].complete_on", (
        later.text
    )


async def test_resending_another_regions_event_tells_nothing_about_it(
    client: AsyncClient, keys: Keys
) -> None:
    """The same id from a key of another region: identical or not, the answer is the same 409."""
    person = await kpps_2024(client, keys)
    payment = paid("C-oracle", 30_000_000, "2024-02-22", event_id="c-oracle-p1")
    await append(
        client,
        keys.office,
        filed("C-oracle", person, incident="2024-02-14", filed_on="2024-02-20"),
        approved("C-oracle", "2024-02-21"),
        payment,
    )
    answers = []
    for guess in (payment, payment | {"amount": 29_000_000}):
        response = await post(client, keys.other_office, guess)
        answers.append((response.status_code, response.json()["errors"][0]["code"]))
    assert answers == [(409, "event_id_taken"), (409, "event_id_taken")]
    own = await post(client, keys.office, payment)
    assert own.status_code == 200 and own.json()["duplicates"] == 1


async def test_a_claim_numbered_with_slashes_is_read_at_its_number(client: AsyncClient, keys: Keys) -> None:
    """Found by a probe: an office's letter-style number (JKM/2024/001) was listed but its own
    address answered 404."""
    person = await kpps_2024(client, keys)
    await append(client, keys.office, filed("JKM/2024/001", person, incident="2024-02-14"))
    for path in ("/v1/claims/JKM/2024/001", "/v1/claims/JKM%2F2024%2F001"):
        response = await client.get(path, headers=Keys.header(keys.office))
        assert response.status_code == 200, (path, response.text)
        assert response.json()["claim_id"] == "JKM/2024/001"
    assert (await client.get("/v1/claims/JKM/2024/002", headers=Keys.header(keys.office))).status_code == 404
    # its query is held to the operation's parameters like any other claim's
    pinned = await client.get("/v1/claims/JKM/2024/001?known_at=tx:1&nik=1", headers=Keys.header(keys.office))
    assert pinned.status_code == 422 and pinned.json()["errors"][0]["field"] == "nik"
    twice = await client.get(
        "/v1/claims/JKM/2024/001?known_at=tx:1&known_at=2024-01-01", headers=Keys.header(keys.office)
    )
    assert twice.status_code == 422 and twice.json()["errors"][0]["code"] == "repeated_parameter"
