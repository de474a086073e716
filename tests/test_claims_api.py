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
    paid,
    post,
    rejected,
    reversed_,
)
from tests.support import Keys, corrected, enrolled, nik, registered


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
