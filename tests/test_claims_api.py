"""Claims through the API: the judged scenarios of the claims issue, and what surrounds them."""

from typing import Any

import pytest
from httpx import AsyncClient

from tests.claims_support import (
    append,
    approved,
    claim,
    filed,
    kpps_2024,
    member_paid_for_the_first_quarter,
    paid,
    paid_in_full,
    paid_member,
    post,
    rejected,
    reversed_,
)
from tests.support import Keys, corrected, enrolled, enrolled_bpu, nik, registered
from tests.support import paid as contribution_paid


def components(body: dict[str, Any]) -> dict[str, int]:
    return {c["name"]: c["amount"] for c in body["breakdown"]}


async def test_a_death_on_14_february_2024_of_a_covered_officer_pays_42_million_under_jkm(
    client: AsyncClient, keys: Keys
) -> None:
    person = await kpps_2024(client, keys)
    await append(client, keys.office, filed("C-1", person, incident="2024-02-14", filed_on="2024-02-20"))
    await append(client, keys.office, approved("C-1", "2024-02-21"))
    body = await claim(client, keys.office, "C-1")
    assert body["status"] == "approved"
    assert body["covered_on_incident"] is True
    assert body["payable_amount"] == 42_000_000
    assert components(body) == {"lump_sum": 20_000_000, "periodic": 12_000_000, "funeral": 10_000_000}
    assert body["rule"]["rule_id"] == "jkm-pp82-2019"
    assert body["outstanding_amount"] == 42_000_000
    assert body["flags"] == ["overdue"]  # complete on 20 Feb 2024, unpaid today
    then = await claim(client, keys.office, "C-1", valid_at="2024-02-21")
    assert then["flags"] == []


async def test_the_same_death_on_1_november_2019_pays_24_million(client: AsyncClient, keys: Keys) -> None:
    person = nik()
    await append(
        client,
        keys.office,
        registered(person),
        enrolled(
            person,
            event_id="kpps-2019",
            valid_from="2019-10-01",
            valid_to="2019-12-01",
            registered_on="2019-09-20",
        ),
        filed("C-2019", person, incident="2019-11-01", filed_on="2019-11-05"),
    )
    await append(client, keys.office, approved("C-2019", "2019-11-06"))
    body = await claim(client, keys.office, "C-2019")
    assert body["payable_amount"] == 24_000_000
    assert components(body) == {"lump_sum": 16_200_000, "periodic": 4_800_000, "funeral": 3_000_000}
    assert body["rule"]["rule_id"] == "jkm-pp44-2015"


async def test_a_work_accident_death_pays_48_wages_plus_funeral_and_periodic(
    client: AsyncClient, keys: Keys
) -> None:
    person = await kpps_2024(client, keys)
    await append(
        client,
        keys.office,
        filed(
            "C-JKK", person, benefit="JKK_DEATH", incident="2024-02-14", wage=1_200_000, filed_on="2024-02-15"
        ),
        approved("C-JKK", "2024-02-16"),
    )
    body = await claim(client, keys.office, "C-JKK")
    assert components(body) == {"wage_multiple": 57_600_000, "funeral": 10_000_000, "periodic": 12_000_000}
    assert body["payable_amount"] == 79_600_000
    assert body["program"] == "JKK"
    assert body["rule"]["rule_id"] == "jkk-pp82-2019"


async def test_a_claim_for_a_person_not_covered_on_the_incident_date_is_refused_then_rejected_with_the_reason(
    client: AsyncClient, keys: Keys
) -> None:
    person = await kpps_2024(client, keys)
    await append(client, keys.office, filed("C-late", person, incident="2024-03-10"))
    refused = await post(client, keys.office, approved("C-late", "2024-03-12"))
    assert refused.status_code == 409, refused.text
    error = refused.json()["errors"][0]
    assert error["code"] == "not_eligible"
    assert error["field"] == "events[0]"
    assert "not covered for JKM on the incident date 10 Mar 2024" in error["message"]
    pending = await claim(client, keys.office, "C-late")
    assert pending["status"] == "filed"
    assert pending["known_now"]["payable"] is False
    assert pending["payable_amount"] == 0
    reason = pending["known_now"]["reason"]
    await append(client, keys.office, rejected("C-late", "2024-03-12", reason))
    body = await claim(client, keys.office, "C-late")
    assert body["status"] == "rejected"
    assert body["decision"]["reason"].startswith("not covered for JKM on the incident date 10 Mar 2024")
    assert body["covered_on_incident"] is False


async def test_a_payment_reversed_later_shows_paid_before_the_reversal_and_reversed_after(
    client: AsyncClient, keys: Keys
) -> None:
    person = await kpps_2024(client, keys)
    await append(
        client, keys.office, filed("C-rev", person, incident="2024-02-14"), approved("C-rev", "2024-02-20")
    )
    paid_tx = await append(client, keys.office, paid("C-rev", 42_000_000, "2024-02-22"))
    reversed_tx = await append(
        client, keys.office, reversed_("C-rev", "returned by the bank: closed account")
    )
    before = await claim(client, keys.office, "C-rev", known_at=f"tx:{paid_tx}")
    assert (before["status"], before["paid_amount"], before["reversed_amount"]) == ("paid", 42_000_000, 0)
    after = await claim(client, keys.office, "C-rev", known_at=f"tx:{reversed_tx}")
    assert (after["status"], after["paid_amount"], after["reversed_amount"]) == ("reversed", 0, 42_000_000)
    assert after["payments"][0]["reversed_by"] == "C-rev-reversed"
    again = await post(client, keys.office, reversed_("C-rev", "twice", event_id="C-rev-reversed-2"))
    assert again.status_code == 409
    assert again.json()["errors"][0]["code"] == "nothing_to_reverse"


async def test_a_jkm_claim_paid_4_days_after_its_due_date_owes_4_percent(
    client: AsyncClient, keys: Keys
) -> None:
    person = await kpps_2024(client, keys)
    # complete on Monday 4 March 2024: due Thursday 7 March (3 working days), paid Monday 11 March
    await append(
        client,
        keys.office,
        filed("C-slow", person, incident="2024-02-14", filed_on="2024-03-01", complete_on="2024-03-04"),
        approved("C-slow", "2024-03-05"),
    )
    await append(client, keys.office, paid("C-slow", 42_000_000, "2024-03-11"))
    body = await claim(client, keys.office, "C-slow")
    assert body["due_date"] == "2024-03-07"
    assert body["settled_on"] == "2024-03-11"
    assert (body["late"], body["days_late"], body["penalty_amount"]) == (True, 4, 1_680_000)
    assert "paid_late" in body["flags"]


async def test_partial_payments_add_up_and_an_overpayment_is_refused(client: AsyncClient, keys: Keys) -> None:
    person = await kpps_2024(client, keys)
    await append(
        client, keys.office, filed("C-part", person, incident="2024-02-14"), approved("C-part", "2024-02-20")
    )
    await append(client, keys.office, paid("C-part", 20_000_000, "2024-02-21"))
    first = await claim(client, keys.office, "C-part")
    assert (first["status"], first["paid_amount"], first["outstanding_amount"]) == (
        "partially_paid",
        20_000_000,
        22_000_000,
    )
    too_much = await post(client, keys.office, paid("C-part", 30_000_000, "2024-02-22"))
    assert too_much.status_code == 409
    assert too_much.json()["errors"][0]["code"] == "overpaid"
    assert too_much.json()["errors"][0]["field"] == "events[0].amount"
    await append(client, keys.office, paid("C-part", 22_000_000, "2024-02-22"))
    done = await claim(client, keys.office, "C-part")
    assert (done["status"], done["paid_amount"], done["settled_on"]) == ("paid", 42_000_000, "2024-02-22")


async def test_a_decision_stands_when_the_cover_is_retracted_later_but_the_claim_says_so(
    client: AsyncClient, keys: Keys
) -> None:
    person = await kpps_2024(client, keys)
    decided_tx = await append(
        client, keys.office, filed("C-ret", person, incident="2024-02-14"), approved("C-ret", "2024-02-20")
    )
    await append(client, keys.office, corrected("retract-kpps", [f"kpps-{person}"], reason="never served"))
    body = await claim(client, keys.office, "C-ret")
    assert body["status"] == "approved"
    assert body["payable_amount"] == 42_000_000
    assert body["when_decided"]["tx_seq"] == decided_tx
    assert body["when_decided"]["payable"] is True
    assert body["known_now"]["payable"] is False
    assert "current_knowledge_decides_differently" in body["flags"]
    then = await claim(client, keys.office, "C-ret", known_at=f"tx:{decided_tx}")
    assert "current_knowledge_decides_differently" not in then["flags"]


async def test_a_rejection_for_want_of_cover_is_flagged_when_a_late_roster_covers_the_day(
    client: AsyncClient, keys: Keys
) -> None:
    person = nik()
    await append(client, keys.office, registered(person), filed("C-roster", person, incident="2024-02-14"))
    await append(client, keys.office, rejected("C-roster", "2024-02-20", "not on any roster"))
    await append(
        client,
        keys.office,
        enrolled(
            person,
            event_id="late-roster",
            valid_from="2024-01-25",
            valid_to="2024-02-24",
            registered_on="2024-01-20",
        ),
    )
    body = await claim(client, keys.office, "C-roster")
    assert body["status"] == "rejected"
    assert body["when_decided"]["payable"] is False
    assert body["known_now"]["payable"] is True
    assert "current_knowledge_decides_differently" in body["flags"]


async def test_a_jkk_claim_filed_after_the_two_year_limit_cannot_be_approved(
    client: AsyncClient, keys: Keys
) -> None:
    """Two years for an accident before PP 82/2019 (PP 44/2015 Pasal 26), five from it on."""
    person = nik()
    await append(
        client,
        keys.office,
        registered(person),
        enrolled(
            person,
            event_id=f"kpps-2019-{person}",
            valid_from="2019-04-01",
            valid_to="2019-05-01",
            registered_on="2019-03-20",
        ),
        filed(
            "C-old", person, benefit="JKK_DEATH", incident="2019-04-17", wage=1_100_000, filed_on="2021-05-01"
        ),
    )
    refused = await post(client, keys.office, approved("C-old", "2021-05-02"))
    assert refused.status_code == 409
    assert "after the 2-year limit of PP 44/2015" in refused.json()["errors"][0]["message"]
    body = await claim(client, keys.office, "C-old")
    assert "filed_after_deadline" in body["flags"]

    officer_2024 = await kpps_2024(client, keys)
    await append(
        client,
        keys.office,
        filed(
            "C-pp82",
            officer_2024,
            benefit="JKK_DEATH",
            incident="2024-02-14",
            wage=1_100_000,
            filed_on="2026-03-01",
        ),
        approved("C-pp82", "2026-03-02"),
    )
    assert "filed_after_deadline" not in (await claim(client, keys.office, "C-pp82"))["flags"]


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


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"benefit": "JKK_PERMANENT_TOTAL"}, {"wage_multiple": 56 * 1_200_000, "periodic": 12_000_000}),
        # 10% of the table × 80 wages
        ({"benefit": "JKK_PARTIAL", "disability_percent": 10}, {"wage_multiple": 9_600_000}),
        # 100% for 12 months, then 50% (PP 82/2019)
        ({"benefit": "JKK_TEMPORARY", "incapacity_months": 14}, {"incapacity": 12 * 1_200_000 + 2 * 600_000}),
        ({"benefit": "JKK_MEDICAL", "medical_cost": 18_750_000}, {"medical": 18_750_000}),
    ],
)
async def test_work_accident_benefits_follow_the_rule_of_the_incident_date(
    client: AsyncClient, keys: Keys, fields: dict[str, Any], expected: dict[str, int]
) -> None:
    person = await kpps_2024(client, keys)
    await append(
        client,
        keys.office,
        filed("C-acc", person, incident="2024-02-14", wage=1_200_000, filed_on="2024-02-15") | fields,
        approved("C-acc", "2024-02-16"),
    )
    body = await claim(client, keys.office, "C-acc")
    totals: dict[str, int] = {}
    for component in body["breakdown"]:
        totals[component["name"]] = totals.get(component["name"], 0) + component["amount"]
    assert totals == expected
    assert body["payable_amount"] == sum(expected.values())


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


async def test_a_claim_approved_for_nothing_is_never_overdue(client: AsyncClient, keys: Keys) -> None:
    """Found by a probe: a temporary-incapacity claim of a member who declared an income of 0 was
    approved for Rp0, then overdue for good (a payment of Rp1 overpays it, one of 0 is refused)."""
    person = nik()
    await append(
        client,
        keys.office,
        registered(person),
        enrolled_bpu(person, event_id=f"bpu0-{person}", valid_from="2025-01-01", income=0),
        contribution_paid(
            person,
            event_id=f"q1-{person}",
            months=("2025-01", "2025-03"),
            amount=50_400,
            paid_on="2025-01-05",
        ),
    )
    await append(
        client,
        keys.office,
        filed(
            "C-zero",
            person,
            benefit="JKK_TEMPORARY",
            incident="2025-02-10",
            filed_on="2025-02-11",
            incapacity_months=2,
        ),
        approved("C-zero", "2025-02-12"),
    )
    body = await claim(client, keys.office, "C-zero", valid_at="2025-06-01")
    assert (body["status"], body["payable_amount"]) == ("approved", 0), body
    assert "overdue" not in body["flags"] and body["days_late"] == 0, body
    listed = await client.get(
        "/v1/claims", params={"overdue": "true", "valid_at": "2025-06-01"}, headers=Keys.header(keys.office)
    )
    assert "C-zero" not in {c["claim_id"] for c in listed.json()["items"]}, listed.text


async def test_a_bpu_members_jkk_wage_is_the_declared_income_whatever_the_claim_says(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by a probe: DESIGN.md makes the declared income the JKK wage base for BPU, but a
    claim's own `wage` of Rp5 million made a death benefit of Rp262 million."""
    person = await member_paid_for_the_first_quarter(client, keys)  # declared income Rp1 million
    await append(
        client,
        keys.office,
        filed(
            "C-bpu-wage",
            person,
            benefit="JKK_DEATH",
            incident="2025-02-10",
            wage=5_000_000,
            filed_on="2025-02-12",
        ),
    )
    body = await claim(client, keys.office, "C-bpu-wage")
    assert body["payable_amount"] == 48 * 1_000_000 + 10_000_000 + 12_000_000, body["breakdown"]


async def test_arrears_paid_after_a_death_restore_the_cover_but_not_years_of_contributions(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by a probe: a member who paid 35 months and died in the 36th, unpaid, qualified for
    the JKM scholarship (three years of contributions) once the heirs paid that month."""
    person = nik()
    await append(
        client,
        keys.office,
        registered(person),
        enrolled_bpu(person, event_id=f"bpu-{person}", valid_from="2022-10-01"),
        contribution_paid(
            person,
            event_id=f"p35-{person}",
            months=("2022-10", "2025-08"),
            amount=35 * 16_800,
            paid_on="2022-10-01",
        ),
        filed("C-35", person, incident="2025-09-10", filed_on="2025-09-12", children=[{"level": "SMA"}]),
    )
    assert (await claim(client, keys.office, "C-35"))["payable_amount"] == 0  # in arrears on the day
    september = contribution_paid(
        person, event_id=f"sep-{person}", months=("2025-09", "2025-09"), amount=16_800, paid_on="2025-09-20"
    )
    await append(client, keys.office, september)
    body = await claim(client, keys.office, "C-35")
    assert body["payable_amount"] == 42_000_000  # the cover is back (facts.md, the Sidoarjo case)
    assert body["scholarship_total"] == 0, body


async def test_arrears_paid_after_the_claim_was_complete_start_its_service_time(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by a domain probe: a member paid through August died on 10 September, in arrears;
    the claim, complete on 12 September, could not be approved until the heirs paid September on
    Monday 20 October. Its three working days ran from 12 September all the same (due 17
    September: 37 days late, Rp15,540,000 of penalty when paid on 24 October). They run from the
    payment: due Thursday 23 October, one day late, Rp420,000."""
    person = await paid_member(client, keys.office, since="2025-01", through="2025-08")
    await append(
        client,
        keys.office,
        filed("C-late-cover", person, incident="2025-09-10", filed_on="2025-09-12", complete_on="2025-09-12"),
    )
    refused = await post(client, keys.office, approved("C-late-cover", "2025-09-15"))
    assert refused.status_code == 409 and refused.json()["errors"][0]["code"] == "not_eligible"
    september = contribution_paid(
        person, event_id=f"sep-{person}", months=("2025-09", "2025-09"), amount=16_800, paid_on="2025-10-20"
    )
    await append(client, keys.office, september)
    await append(client, keys.office, approved("C-late-cover", "2025-10-21"))
    await append(client, keys.office, paid("C-late-cover", 42_000_000, "2025-10-24"))
    body = await claim(client, keys.office, "C-late-cover", valid_at="2025-11-01")
    assert (body["due_date"], body["days_late"], body["penalty_amount"]) == ("2025-10-23", 1, 420_000), body
    assert "cover_recorded_after_incident" in body["flags"]


async def test_a_claim_not_payable_shows_no_scholarship(client: AsyncClient, keys: Keys) -> None:
    """Found by a probe: a member with three years paid who died in an unpaid month (in arrears)
    was shown Rp153 million of scholarships beside a payable amount of 0. They come with the
    benefit: once the heirs pay the month, both are there."""
    person = nik()
    await append(
        client,
        keys.office,
        registered(person),
        enrolled_bpu(person, event_id=f"bpu-{person}", valid_from="2022-01-01"),
        contribution_paid(
            person,
            event_id=f"p36-{person}",
            months=("2022-01", "2024-12"),
            amount=36 * 16_800,
            paid_on="2022-01-01",
        ),
        filed(
            "C-arrears",
            person,
            incident="2025-01-10",
            filed_on="2025-01-12",
            children=[{"level": "SD"}, {"level": "SMA"}],
        ),
    )
    body = await claim(client, keys.office, "C-arrears")
    assert (body["payable_amount"], body["scholarship_total"], body["scholarships"]) == (0, 0, []), body
    january = contribution_paid(
        person, event_id=f"jan-{person}", months=("2025-01", "2025-01"), amount=16_800, paid_on="2025-01-20"
    )
    await append(client, keys.office, january)
    body = await claim(client, keys.office, "C-arrears")
    assert body["payable_amount"] == 42_000_000 and body["scholarship_total"] > 0, body


async def test_a_member_in_arrears_is_claimed_for_on_the_declared_income_without_a_wage(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by a probe: a JKK death of a BPU member in arrears (April unpaid) could be filed only
    with a `wage`, which the benefit then ignored once the heirs paid April. The membership the
    day belongs to gives the wage from the filing on."""
    person = await member_paid_for_the_first_quarter(client, keys)  # declared income Rp1 million
    await append(
        client,
        keys.office,
        filed("C-arrears-jkk", person, benefit="JKK_DEATH", incident="2025-04-10", filed_on="2025-04-12"),
    )
    assert (await claim(client, keys.office, "C-arrears-jkk"))["payable_amount"] == 0
    april = contribution_paid(
        person, event_id=f"apr-{person}", months=("2025-04", "2025-04"), amount=16_800, paid_on="2025-04-20"
    )
    await append(client, keys.office, april)
    body = await claim(client, keys.office, "C-arrears-jkk")
    assert body["payable_amount"] == 48 * 1_000_000 + 10_000_000 + 12_000_000, body["breakdown"]


async def test_a_scholarship_the_rule_table_lacks_is_flagged(client: AsyncClient, keys: Keys) -> None:
    """Found by a probe: a JKK death of 2019 (PP 44/2015, which gave Rp12 million for one child,
    facts.md) naming children showed no scholarship and nothing saying why. The table holds no
    PP 44/2015 scholarship, so the claim says so; one of 2024 (PP 82/2019) is reckoned."""
    for claim_id, year in (("C-2019", "2019"), ("C-2024", "2024")):
        person = nik()
        await append(
            client,
            keys.office,
            registered(person),
            enrolled(
                person,
                event_id=f"kpps-{person}",
                valid_from=f"{year}-04-01",
                valid_to=f"{year}-04-30",
                registered_on=f"{year}-03-20",
            ),
            filed(
                claim_id,
                person,
                benefit="JKK_DEATH",
                incident=f"{year}-04-17",
                filed_on=f"{year}-04-20",
                wage=4_000_000,
                children=[{"level": "SD"}],
            ),
        )
    old = await claim(client, keys.office, "C-2019")
    assert "scholarship_not_in_the_rule_table" in old["flags"] and old["scholarship_total"] == 0, old
    new = await claim(client, keys.office, "C-2024")
    assert "scholarship_not_in_the_rule_table" not in new["flags"] and new["scholarship_total"] > 0, new
