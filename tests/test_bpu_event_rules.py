"""BPU events kept to their membership: payments of something for its programs only, not restored
without it, a membership not moved away from its payments, cover not dated after its recording day,
a reactivated member told the last month paid."""

from datetime import UTC, datetime, timedelta

from httpx import AsyncClient

from coverage_ledger.domain.timeframes import jakarta_date
from tests.claims_support import (
    append,
    approved,
    filed,
    kpps_2024,
    member_paid_for_the_first_quarter,
    only_error,
    paid,
    post,
)
from tests.support import Keys, corrected, enrolled, enrolled_bpu, nik, registered
from tests.support import paid as contribution


async def test_a_wage_or_payment_of_nothing_is_refused(client: AsyncClient, keys: Keys) -> None:
    person = await kpps_2024(client, keys)
    no_wage = await post(
        client, keys.office, filed("Z-1", person, benefit="JKK_DEATH", incident="2024-02-14", wage=0)
    )
    assert no_wage.status_code == 422, no_wage.text
    assert only_error(no_wage)["field"] == "events[0].wage"
    await append(
        client, keys.office, filed("Z-2", person, incident="2024-02-14"), approved("Z-2", "2024-02-21")
    )
    for amount in (0, -5):
        nothing = await post(client, keys.office, paid("Z-2", amount, "2024-02-22"))
        assert nothing.status_code == 422, nothing.text
        error = only_error(nothing)
        assert (error["field"], error["code"]) == ("events[0].amount", "out_of_range")


async def test_a_reactivated_member_is_told_the_last_month_paid(client: AsyncClient, keys: Keys) -> None:
    """The Sidoarjo pattern: paid to July, lapsed, reactivated on 17 December with the arrears."""
    person = nik()
    await append(
        client,
        keys.office,
        registered(person),
        enrolled_bpu(person, event_id=f"bpu-{person}", valid_from="2024-01-01"),
        contribution(
            person,
            event_id=f"pay1-{person}",
            months=("2024-01", "2024-07"),
            amount=7 * 16_800,
            paid_on="2024-01-05",
        ),
    )
    await append(
        client,
        keys.office,
        {
            "event_id": f"re-{person}",
            "type": "membership.reactivated",
            "nik": person,
            "reason": "heirs paid the arrears",
            "reactivated_on": "2024-12-17",
        },
        contribution(
            person,
            event_id=f"pay2-{person}",
            months=("2024-08", "2024-09"),
            amount=2 * 16_800,
            paid_on="2024-12-17",
        ),
    )
    response = await client.get(
        f"/v1/persons/{person}/coverage", params={"valid_at": "2024-12-17"}, headers=Keys.header(keys.office)
    )
    body = response.json()
    assert body["status"] == "in_arrears", body
    assert "protection ended after Sep 2024" in body["reason"], body["reason"]


async def test_cover_is_not_dated_after_the_day_it_is_recorded(client: AsyncClient, keys: Keys) -> None:
    tomorrow = (jakarta_date(datetime.now(UTC)) + timedelta(days=1)).isoformat()
    member, officer, newcomer = nik(), nik(), nik()
    await append(
        client,
        keys.office,
        registered(member),
        enrolled_bpu(member, event_id=f"bpu-{member}", valid_from="2025-01-01"),
        registered(officer),
        registered(newcomer),
    )
    enrolment = enrolled(
        officer, event_id="kpps-next", valid_from="2024-01-25", valid_to="2024-02-24", registered_on=tomorrow
    )
    reactivation = {
        "event_id": "re-next",
        "type": "membership.reactivated",
        "nik": member,
        "reason": "typo",
        "reactivated_on": tomorrow,
    }
    future_bpu = enrolled_bpu(newcomer, event_id="bpu-next", valid_from="2025-01-01") | {
        "registered_on": tomorrow
    }
    payment = contribution(
        member, event_id="pay-next", months=("2025-01", "2025-01"), amount=16_800, paid_on=tomorrow
    )
    for event, field in (
        (enrolment, "registered_on"),
        (reactivation, "reactivated_on"),
        (future_bpu, "registered_on"),
        (payment, "paid_on"),
    ):
        response = await post(client, keys.office, event)
        assert response.status_code == 422, response.text
        error = only_error(response)
        assert (error["code"], error["field"]) == ("day_in_future", f"events[0].{field}")
        assert "wrong amount" not in response.json()["detail"]


async def test_a_payment_is_only_for_the_programs_of_the_membership(client: AsyncClient, keys: Keys) -> None:
    person = nik()
    await append(
        client,
        keys.office,
        registered(person),
        enrolled_bpu(person, event_id=f"bpu-{person}", valid_from="2025-01-01"),
    )
    with_jht = contribution(
        person, event_id="pay-jht", months=("2025-01", "2025-01"), amount=36_800, paid_on="2025-01-05"
    )
    response = await post(client, keys.office, with_jht | {"programs": ["JKK", "JKM", "JHT"]})
    assert response.status_code == 409, response.text
    error = only_error(response)
    assert (error["code"], error["field"]) == ("program_not_enrolled", "events[0].programs")
    assert error["message"] == "the membership has JKK, JKM; JHT is not one of its programs"


async def test_a_membership_is_not_moved_away_from_its_payments(client: AsyncClient, keys: Keys) -> None:
    """Paid January to March 2025: the membership cannot be corrected to start in April, nor
    retracted, while those payments stand; with them corrected in the same batch it can."""
    person = await member_paid_for_the_first_quarter(client, keys)
    later_start = enrolled_bpu(person, event_id=f"bpu2-{person}", valid_from="2025-04-01")
    moved = await post(client, keys.office, corrected("move", [f"bpu-{person}"], replacement=later_start))
    assert moved.status_code == 409, moved.text
    error = only_error(moved)
    assert (error["code"], error["field"]) == ("payment_outside_membership", "events[0].replacement")
    assert f"q1-{person}" in error["message"]
    retracted = await post(client, keys.office, corrected("drop", [f"bpu-{person}"]))
    assert retracted.status_code == 409, retracted.text
    assert only_error(retracted)["field"] == "events[0]"
    income = enrolled_bpu(person, event_id=f"bpu3-{person}", valid_from="2025-01-01", income=1_200_000)
    assert (
        await post(client, keys.office, corrected("income", [f"bpu-{person}"], replacement=income))
    ).status_code == 200
    await append(
        client,
        keys.office,
        corrected("move-2", [f"bpu3-{person}"], replacement=later_start),
        corrected("refund", [f"q1-{person}"], reason="paid before the membership began"),
    )


async def test_a_payment_is_not_restored_without_its_membership(client: AsyncClient, keys: Keys) -> None:
    person = await member_paid_for_the_first_quarter(client, keys)
    await append(
        client,
        keys.office,
        corrected("drop-member", [f"bpu-{person}"], reason="never joined"),
        corrected("drop-payment", [f"q1-{person}"], reason="never paid"),
    )
    restored = await post(
        client, keys.office, corrected("undo-payment", ["drop-payment"], reason="it was paid")
    )
    assert restored.status_code == 409, restored.text
    assert only_error(restored)["code"] == "payment_outside_membership"
    again = enrolled_bpu(person, event_id=f"bpu-again-{person}", valid_from="2026-01-01")
    assert (await post(client, keys.office, again)).status_code == 200  # a new membership is not held up
