"""A regional key writes BPU payments and reactivations only into memberships of its region, and
learns nothing of one elsewhere from the refusal (DESIGN.md, "Scope")."""

from typing import Any

from httpx import AsyncClient

from tests.claims_support import append, post
from tests.support import Keys, corrected, enrolled_bpu, nik, paid, registered

BANDUNG_PAYER = {"kind": "organisation", "name": "Pemkot Bandung", "budget": "APBD"}


async def _moved_from_bandung_to_palembang(client: AsyncClient, keys: Keys) -> str:
    """A BPU member in Bandung in 2024 (declared income Rp3,000,000; January to March paid by
    the city), a member in Palembang from 2025 (the whole year paid)."""
    person = nik()
    await append(
        client,
        keys.admin,
        registered(person),
        enrolled_bpu(
            person,
            event_id=f"bdg-bpu-{person}",
            valid_from="2024-01-01",
            income=3_000_000,
            payer=BANDUNG_PAYER,
            region="32.73.01",
        ),
        paid(
            person,
            event_id=f"bdg-pay-{person}",
            months=("2024-01", "2024-03"),
            amount=3 * 36_800,
            paid_on="2024-01-02",
            payer=BANDUNG_PAYER,
        ),
    )
    await append(
        client,
        keys.office,
        enrolled_bpu(person, event_id=f"plg-bpu-{person}", valid_from="2025-01-01"),
        paid(
            person,
            event_id=f"plg-pay-{person}",
            months=("2025-01", "2025-12"),
            amount=12 * 16_800,
            paid_on="2025-01-02",
        ),
    )
    return person


async def test_a_payment_into_another_regions_membership_is_refused_as_for_a_stranger(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by a review: the key's scope was judged by the membership of the recording day (the
    Palembang one), so the Palembang office paid April 2024 into the Bandung membership, and
    its refusals told which Bandung months were paid and, through the amount due, the income."""
    person = await _moved_from_bandung_to_palembang(client, keys)

    def april(event_id: str, amount: int) -> dict[str, object]:
        return paid(
            person, event_id=event_id, months=("2024-04", "2024-04"), amount=amount, paid_on="2024-05-10"
        )

    stranger = await post(
        client,
        keys.office,
        paid(nik(), event_id="x0", months=("2024-04", "2024-04"), amount=36_800, paid_on="2024-05-10"),
    )
    for event in (
        paid(person, event_id="x1", months=("2024-02", "2024-02"), amount=36_800, paid_on="2024-02-10"),
        april("x2", 1),
        april("x3", 36_800),
    ):
        refused = await post(client, keys.office, event)
        assert refused.status_code == 409, refused.text
        assert [e["code"] for e in refused.json()["errors"]] == ["no_membership"], refused.text
        assert "36,800" not in refused.text and "30,000" not in refused.text and "2024-02" not in refused.text
    assert stranger.status_code == 409 and stranger.json()["errors"][0]["code"] == "no_membership"

    # Bandung's office pays it; Palembang's office pays into its own membership as before
    assert (await post(client, keys.other_office, april("bdg-apr", 36_800))).status_code == 200
    own = paid(
        person, event_id="plg-2026", months=("2026-01", "2026-01"), amount=16_800, paid_on="2025-12-20"
    )
    assert (await post(client, keys.office, own)).status_code == 200


async def test_a_restored_payment_clash_names_no_payment_of_another_region(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by a probe: restoring a retracted Palembang payment whose months Bandung had paid
    since was refused naming the Bandung payment's id, month by month."""
    person = nik()
    await append(client, keys.admin, registered(person))
    await append(
        client,
        keys.office,
        enrolled_bpu(person, event_id=f"m16-{person}", valid_from="2024-01-01"),
        paid(
            person,
            event_id=f"p16-{person}",
            months=("2024-01", "2024-03"),
            amount=3 * 16_800,
            paid_on="2024-01-05",
        ),
    )
    await append(client, keys.office, corrected(f"c3-{person}", [f"m16-{person}", f"p16-{person}"]))
    await append(
        client,
        keys.other_office,
        enrolled_bpu(person, event_id=f"m32-secret-{person}", valid_from="2024-01-01", region="32.73.01"),
        paid(
            person,
            event_id=f"p32-secret-{person}",
            months=("2024-01", "2024-03"),
            amount=3 * 16_800,
            paid_on="2024-01-06",
        ),
    )
    await append(
        client, keys.office, enrolled_bpu(person, event_id=f"m16c-{person}", valid_from="2024-09-01")
    )

    refused = await post(client, keys.office, corrected(f"c4-{person}", [f"c3-{person}"]))
    assert refused.status_code == 409, refused.text
    codes = {e["code"] for e in refused.json()["errors"]}
    assert codes == {"month_already_paid"}, refused.text
    assert "secret" not in refused.text, refused.text
    assert "a payment held outside your region" in refused.text
    assert f"p16-{person}" in refused.text  # its own payment it is told of
    # the regional office of the other payment is told both
    told = await post(client, keys.admin, corrected(f"c5-{person}", [f"c3-{person}"]))
    assert told.status_code == 409 and f"p32-secret-{person}" in told.text, told.text


async def test_a_payment_no_longer_accepted_is_not_named_when_held_outside(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by a probe: restoring a retracted Palembang membership made a Bandung payment
    refusable, and the refusal named it, with the day it was paid and why it would fail."""
    person = nik()
    await append(client, keys.admin, registered(person))
    await append(client, keys.office, enrolled_bpu(person, event_id=f"m16-{person}", valid_from="2024-02-01"))
    await append(client, keys.office, corrected(f"c1-{person}", [f"m16-{person}"]))
    await append(
        client,
        keys.other_office,
        enrolled_bpu(person, event_id=f"m32-secret-{person}", valid_from="2024-01-01", region="32.73.01"),
        paid(
            person,
            event_id=f"p32a-secret-{person}",
            months=("2024-01", "2024-09"),
            amount=9 * 16_800,
            paid_on="2024-01-05",
        ),
        paid(
            person,
            event_id=f"p32b-secret-{person}",
            months=("2024-10", "2024-12"),
            amount=3 * 16_800,
            paid_on="2024-06-20",
        ),
    )
    refused = await post(client, keys.office, corrected(f"c2-{person}", [f"c1-{person}"]))
    assert refused.status_code == 409, refused.text
    assert {e["code"] for e in refused.json()["errors"]} <= {
        "payment_no_longer_accepted",
        "payment_outside_membership",
    }, refused.text
    assert "secret" not in refused.text and "2024-06-20" not in refused.text, refused.text
    assert "a payment held outside your region" in refused.text
    told = await post(client, keys.admin, corrected(f"c3-{person}", [f"c1-{person}"]))
    assert told.status_code == 409 and "secret" in told.text, told.text


async def _refused_as_outside(
    client: AsyncClient, secret: str, event: dict[str, object]
) -> dict[str, object]:
    response = await post(client, secret, event)
    body: dict[str, Any] = response.json()
    assert response.status_code == 403 and body["errors"][0]["code"] == "region_out_of_scope", body
    return body


async def test_another_regions_payment_stays_its_own_when_the_person_joins_here(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by a probe: a payment lay in every membership the person held in force, so once the
    Bandung member also joined in Palembang, the Palembang office retracted Bandung's payment (200)
    and learned its amount by re-sending guesses (duplicate or not)."""
    person = await _moved_from_bandung_to_palembang(client, keys)
    body = await _refused_as_outside(
        client, keys.office, corrected(f"x-bdg-{person}", [f"bdg-pay-{person}"], reason="x")
    )
    assert "2024" not in str(body) and "36" not in str(body)
    resent = await post(
        client,
        keys.office,
        paid(
            person,
            event_id=f"bdg-pay-{person}",
            months=("2024-01", "2024-03"),
            amount=3 * 36_800,
            paid_on="2024-01-02",
            payer=BANDUNG_PAYER,
        ),
    )
    assert resent.status_code == 409 and resent.json()["errors"][0]["code"] == "event_id_taken", resent.text


async def test_another_regions_retractions_lie_where_what_they_retract_lies(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by a probe: a retraction names no region and no person, so it lay nowhere: a key of
    region 16 superseded Bandung's second retraction of a payment (200, so undoing the first
    would have restored it), and re-sent the retraction to check its reason, and restored a
    payment Bandung had retracted into a membership of its own."""
    person = nik()
    await append(client, keys.admin, registered(person))
    await append(
        client,
        keys.other_office,
        enrolled_bpu(person, event_id=f"b32-{person}", valid_from="2025-01-01", region="32.73.01"),
        paid(
            person,
            event_id=f"p32-{person}",
            months=("2025-01", "2025-01"),
            amount=16_800,
            paid_on="2025-01-02",
        ),
    )
    first = corrected(f"x32-{person}", [f"p32-{person}"], reason="paid to the wrong member")
    await append(client, keys.other_office, first)
    # (a second retraction of the payment, which the probe also had region 16 supersede, is now
    # refused itself: an event already superseded is not superseded again)
    await append(
        client, keys.other_office, corrected(f"y32-{person}", [f"b32-{person}"], reason="left Bandung")
    )
    await append(client, keys.office, enrolled_bpu(person, event_id=f"b16-{person}", valid_from="2025-01-01"))
    for secret, target in (
        (keys.office, f"x32-{person}"),  # would restore Bandung's payment into Palembang's membership
        (keys.office, f"y32-{person}"),
    ):
        await _refused_as_outside(client, secret, corrected(f"u-{target}", [target], reason="x"))
    for secret in (keys.committee, keys.office):
        resent = await post(client, secret, first)
        assert resent.status_code == 409 and resent.json()["errors"][0]["code"] == "event_id_taken", (
            resent.text
        )


async def test_a_backdated_membership_cannot_take_over_one_reactivated_later(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by a probe: Bandung's membership lapsed in July and was reactivated in September;
    Palembang then enrolled the worker from 1 August (the old one was lapsed that day) and so
    took over Bandung's reactivation and September payments, and Bandung was refused its own."""
    person = nik()
    await append(client, keys.admin, registered(person))
    await append(
        client,
        keys.other_office,
        enrolled_bpu(person, event_id=f"m32-{person}", valid_from="2024-01-01", region="32.73.01"),
        paid(
            person,
            event_id=f"p32a-{person}",
            months=("2024-01", "2024-03"),
            amount=3 * 16_800,
            paid_on="2024-01-02",
        ),
        {
            "event_id": f"r32-{person}",
            "type": "membership.reactivated",
            "nik": person,
            "reason": "paid again",
            "reactivated_on": "2024-09-01",
        },
        paid(
            person,
            event_id=f"p32b-{person}",
            months=("2024-09", "2024-11"),
            amount=3 * 16_800,
            paid_on="2024-09-02",
        ),
    )
    backdated = await post(
        client, keys.office, enrolled_bpu(person, event_id=f"m16-{person}", valid_from="2024-08-01")
    )
    assert backdated.status_code == 409, backdated.text
    assert backdated.json()["errors"][0]["code"] == "membership_outside_region"
    own = await post(
        client, keys.other_office, corrected(f"x-{person}", [f"p32b-{person}"], reason="bounced")
    )
    assert own.status_code == 200, own.text


async def test_a_moved_membership_takes_its_payments_retracted_or_not(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by a probe: after an admin moved a Bandung membership to Palembang, Bandung could
    restore a payment it had retracted (into Palembang's membership), and Palembang could not
    undo its own retraction of the membership's other payment."""
    person = nik()
    await append(client, keys.admin, registered(person))
    moved = enrolled_bpu(person, event_id=f"m16-{person}", valid_from="2024-01-01")
    await append(
        client,
        keys.other_office,
        enrolled_bpu(person, event_id=f"m32-{person}", valid_from="2024-01-01", region="32.73.01"),
        paid(
            person,
            event_id=f"pa-{person}",
            months=("2024-01", "2024-03"),
            amount=3 * 16_800,
            paid_on="2024-01-02",
        ),
        paid(
            person,
            event_id=f"pb-{person}",
            months=("2024-04", "2024-06"),
            amount=3 * 16_800,
            paid_on="2024-04-02",
        ),
    )
    await append(client, keys.other_office, corrected(f"xb-{person}", [f"pb-{person}"], reason="bounced"))
    await append(
        client, keys.admin, corrected(f"mv-{person}", [f"m32-{person}"], reason="moved", replacement=moved)
    )
    await _refused_as_outside(
        client, keys.other_office, corrected(f"ub-{person}", [f"xb-{person}"], reason="x")
    )
    # the move also lies in Bandung: re-sending it would confirm its reason and what it replaced
    move = corrected(f"mv-{person}", [f"m32-{person}"], reason="moved", replacement=moved)
    resent = await post(client, keys.office, move)
    assert resent.status_code == 409 and resent.json()["errors"][0]["code"] == "event_id_taken", resent.text
    await append(client, keys.office, corrected(f"xa-{person}", [f"pa-{person}"], reason="bounced"))
    await append(
        client, keys.office, corrected(f"ua-{person}", [f"xa-{person}"], reason="it was paid after all")
    )
    await append(client, keys.office, corrected(f"ub16-{person}", [f"xb-{person}"], reason="it was paid"))


def _reactivated(person: str, event_id: str, day: str) -> dict[str, object]:
    return {
        "event_id": event_id,
        "type": "membership.reactivated",
        "nik": person,
        "reason": "paid",
        "reactivated_on": day,
    }


async def test_an_office_corrects_its_own_reactivated_membership_beside_an_old_lapsed_one(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by a probe of this session's fix above: a reactivation on or after the corrected
    membership's start was pinned on the worker's old, long-lapsed membership (the corrected one
    left out), so an office could not correct its own membership's income: a 409
    `membership_in_force`, or, when the old one was Bandung's, `membership_outside_region`."""
    for old_region, old_office in (("16.71.01", keys.office), ("32.73.01", keys.other_office)):
        person = nik()
        await append(client, keys.admin, registered(person))
        await append(
            client,
            old_office,
            enrolled_bpu(person, event_id=f"old-{person}", valid_from="2024-01-01", region=old_region),
            paid(
                person,
                event_id=f"p1-{person}",
                months=("2024-01", "2024-03"),
                amount=3 * 16_800,
                paid_on="2024-01-05",
            ),
        )
        current = enrolled_bpu(person, event_id=f"m-{person}", valid_from="2025-06-01")
        await append(
            client,
            keys.office,
            current,
            paid(
                person,
                event_id=f"p2-{person}",
                months=("2025-06", "2025-08"),
                amount=3 * 16_800,
                paid_on="2025-06-02",
            ),
        )
        await append(
            client,
            keys.office,
            _reactivated(person, f"r-{person}", "2026-02-01"),
            paid(
                person,
                event_id=f"p3-{person}",
                months=("2025-09", "2026-02"),
                amount=6 * 16_800,
                paid_on="2026-02-01",
            ),
        )
        income = current | {"event_id": f"m2-{person}", "declared_income": 1_200_000}
        fixed = await post(
            client,
            keys.office,
            corrected(f"fix-{person}", [f"m-{person}"], reason="income revised", replacement=income),
        )
        assert fixed.status_code == 200, (old_region, fixed.text)
