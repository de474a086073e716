"""What a committed officer roster costs: officer months priced per region under the rule in force, the
invoice of a replacing roster, and credits for retracted officers."""

from typing import Any

from tests.rosters import Uploader, append_as_admin, officer_row, roster_csv
from tests.support import Keys, enrolled, nik, registered


async def test_the_invoice_prices_officer_months_per_region(uploader: Uploader) -> None:
    rows = [
        officer_row(),  # KPPS 25 Jan - 23 Feb 2024: two calendar months
        officer_row(region="16.71.02"),
        officer_row(region="16.71.02", term=("2024-02-01", "2024-02-20")),  # one month
        # found by a domain probe: a term before Inpres 2/2021 (no officer rate) cost nothing while
        # its line named the rule that priced the others; it says `none` now
        officer_row(region="16.71.03", term=("2019-04-01", "2019-04-30"), registered_on="2019-03-20"),
        officer_row(region="16.71.03"),
    ]
    status = await uploader.run(roster_csv(rows))
    assert status["outcome"]["invoice_total"] == (2 + 2 + 1 + 2) * 16_800
    response = await uploader.client.get(
        f"/v1/uploads/{status['upload_id']}/invoice",
        headers={"Authorization": f"Bearer {uploader.keys.committee}"},
    )
    lines = response.text.strip().splitlines()
    assert lines == [
        "region_code,officers,officer_months,amount,rule_id",
        "16.71.01,1,2,33600,officer-rate-inpres-2-2021",
        "16.71.02,2,3,50400,officer-rate-inpres-2-2021",
        '16.71.03,2,3,33600,"none,officer-rate-inpres-2-2021"',
    ]
    # a dry run commits nothing, so owes nothing: no header-only CSV (found by a probe)
    dry = await uploader.run(roster_csv([officer_row()]), dry_run="true")
    none = await uploader.client.get(
        f"/v1/uploads/{dry['upload_id']}/invoice", headers=Keys.header(uploader.keys.committee)
    )
    assert none.status_code == 404 and "a dry run" in none.json()["detail"], none.text


def _officer_rate(rule_id: str, proration: str, rate: int) -> dict[str, Any]:
    """A correction replacing the shipped officer rate with another."""
    return {
        "event_id": f"fix-{rule_id}",
        "type": "event.corrected",
        "supersedes": ["rules:bpu-2025:officer-rate-inpres-2-2021"],
        "reason": "the tariff confirmed",
        "replacement": {
            "event_id": f"rules:{rule_id}",
            "type": "rule.defined",
            "rule_id": rule_id,
            "kind": "officer_rate",
            "parameters": {
                "first_day": "2021-03-25",
                "last_day": None,
                "monthly_rate": rate,
                "proration": proration,
            },
            "regulation": "Inpres 2/2021",
            "source": "karanganyarnews pr-1907747676 (Boyolali 2024: Rp5,939 per officer)",
        },
    }


async def test_an_officer_rate_per_term_prices_each_officer_once(uploader: Uploader) -> None:
    """Found by a probe: the rule's proration was stored and never read, so the Boyolali tariff of
    facts.md (Rp5,939 per officer for a short term) could not be written as a rule. A proration
    the invoices cannot apply is refused."""
    weekly = await uploader.client.post(
        "/v1/events",
        json={"events": [_officer_rate("officer-rate-weekly", "weekly", 1_000)]},
        headers=Keys.header(uploader.keys.admin),
    )
    assert weekly.status_code == 422, weekly.text
    assert "proration" in weekly.text
    await append_as_admin(uploader, _officer_rate("officer-rate-boyolali", "per_term", 5_939))
    rows = [officer_row(), officer_row(), officer_row(term=("2024-02-01", "2024-02-20"))]
    status = await uploader.run(roster_csv(rows))
    assert status["outcome"]["invoice_total"] == 3 * 5_939, status
    response = await uploader.client.get(
        f"/v1/uploads/{status['upload_id']}/invoice", headers=Keys.header(uploader.keys.committee)
    )
    assert response.text.strip().splitlines()[1] == "16.71.01,3,5,17817,officer-rate-boyolali"


async def test_a_replacing_rosters_invoice_is_the_change_it_makes(uploader: Uploader) -> None:
    kept, shortened, dropped, added, appended = (nik() for _ in range(5))
    first = await uploader.run(roster_csv([officer_row(p) for p in (kept, shortened, dropped)]))
    assert first["outcome"]["invoice_total"] == 3 * 2 * 16_800
    # an officer of the committee appended through the API: never invoiced, so never credited
    await append_as_admin(
        uploader,
        registered(appended),
        enrolled(appended, event_id=f"api-{appended}", valid_from="2024-01-25", valid_to="2024-02-24"),
    )
    rows = [
        officer_row(kept),
        officer_row(shortened, term=("2024-02-01", "2024-02-23")),  # two months become one
        officer_row(added, region="16.71.02"),
    ]
    again = await uploader.run(roster_csv(rows), mode="replace_roster")
    assert again["status"] == "succeeded", again
    assert (again["outcome"]["corrected"], again["outcome"]["retracted"]) == (1, 2)
    # the newcomer's two months, less the shortened month, less the dropped officer's two
    assert again["outcome"]["invoice_total"] == (2 - 1 - 2) * 16_800
    response = await uploader.client.get(
        f"/v1/uploads/{again['upload_id']}/invoice",
        headers={"Authorization": f"Bearer {uploader.keys.committee}"},
    )
    assert response.text.strip().splitlines() == [
        "region_code,officers,officer_months,amount,rule_id",
        "16.71.01,-1,-3,-50400,officer-rate-inpres-2-2021",
        "16.71.02,1,2,33600,officer-rate-inpres-2-2021",
    ]


async def test_a_retracted_officer_is_credited_what_the_upload_billed_whatever_the_rate_became(
    uploader: Uploader,
) -> None:
    """Found by a review: credits were priced by the rate in force when replacing, so an officer
    billed two months at Rp16,800 and retracted after the tariff became Rp5,939 per officer was
    credited Rp5,939 and stayed owing Rp27,661 for someone the committee no longer has."""
    kept, dropped, added = nik(), nik(), nik()
    first = await uploader.run(roster_csv([officer_row(kept), officer_row(dropped)]))
    assert first["outcome"]["invoice_total"] == 2 * 2 * 16_800, first
    await append_as_admin(uploader, _officer_rate("officer-rate-boyolali", "per_term", 5_939))

    again = await uploader.run(roster_csv([officer_row(kept), officer_row(added)]), mode="replace_roster")
    assert again["status"] == "succeeded", again
    assert again["outcome"]["retracted"] == 1, again
    # the newcomer at the tariff now in force, less what the dropped officer was billed
    assert again["outcome"]["invoice_total"] == 5_939 - 2 * 16_800
    response = await uploader.client.get(
        f"/v1/uploads/{again['upload_id']}/invoice", headers=Keys.header(uploader.keys.committee)
    )
    assert response.text.strip().splitlines()[1:] == [
        '16.71.01,0,0,-27661,"officer-rate-boyolali,officer-rate-inpres-2-2021"'
    ]
    # the two uploads together bill exactly the officers the committee has, each as billed
    assert first["outcome"]["invoice_total"] + again["outcome"]["invoice_total"] == 2 * 16_800 + 5_939
