"""A correction of a correction undoes it: its targets come back into force and its replacement
leaves. Whatever comes back or leaves must be something the key may correct, and must keep the
ledger's rules (one registration under every enrolment, a month paid once)."""

import json
from typing import Any

from httpx import AsyncClient

from tests.claims_support import (
    append,
    approved,
    filed,
    kpps_2024,
    member_paid_for_the_first_quarter,
    paid_in_full,
    post,
)
from tests.support import Keys, corrected, enrolled, enrolled_bpu, head_tx, nik, paid, registered


async def _refused(client: AsyncClient, keys: Keys, secret: str, event: dict[str, Any]) -> dict[str, Any]:
    head = await head_tx(client, keys)
    response = await post(client, secret, event)
    assert response.status_code in (403, 409, 422), response.text
    assert await head_tx(client, keys) == head  # nothing written
    body: dict[str, Any] = response.json()
    body["status"] = response.status_code
    return body


async def test_a_committee_cannot_restore_a_claim_payment_by_undoing_an_offices_retraction(
    client: AsyncClient, keys: Keys
) -> None:
    person = await kpps_2024(client, keys)
    ce_1 = paid_in_full("CE-1", person, payment_id="ce-pay", filed_on="2024-02-15", decided_on="2024-02-20")
    await append(client, keys.office, *ce_1)
    await append(
        client, keys.office, corrected("ce-undo-pay", ["ce-pay"], reason="paid to the wrong account")
    )
    body = await _refused(client, keys, keys.committee, corrected("ce-k", ["ce-undo-pay"], reason="x"))
    assert body["status"] == 403
    assert body["errors"][0]["code"] == "role_not_allowed"
    assert body["errors"][0]["field"] == "events[0].supersedes"


async def test_a_committee_cannot_restore_another_committees_enrolment(
    client: AsyncClient, keys: Keys
) -> None:
    person = nik()
    other = enrolled(
        person,
        event_id=f"o-{person}",
        valid_from="2024-01-25",
        valid_to="2024-02-24",
        committee="KPU-16.04",
        region="16.04.01",
    )
    await append(client, keys.admin, registered(person, region="16.04.01"), other)
    await append(client, keys.admin, corrected(f"adm-{person}", [f"o-{person}"], reason="not on the SK"))
    body = await _refused(
        client, keys, keys.committee, corrected(f"k-{person}", [f"adm-{person}"], reason="x")
    )
    assert body["status"] == 403 and body["errors"][0]["code"] == "region_out_of_scope"


async def test_a_committee_cannot_swap_a_registration_back_through_an_offices_correction(
    client: AsyncClient, keys: Keys
) -> None:
    person = nik()
    await append(client, keys.office, registered(person, event_id=f"r1-{person}"))
    moved = registered(person, event_id=f"r2-{person}", region="16.71.04")
    await append(client, keys.office, corrected(f"fix-{person}", [f"r1-{person}"], replacement=moved))
    body = await _refused(
        client, keys, keys.committee, corrected(f"k-{person}", [f"fix-{person}"], reason="x")
    )
    assert body["errors"][0]["code"] == "registration_correction_not_allowed"


async def test_the_office_that_may_correct_both_can_undo_its_own_correction(
    client: AsyncClient, keys: Keys
) -> None:
    person = await kpps_2024(client, keys)
    await append(client, keys.office, corrected(f"ret-{person}", [f"kpps-{person}"], reason="not on the SK"))
    await append(
        client, keys.committee, corrected(f"back-{person}", [f"ret-{person}"], reason="was on the SK")
    )
    coverage = await client.get(
        f"/v1/persons/{person}/coverage", params={"valid_at": "2024-02-01"}, headers=Keys.header(keys.office)
    )
    assert coverage.json()["status"] == "covered"


async def test_restoring_a_retracted_payment_may_not_pay_a_month_twice(
    client: AsyncClient, keys: Keys
) -> None:
    person = await member_paid_for_the_first_quarter(client, keys)
    april = paid(
        person, event_id=f"apr1-{person}", months=("2025-04", "2025-04"), amount=16_800, paid_on="2025-04-05"
    )
    await append(client, keys.office, april)
    await append(client, keys.office, corrected(f"x1-{person}", [f"apr1-{person}"], reason="bounced"))
    await append(
        client,
        keys.office,
        paid(
            person,
            event_id=f"apr2-{person}",
            months=("2025-04", "2025-04"),
            amount=16_800,
            paid_on="2025-04-07",
        ),
    )
    body = await _refused(client, keys, keys.office, corrected(f"x2-{person}", [f"x1-{person}"], reason="x"))
    assert body["status"] == 409 and body["errors"][0]["code"] == "month_already_paid"


async def test_an_enrolment_cannot_come_back_without_a_registration(client: AsyncClient, keys: Keys) -> None:
    person = await kpps_2024(client, keys)
    await append(
        client, keys.office, corrected(f"ret-e-{person}", [f"kpps-{person}"], reason="not on the SK")
    )
    await append(
        client, keys.office, corrected(f"ret-r-{person}", [f"reg-{person}"], reason="duplicate person")
    )
    body = await _refused(
        client, keys, keys.office, corrected(f"back-{person}", [f"ret-e-{person}"], reason="x")
    )
    assert body["status"] == 409 and body["errors"][0]["code"] == "person_not_registered"


async def test_an_office_of_another_region_can_neither_retract_nor_restore_a_payment(
    client: AsyncClient, keys: Keys
) -> None:
    """A payment names no region: it lies where the member's BPU membership is (16.71.01)."""
    person = await member_paid_for_the_first_quarter(client, keys)
    direct = await _refused(
        client, keys, keys.other_office, corrected(f"w-{person}", [f"q1-{person}"], reason="x")
    )
    # DESIGN.md: a write outside the key's region is a 403, reported without the event's details
    assert (direct["status"], direct["errors"][0]["code"]) == (403, "region_out_of_scope")
    assert direct["errors"][0]["field"] == "events[0].supersedes[0]"
    assert person not in str(direct) and "contribution" not in str(direct) and "16.71" not in str(direct)
    nobody = await _refused(
        client, keys, keys.other_office, corrected(f"n-{person}", ["no-such-event"], reason="x")
    )
    assert (nobody["status"], nobody["errors"][0]["code"]) == (422, "unknown_event")
    await append(client, keys.admin, corrected(f"adm-{person}", [f"q1-{person}"], reason="bounced"))
    undo = await _refused(
        client, keys, keys.other_office, corrected(f"u-{person}", [f"adm-{person}"], reason="x")
    )
    assert (undo["status"], undo["errors"][0]["code"]) == (403, "region_out_of_scope")
    await append(
        client, keys.office, corrected(f"ok-{person}", [f"adm-{person}"], reason="cleared after all")
    )


async def test_naming_another_regions_payment_or_claim_event_tells_nothing(
    client: AsyncClient, keys: Keys
) -> None:
    """Payments and claim events name no region: a sponsor or a committee naming one of another
    region is refused as outside its region before any rule of its own role is applied, so the
    answer tells neither the event's type nor its region."""
    person = nik(district="320101")
    await append(
        client,
        keys.admin,
        registered(person, region="32.01.01"),
        enrolled_bpu(person, event_id=f"bpu-{person}", valid_from="2025-01-01", region="32.01.01"),
        paid(
            person,
            event_id=f"pay-{person}",
            months=("2025-01", "2025-01"),
            amount=16_800,
            paid_on="2025-01-05",
        ),
        enrolled(
            person,
            event_id=f"kpps-{person}",
            valid_from="2024-01-25",
            valid_to="2024-02-24",
            registered_on="2024-01-20",
            committee="KPU-32.01",
            region="32.01.01",
        ),
    )
    await append(client, keys.admin, filed("CW-1", person, incident="2024-02-14", filed_on="2024-02-15"))
    answers = []
    for secret, target in (
        (keys.sponsor, f"pay-{person}"),
        (keys.committee, "CW-1-filed"),
        # a registration names its region: refused for that before a committee's own rule
        # (`registration_correction_not_allowed`) could tell what the event is
        (keys.committee, f"reg-{person}"),
    ):
        named = await _refused(client, keys, secret, corrected(f"x-{target}", [target], reason="x"))
        answers.append((named["status"], named["detail"], named["errors"]))
    assert answers == 3 * [
        (
            403,
            "events[0].supersedes[0]: names an event outside this key's region",
            [
                {
                    "code": "region_out_of_scope",
                    "message": "the event lies outside this key's region",
                    "field": "events[0].supersedes[0]",
                }
            ],
        )
    ]


async def test_a_retracted_claim_of_another_region_stays_outside_the_keys_region(
    client: AsyncClient, keys: Keys
) -> None:
    """Found in a review: a claim whose filing was retracted has no current record, so its events
    lay in no region, and any key could correct them (an office of region 16 superseded a
    Bandung claim's approval) or learn their type from a role's refusal."""
    person = nik(district="320101")
    await append(
        client,
        keys.admin,
        registered(person, region="32.01.01"),
        enrolled(
            person,
            event_id=f"kpps-{person}",
            valid_from="2024-01-25",
            valid_to="2024-02-24",
            registered_on="2024-01-20",
            committee="KPU-32.01",
            region="32.01.01",
        ),
    )
    await append(client, keys.admin, filed("CR-32", person, incident="2024-02-14", filed_on="2024-02-15"))
    await append(client, keys.admin, approved("CR-32", "2024-02-16"))
    await append(
        client, keys.admin, corrected("undo-CR-32", ["CR-32-filed", "CR-32-approved"], reason="filed twice")
    )
    for secret, target in (
        (keys.office, "CR-32-approved"),
        (keys.office, "undo-CR-32"),  # it would restore the claim's filing and approval
        (keys.committee, "CR-32-approved"),
        (keys.sponsor, "undo-CR-32"),
    ):
        body = await _refused(client, keys, secret, corrected(f"x-{target}", [target], reason="x"))
        assert (body["status"], body["errors"][0]["code"]) == (403, "region_out_of_scope"), (target, body)
        said = json.dumps(body)
        assert not any(detail in said for detail in (person, "claim", "32.01", "approv")), (target, body)


async def test_a_claim_filed_and_retracted_at_once_lies_where_its_office_is(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by a probe: a claim filed and retracted in one batch has no record, and lay in its
    person's domicile (Palembang) though Bandung's office filed it on a Bandung term: Palembang
    re-sent it to check its dates and costs, and Bandung could not restore its own claim."""
    person = nik()
    await append(client, keys.admin, registered(person))
    await append(
        client,
        keys.other_office,
        enrolled(
            person,
            event_id=f"t32-{person}",
            valid_from="2024-01-25",
            valid_to="2024-02-24",
            registered_on="2024-01-20",
            committee="KPU-32.73",
            region="32.73.01",
        ),
    )
    claim = filed("CB-32", person, incident="2024-02-14", filed_on="2024-02-20")
    retraction = corrected("xCB-32", ["CB-32-filed"], reason="filed by mistake")
    await append(client, keys.other_office, claim, retraction)
    for event in (claim, retraction):
        resent = await post(client, keys.office, event)
        assert resent.status_code == 409 and resent.json()["errors"][0]["code"] == "event_id_taken", (
            resent.text
        )
    foreign = await _refused(client, keys, keys.office, corrected("uCB-16", ["CB-32-filed"], reason="x"))
    assert (foreign["status"], foreign["errors"][0]["code"]) == (403, "region_out_of_scope"), foreign
    restored = await post(client, keys.other_office, corrected("uCB-32", ["xCB-32"], reason="it was right"))
    assert restored.status_code == 200, restored.text


async def test_a_term_a_correction_restores_into_an_overlap_is_refused_at_that_correction(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by a contract probe: the refusal's `field` was the restored term's event id, not a
    field of the request."""
    person = nik()

    def term(suffix: str) -> dict[str, Any]:
        return enrolled(
            person,
            event_id=f"kpps-{person}{suffix}",
            valid_from="2024-01-25",
            valid_to="2024-02-24",
            registered_on="2024-01-15",
        )

    await append(client, keys.admin, registered(person), term(""))
    await append(client, keys.admin, corrected("fix-1", [f"kpps-{person}"], replacement=term("-b")))
    await append(client, keys.admin, corrected("fix-2", [f"kpps-{person}-b"], replacement=term("-c")))
    # undoing fix-1 brings the first term back beside the third
    undo = await _refused(client, keys, keys.admin, corrected("undo-1", ["fix-1"]))
    assert undo["status"] == 409, undo
    [error] = undo["errors"]
    assert (error["code"], error["field"]) == ("overlapping_enrolment", "events[0].supersedes")
    assert f"kpps-{person}-c" in error["message"]


async def test_a_replacement_overlapping_the_term_its_correction_restores_names_that_term(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by an oracle probe: undoing a correction (which restores the first term) with a new
    replacement that overlaps it named the replacement, not yet in the ledger, as the term to
    supersede."""
    person = nik()

    def term(suffix: str, valid_from: str) -> dict[str, Any]:
        return enrolled(
            person,
            event_id=f"kpps-{person}{suffix}",
            valid_from=valid_from,
            valid_to="2025-04-01",
            registered_on="2024-12-20",
        )

    await append(client, keys.admin, registered(person), term("", "2025-03-01"))
    await append(
        client, keys.admin, corrected("fix-1", [f"kpps-{person}"], replacement=term("-b", "2025-02-01"))
    )
    redo = await _refused(
        client, keys, keys.admin, corrected("redo-1", ["fix-1"], replacement=term("-c", "2025-02-15"))
    )
    assert redo["status"] == 409, redo
    [error] = redo["errors"]
    assert (error["code"], error["field"]) == ("overlapping_enrolment", "events[0].replacement")
    assert f"overlaps kpps-{person}: KPPS" in error["message"], error
    assert f"kpps-{person}-c" not in error["message"]


async def test_two_terms_of_one_batch_that_overlap_are_refused_at_the_later_one(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by a review: naming a restored term first had two new terms of one batch refused at
    the earlier one; the refusal is laid on the later term, naming the earlier."""
    person = nik()

    def term(name: str, valid_from: str, valid_to: str) -> dict[str, Any]:
        return enrolled(
            person,
            event_id=f"{name}-{person}",
            valid_from=valid_from,
            valid_to=valid_to,
            registered_on="2025-01-15",
        )

    first, second = term("a", "2025-02-01", "2025-04-01"), term("b", "2025-03-01", "2025-05-01")
    refused = await post(client, keys.admin, registered(person), first, second)
    assert refused.status_code == 409, refused.text
    [error] = refused.json()["errors"]
    assert (error["code"], error["field"]) == ("overlapping_enrolment", "events[2]"), error
    assert f"overlaps a-{person}" in error["message"]
