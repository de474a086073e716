"""A claim rests on the sources that cover its own program (found by a claims probe): an officer
term of the other program leaves a BPU member's early-death amount and wage base as they are and
does not make late payments matter; an undecided claim whose cover was corrected away is owed
nothing; and an undecided claim stays with the office that reads it when its term moves away."""

from typing import Any

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.ledger.rebuild import rebuild_check
from coverage_ledger.reference import benefit_rules
from tests.claims_support import append, approved, claim, filed, kpps_2024, post
from tests.support import Keys, corrected, enrolled, enrolled_bpu, nik, registered
from tests.support import paid as contribution


async def _member_with_a_term(
    client: AsyncClient, keys: Keys, *, term_programs: list[str], since: str, paid: tuple[str, str]
) -> str:
    """A BPU member since `since` (income Rp1,000,000, months `paid` paid on `since`) who is also
    a KPPS officer 25 Jan – 23 Feb 2024 for `term_programs` only; the NIK."""
    person = nik()
    months = (int(paid[1][:4]) - int(paid[0][:4])) * 12 + int(paid[1][5:]) - int(paid[0][5:]) + 1
    await append(
        client,
        keys.office,
        registered(person),
        enrolled(
            person,
            event_id=f"term-{person}",
            valid_from="2024-01-25",
            valid_to="2024-02-24",
            registered_on="2024-01-15",
            programs=term_programs,
        ),
        enrolled_bpu(person, event_id=f"bpu-{person}", valid_from=since),
        contribution(person, event_id=f"pay-{person}", months=paid, amount=months * 16_800, paid_on=since),
    )
    return person


async def test_a_jkk_term_leaves_a_new_members_jkm_at_the_early_amount(
    client: AsyncClient, keys: Keys
) -> None:
    person = await _member_with_a_term(
        client, keys, term_programs=["JKK"], since="2024-01-15", paid=("2024-01", "2024-06")
    )
    await append(client, keys.office, filed("E-1", person, incident="2024-02-14"))
    body = await claim(client, keys.office, "E-1")
    # a member of one month: facts.md's Rp10 million (8 santunan + 2 funeral), not Rp42 million
    assert (body["covered_on_incident"], body["payable_amount"]) == (True, 10_000_000), body


async def test_a_jkm_term_leaves_a_members_jkk_on_the_declared_income(
    client: AsyncClient, keys: Keys
) -> None:
    person = await _member_with_a_term(
        client, keys, term_programs=["JKM"], since="2023-01-01", paid=("2023-01", "2024-06")
    )
    await append(
        client, keys.office, filed("W-1", person, benefit="JKK_DEATH", incident="2024-02-14", wage=5_000_000)
    )
    body = await claim(client, keys.office, "W-1")
    # 48 × the declared Rp1,000,000 + Rp10 million funeral + Rp12 million periodic
    assert body["payable_amount"] == 70_000_000, body


def _member_since_october_paid_late(person: str) -> list[dict[str, Any]]:
    """A BPU membership from October 2023, its first quarter paid at once; January and February
    paid by the heirs on 20 February 2024, after a death on the 14th."""
    paid = [
        ("q4", ("2023-10", "2023-12"), 50_400, "2023-10-01"),
        ("late", ("2024-01", "2024-02"), 33_600, "2024-02-20"),
    ]
    return [enrolled_bpu(person, event_id=f"bpu-{person}", valid_from="2023-10-01")] + [
        contribution(person, event_id=f"{name}-{person}", months=months, amount=amount, paid_on=day)
        for name, months, amount, day in paid
    ]


async def test_a_term_in_time_is_not_flagged_for_arrears_paid_after_the_death(
    client: AsyncClient, keys: Keys
) -> None:
    person = await kpps_2024(client, keys)
    await append(
        client,
        keys.office,
        *_member_since_october_paid_late(person),
        filed("F-1", person, incident="2024-02-14", filed_on="2024-02-21"),
        approved("F-1", "2024-02-22"),
    )
    body = await claim(client, keys.office, "F-1")
    assert body["payable_amount"] == 42_000_000
    assert "cover_recorded_after_incident" not in body["flags"], body
    # without the term, the arrears are what covers the day: flagged
    member = nik()
    await append(
        client,
        keys.office,
        registered(member),
        *_member_since_october_paid_late(member),
        filed("F-2", member, incident="2024-02-14", filed_on="2024-02-21"),
    )
    assert "cover_recorded_after_incident" in (await claim(client, keys.office, "F-2"))["flags"]


async def test_a_jkm_claim_on_a_jkk_term_says_what_the_term_covered(client: AsyncClient, keys: Keys) -> None:
    person = nik()
    await append(
        client,
        keys.office,
        registered(person),
        enrolled(
            person,
            event_id=f"term-{person}",
            valid_from="2024-01-25",
            valid_to="2024-02-24",
            registered_on="2024-01-15",
            programs=["JKK"],
        ),
        filed("J-1", person, incident="2024-02-14"),
    )
    refused = await post(client, keys.office, approved("J-1", "2024-02-20"))
    assert refused.status_code == 409, refused.text
    assert "the cover then was for JKK only" in refused.json()["errors"][0]["message"]


async def test_an_undecided_claim_whose_cover_was_corrected_away_is_not_overdue(
    client: AsyncClient, keys: Keys
) -> None:
    person = await kpps_2024(client, keys)
    await append(client, keys.office, filed("C-1", person, incident="2024-02-14", filed_on="2024-02-15"))
    before = await claim(client, keys.office, "C-1", valid_at="2024-06-01")
    assert before["due_date"] is not None and before["penalty_amount"] > 0 and "overdue" in before["flags"]
    # the term is found to have started the day after the death: the claim cannot be approved
    moved = enrolled(
        person,
        event_id=f"kpps-{person}-b",
        valid_from="2024-02-15",
        valid_to="2024-02-24",
        registered_on="2024-01-20",
    )
    await append(
        client, keys.admin, corrected("late-start", supersedes=[f"kpps-{person}"], replacement=moved)
    )
    after = await claim(client, keys.office, "C-1", valid_at="2024-06-01")
    assert (after["covered_on_incident"], after["payable_amount"]) == (False, 0)
    assert (after["due_date"], after["penalty_amount"], after["days_late"]) == (None, 0, 0), after
    assert "overdue" not in after["flags"]
    overdue = await client.get(
        "/v1/claims", params={"overdue": "true", "valid_at": "2024-06-01"}, headers=Keys.header(keys.office)
    )
    assert "C-1" not in [c["claim_id"] for c in overdue.json()["items"]]
    # as known before the correction, it was overdue then and still reads so
    then = await claim(
        client, keys.office, "C-1", valid_at="2024-06-01", known_at=f"tx:{before['as_of']['tx_seq']}"
    )
    assert then["penalty_amount"] == before["penalty_amount"]


async def _filed_then_moved_to_bandung(client: AsyncClient, keys: Keys, claim_id: str) -> str:
    """A KPPS officer of Palembang whose JKM claim the office files; then the admin corrects the
    term into Bandung (32.73.01). The NIK."""
    person = await kpps_2024(client, keys)
    await append(client, keys.office, filed(claim_id, person, incident="2024-02-14", filed_on="2024-02-15"))
    moved = enrolled(
        person,
        event_id=f"kpps-{person}-32",
        valid_from="2024-01-25",
        valid_to="2024-02-24",
        registered_on="2024-01-20",
        region="32.73.01",
        committee="KPU-32.73",
    )
    await append(client, keys.admin, corrected(f"away-{claim_id}", [f"kpps-{person}"], replacement=moved))
    return person


async def test_an_undecided_claim_moved_away_by_its_term_is_decided_by_the_office_that_reads_it(
    client: AsyncClient, keys: Keys
) -> None:
    await _filed_then_moved_to_bandung(client, keys, "R-1")
    assert (await claim(client, keys.office, "R-1"))["region_code"] == "16.71.01"
    # the other office does not see it, so may not decide it
    other = await post(client, keys.other_office, approved("R-1", "2024-02-20", event_id="R-1-by-32"))
    assert other.status_code == 403, other.text
    decided = await post(client, keys.office, approved("R-1", "2024-02-20"))
    assert decided.status_code == 200, decided.text
    # decided, it counts where the person's cover lies as known at the decision
    assert (await claim(client, keys.other_office, "R-1"))["status"] == "approved"
    gone = await client.get("/v1/claims/R-1", headers=Keys.header(keys.office))
    assert gone.status_code == 404


async def test_a_ledger_without_the_claim_reading_rule_keeps_its_reading(
    client: AsyncClient, keys: Keys, session: AsyncSession
) -> None:
    """The reading by the program's sources is the `claim_reading` rule (shipped with 0.10.0): a
    ledger written before it gets it at `db upgrade` and answers as before at earlier txs."""
    person = await _member_with_a_term(
        client, keys, term_programs=["JKK"], since="2024-01-15", paid=("2024-01", "2024-06")
    )
    filing = await append(client, keys.office, filed("O-1", person, incident="2024-02-14"))
    assert (await claim(client, keys.office, "O-1"))["payable_amount"] == 10_000_000
    assert await benefit_rules.missing_claim_reading(session) == []
    # without the rule in force, the reading of a ledger before it: every covering source counts
    shipped = f"{benefit_rules.DATASET}:{benefit_rules.CLAIM_READING_ID}"
    retracted = await append(client, keys.admin, corrected("no-reading", [shipped]))
    assert (await claim(client, keys.office, "O-1"))["payable_amount"] == 42_000_000
    assert (await claim(client, keys.office, "O-1", known_at=f"tx:{filing}"))["payable_amount"] == 10_000_000
    assert [e.rule_id for e in await benefit_rules.missing_claim_reading(session)] == [
        benefit_rules.CLAIM_READING_ID
    ]
    assert retracted > filing
    # the projection was written by each tx's own reading, as a rebuild from the log reads it
    assert await rebuild_check(session) == []


async def test_no_office_brings_back_another_regions_filing_of_a_claim_it_reads(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by a review: judging the deciding key by the region the claim was read in let the
    office of region 16 undo a correction and so move the claim to a person of region 32."""
    west, south = nik(district="327301"), nik()
    for person, region in ((west, "32.73.01"), (south, "16.71.01")):
        term = enrolled(
            person,
            event_id=f"kpps-{person}",
            valid_from="2024-01-25",
            valid_to="2024-02-24",
            registered_on="2024-01-20",
            region=region,
            committee=f"KPU-{region[:5]}",
        )
        await append(client, keys.admin, registered(person, region=region), term)
    await append(client, keys.admin, filed("X-1", west, incident="2024-02-14"))
    refiled = filed("X-1", south, incident="2024-02-14") | {"event_id": "X-1-filed-b"}
    await append(client, keys.admin, corrected("nik-fix", ["X-1-filed"], replacement=refiled))
    assert (await claim(client, keys.office, "X-1"))["region_code"] == "16.71.01"
    undo = await post(client, keys.office, corrected("undo-fix", ["nik-fix"]))
    assert undo.status_code == 403, undo.text
    assert [e["code"] for e in undo.json()["errors"]] == ["region_out_of_scope"]
    assert (await claim(client, keys.office, "X-1"))["nik"] == south


async def test_the_office_correcting_a_filing_whose_person_moved_away_is_told_why(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by a review: it was told "no person with this NIK is visible" of a person it sees."""
    person = await _filed_then_moved_to_bandung(client, keys, "M-1")
    refiled = filed("M-1", person, incident="2024-02-13", filed_on="2024-02-15") | {"event_id": "M-1-filed-b"}
    refused = await post(client, keys.office, corrected("date-fix", ["M-1-filed"], replacement=refiled))
    assert refused.status_code == 403, refused.text
    [error] = refused.json()["errors"]
    assert error["code"] == "region_out_of_scope" and "another region's now" in error["message"], error


async def test_claims_are_read_one_way_at_a_time(client: AsyncClient, keys: Keys) -> None:
    """Found by a review: a second `claim_reading` rule was taken beside the shipped one, and which
    applied was the table's order."""
    other = {
        "event_id": "claim-reading-any",
        "type": "rule.defined",
        "rule_id": "claim-reading-any",
        "kind": "claim_reading",
        "parameters": {"membership_sources": "any"},
        "regulation": "none",
        "source": "test",
    }
    refused = await post(client, keys.admin, other)
    assert refused.status_code == 409, refused.text
    assert refused.json()["errors"][0]["code"] == "claim_reading_defined"
    shipped = f"{benefit_rules.DATASET}:{benefit_rules.CLAIM_READING_ID}"
    assert (
        await post(client, keys.admin, corrected("swap", [shipped], replacement=other))
    ).status_code == 200
