"""A regional key reads a claim placed in its region without another region's enrolments and
payments: the judgement keeps the person's cover and the verdict, explained by what lies inside."""

from collections.abc import Sequence
from typing import Any

import pytest
from httpx import AsyncClient

from coverage_ledger.claims import review
from coverage_ledger.claims import service as claims_service
from tests.claims_support import append, approved, claim, filed, kpps_2024, post
from tests.support import Keys, enrolled, enrolled_bpu, nik, paid, registered

BANDUNG = "32.73.01"


async def _kpps_and_bandung_member(
    client: AsyncClient, keys: Keys, *, member_from: str, paid_on: str, term_programs: list[str] | None = None
) -> str:
    """KPPS in Palembang for Pemilu 2024 (for `term_programs`, default both), and a BPU member in
    Bandung from `member_from` (the first of a month) whose first two months were paid on `paid_on`."""
    person = nik()
    first = member_from[:7]
    second = f"{first[:5]}{int(first[5:]) + 1:02d}"
    await append(
        client,
        keys.admin,
        registered(person),
        enrolled(
            person,
            event_id=f"kpps-{person}",
            valid_from="2024-01-25",
            valid_to="2024-02-24",
            registered_on="2024-01-15",
            programs=term_programs,
        ),
        enrolled_bpu(person, event_id=f"bdg-{person}", valid_from=member_from, region=BANDUNG),
        paid(person, event_id=f"bdg-pay-{person}", months=(first, second), amount=33_600, paid_on=paid_on),
    )
    return person


async def _claim_as_read_nationally_and_in_palembang(
    client: AsyncClient, keys: Keys, claim_id: str, person: str, *, incident: str, filed_on: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """File a JKM claim for `person`; the claim as the auditor and as the office of region 16 read it."""
    await append(client, keys.admin, filed(claim_id, person, incident=incident, filed_on=filed_on))
    return await claim(client, keys.auditor, claim_id), await claim(client, keys.office, claim_id)


def _names_bandung(document: Any, person: str) -> bool:
    text = str(document)
    return any(secret in text for secret in (f"bdg-{person}", f"bdg-pay-{person}", BANDUNG, "32.73"))


async def test_cover_recorded_late_outside_the_region_is_counted_not_named(
    client: AsyncClient, keys: Keys
) -> None:
    # the Bandung payment for February was made after the incident, and the Palembang term covers
    # JKK only: the JKM claim rests on the payment, so it is flagged for review, and the Palembang
    # office is told so without the Bandung event's id
    person = await _kpps_and_bandung_member(
        client, keys, member_from="2024-01-01", paid_on="2024-02-10", term_programs=["JKK"]
    )
    national, regional = await _claim_as_read_nationally_and_in_palembang(
        client, keys, "C-1", person, incident="2024-02-05", filed_on="2024-02-20"
    )

    assert national["region_code"] == regional["region_code"] == "16.71.01"
    for judgement in ("when_decided", "known_now"):
        whole, seen = national[judgement], regional[judgement]
        assert whole["evidence"] == [f"kpps-{person}", f"bdg-{person}", f"bdg-pay-{person}"]
        assert whole["reason"].endswith(f"by events recorded after it: bdg-pay-{person}")
        assert seen["evidence"] == [f"kpps-{person}"]
        assert seen["reason"] == (
            "covered for JKM on 5 Feb 2024, by events recorded after it: 1 outside this key's region"
        )
        # the verdict, the amount and the flags are the person's, whoever reads
        for field in ("covered", "status", "payable", "amount", "tx_seq"):
            assert seen[field] == whole[field], field
    for field in ("flags", "payable_amount", "breakdown", "covered_on_incident", "due_date"):
        assert regional[field] == national[field], field
    assert "cover_recorded_after_incident" in regional["flags"]
    assert not _names_bandung(regional, person), regional


async def test_cover_decided_outside_the_region_is_said_without_its_details(
    client: AsyncClient, keys: Keys
) -> None:
    # on the incident day the Palembang term has ended and the Bandung membership has not begun:
    # the membership decides (not started), and the claim stays the Palembang office's
    person = await _kpps_and_bandung_member(client, keys, member_from="2024-06-01", paid_on="2024-06-02")
    national, regional = await _claim_as_read_nationally_and_in_palembang(
        client, keys, "C-2", person, incident="2024-03-10", filed_on="2024-03-20"
    )

    whole_reason = national["known_now"]["reason"]
    assert whole_reason.endswith("Enrolled as BPU member from 1 Jun 2024, paid through Jul 2024")
    assert regional["known_now"] == national["known_now"] | {
        "reason": "not covered for JKM on the incident date 10 Mar 2024: Enrolled outside this key's "
        "region; cover has not started; term as KPPS of KPU-16.71 ended on 23 Feb 2024",
        "evidence": [],
    }
    assert not _names_bandung(regional, person), regional

    # the office approving it is refused with the same reason, not the membership's
    refused = await post(client, keys.office, approved("C-2", "2024-03-25"))
    assert refused.status_code == 409, refused.text
    [problem] = refused.json()["errors"]
    assert problem["code"] == "not_eligible"
    assert problem["message"] == regional["known_now"]["reason"]
    assert not _names_bandung(refused.json(), person), refused.text

    # a national key is told the whole reason
    refused = await post(client, keys.admin, approved("C-2", "2024-03-25"))
    assert refused.status_code == 409, refused.text
    assert refused.json()["errors"][0]["message"] == national["known_now"]["reason"]


async def test_a_claim_of_another_region_is_a_404_before_it_is_reviewed(
    client: AsyncClient, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by a scope probe: the claim was reviewed before its region was looked at, so another
    region's claim took twice as long as an unknown id to be the same 404 (claim ids count up:
    the timing told a key how many claims another region has)."""
    person = await kpps_2024(client, keys)
    await append(client, keys.admin, filed("SCOPE-1", person, incident="2024-02-10", filed_on="2024-02-12"))
    reviewed: list[Sequence[str]] = []
    original = review.review_claims

    async def counted(session: Any, **asked: Any) -> Any:
        reviewed.append(asked["claim_ids"])
        return await original(session, **asked)

    monkeypatch.setattr(claims_service, "review_claims", counted)
    answers = []
    for claim_id in ("SCOPE-1", "SCOPE-404"):
        response = await client.get(f"/v1/claims/{claim_id}", headers=Keys.header(keys.other_office))
        assert response.status_code == 404, response.text
        answers.append(response.json()["detail"].replace(claim_id, "…"))
    assert answers[0] == answers[1]
    assert reviewed == []  # neither was reviewed
    assert (await claim(client, keys.office, "SCOPE-1"))["claim_id"] == "SCOPE-1"
    assert reviewed == [["SCOPE-1"]]
