"""Claims of BPU members: the declared income as the wage, arrears paid after an incident, scholarships
and what the rule table lacks."""

from httpx import AsyncClient

from tests.claims_support import (
    append,
    approved,
    claim,
    filed,
    member_paid_for_the_first_quarter,
    paid,
    paid_member,
    post,
)
from tests.support import Keys, enrolled, enrolled_bpu, nik, registered
from tests.support import paid as contribution_paid


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
