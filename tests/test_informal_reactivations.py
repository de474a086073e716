"""A BPU member's reactivation and the payments it rests on, and JHT top-ups of months whose
protection is paid."""

from typing import Any

from httpx import AsyncClient

from tests.support import Keys, corrected, coverage_of, enrolled_bpu, nik, paid, post_as_office, registered


def _reactivated_on_20_may(person: str) -> dict[str, Any]:
    return {
        "event_id": f"react-{person}",
        "type": "membership.reactivated",
        "nik": person,
        "reason": "office decision",
        "reactivated_on": "2025-05-20",
    }


def _member_paid_to_december(person: str) -> list[dict[str, Any]]:
    """A worker enrolled on 1 October 2024 who paid October to December on 5 October (lapsed
    from 1 April 2025 unless more is paid in time)."""
    october = ("2024-10", "2024-12")
    return [
        registered(person),
        enrolled_bpu(person, event_id=f"bpu-{person}", valid_from="2024-10-01"),
        paid(person, event_id=f"oct-{person}", months=october, amount=3 * 16_800, paid_on="2024-10-05"),
    ]


def _january_february_paid_in_march(person: str) -> dict[str, Any]:
    months = ("2025-01", "2025-02")
    return paid(person, event_id=f"janfeb-{person}", months=months, amount=2 * 16_800, paid_on="2025-03-15")


def _refused_for_the_reactivation(response: Any) -> dict[str, Any]:
    assert response.status_code == 409, response.text
    [error] = response.json()["errors"]
    assert error["code"] == "reactivation_no_longer_valid" and "2025-05-20" in error["message"], error
    return dict(error)


async def test_a_payment_corrected_to_pay_more_months_cannot_leave_a_reactivation_of_no_lapse(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by a date probe: paid October to December 2024, lapsed from 1 April 2025 and
    reactivated on 20 May; the October payment was then corrected to pay through February, so
    the membership was only in arrears on 20 May, yet the reactivation stayed in force and moved
    the grace window on (a March payment made in June was then taken)."""
    person = nik()
    reactivation = _reactivated_on_20_may(person)
    setup = await post_as_office(client, keys, *_member_paid_to_december(person), reactivation)
    assert setup.status_code == 200, setup.text
    more = _member_paid_to_december(person)[2] | {
        "event_id": f"oct-feb-{person}",
        "months_to": "2025-02",
        "amount": 5 * 16_800,
    }
    _refused_for_the_reactivation(
        await post_as_office(client, keys, corrected("more-months", [f"oct-{person}"], replacement=more))
    )
    # with the reactivation retracted in the same batch, the correction stands
    retraction = corrected("no-react", [reactivation["event_id"]], reason="it had not lapsed")
    both = await post_as_office(
        client, keys, corrected("more-months-2", [f"oct-{person}"], replacement=more), retraction
    )
    assert both.status_code == 200, both.text
    assert (await coverage_of(client, keys, person, "2025-06-15"))["status"] == "lapsed"


async def test_a_payment_recorded_late_cannot_leave_a_reactivation_of_no_lapse(
    client: AsyncClient, keys: Keys
) -> None:
    """The same as a corrected payment, for a new one: January and February paid on 15 March
    2025 (in the grace window), recorded only after the reactivation of 20 May, show that the
    membership had not lapsed then."""
    person = nik()
    reactivation = _reactivated_on_20_may(person)
    setup = await post_as_office(client, keys, *_member_paid_to_december(person), reactivation)
    assert setup.status_code == 200, setup.text
    late = _january_february_paid_in_march(person)
    error = _refused_for_the_reactivation(await post_as_office(client, keys, late))
    assert error["field"] == "events[0].paid_on"
    retraction = corrected("no-react", [reactivation["event_id"]], reason="it had not lapsed")
    assert (await post_as_office(client, keys, retraction, late)).status_code == 200


async def test_a_payment_brought_back_cannot_leave_a_reactivation_of_no_lapse(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by a review: the January and February payment of 15 March was retracted, the
    membership then lapsed from 1 April and was reactivated on 20 May; superseding the retraction
    brings the payment back, and with it a membership that had not lapsed on 20 May."""
    person = nik()
    late = _january_february_paid_in_march(person)
    setup = await post_as_office(client, keys, *_member_paid_to_december(person), late)
    assert setup.status_code == 200, setup.text
    assert (
        await post_as_office(client, keys, corrected(f"bounced-{person}", [late["event_id"]]))
    ).status_code == 200
    assert (await post_as_office(client, keys, _reactivated_on_20_may(person))).status_code == 200
    _refused_for_the_reactivation(
        await post_as_office(client, keys, corrected(f"not-bounced-{person}", [f"bounced-{person}"]))
    )
    # a payment retracted only makes a lapse more likely: the reactivation holds
    assert (
        await post_as_office(client, keys, corrected(f"oct-gone-{person}", [f"oct-{person}"]))
    ).status_code == 200


async def test_a_bounced_payment_is_retracted_whatever_was_paid_after_it(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by a review: while payment corrections ran every rule on moved events, retracting
    the April-June payment that bounced was refused for the July-September one paid after it."""
    person = nik()
    quarters = [
        ("2025-01", "2025-03", "2025-01-05"),
        ("2025-04", "2025-06", "2025-04-05"),
        ("2025-07", "2025-09", "2025-07-05"),
    ]
    payments = [
        paid(person, event_id=f"q{i}-{person}", months=(first, last), amount=50_400, paid_on=day)
        for i, (first, last, day) in enumerate(quarters)
    ]
    member = enrolled_bpu(person, event_id=f"bpu-{person}", valid_from="2025-01-01")
    assert (await post_as_office(client, keys, registered(person), member, *payments)).status_code == 200
    bounced = await post_as_office(
        client, keys, corrected(f"bounced-{person}", [f"q1-{person}"], reason="bounced")
    )
    assert bounced.status_code == 200, bounced.text


async def _jht_member_paid_for_january(
    client: AsyncClient, keys: Keys, *, paid_on: str
) -> tuple[str, dict[str, Any]]:
    """A BPU member with JHT from January 2025 (income Rp1 million) whose January JKK and JKM were
    paid on `paid_on`: the NIK and that payment."""
    member = nik()
    membership = enrolled_bpu(member, event_id=f"bpu-{member}", valid_from="2025-01-01") | {
        "programs": ["JKK", "JKM", "JHT"]
    }
    january = paid(
        member, event_id=f"jan-{member}", months=("2025-01", "2025-01"), amount=16_800, paid_on=paid_on
    )
    assert (await post_as_office(client, keys, registered(member), membership, january)).status_code == 200
    return member, january


def _jht_top_up(protection: dict[str, Any], event_id: str, *, paid_on: str) -> dict[str, Any]:
    """JHT alone (2% of Rp1 million) for the months of a protection payment."""
    return protection | {"event_id": event_id, "programs": ["JHT"], "amount": 20_000, "paid_on": paid_on}


async def test_jht_alone_tops_up_months_whose_protection_is_paid(client: AsyncClient, keys: Keys) -> None:
    """Found by a BPU probe: JHT for a month already paid for JKK and JKM could never be paid (JHT
    alone was refused, and with JKK and JKM again the month was paid twice), though DESIGN.md
    pays a month at most once per person and program."""
    member, protection = await _jht_member_paid_for_january(client, keys, paid_on="2025-01-05")
    jht = _jht_top_up(protection, f"jht-jan-{member}", paid_on="2025-03-02")
    topped = await post_as_office(client, keys, jht)
    assert topped.status_code == 200, topped.text  # 2% of Rp1 million, paid in March
    again = await post_as_office(client, keys, jht | {"event_id": f"jht-jan2-{member}"})
    assert again.status_code == 409 and again.json()["errors"][0]["code"] == "month_already_paid"
    february = jht | {"event_id": f"jht-feb-{member}", "months_from": "2025-02", "months_to": "2025-02"}
    refused = await post_as_office(client, keys, february)
    assert refused.status_code == 409, refused.text
    assert refused.json()["errors"][0]["code"] == "protection_unpaid"
    # the top-up protects nothing by itself: February is still unpaid
    answer = await coverage_of(client, keys, member, valid_at="2025-02-10")
    assert answer["status"] == "in_arrears", answer
    # once February's protection is paid, its JHT is due at the rule's amount
    feb_protection = protection | {
        "event_id": f"feb-{member}",
        "months_from": "2025-02",
        "months_to": "2025-02",
    }
    assert (await post_as_office(client, keys, feb_protection)).status_code == 200
    short = await post_as_office(client, keys, february | {"amount": 19_000})
    assert short.status_code == 422 and short.json()["errors"][0]["code"] == "amount_mismatch", short.text
    assert (await post_as_office(client, keys, february)).status_code == 200


async def test_a_jht_top_up_rests_on_protection_paid_by_its_day(client: AsyncClient, keys: Keys) -> None:
    """Found by a review: a top-up dated before its month's protection was paid was taken (and
    the coverage then said the month was paid on the top-up's day), and one retracted could be
    brought back over a month whose protection had been retracted meanwhile."""
    member, jan = await _jht_member_paid_for_january(client, keys, paid_on="2025-01-20")
    early = _jht_top_up(jan, f"jht-{member}", paid_on="2025-01-03")
    refused = await post_as_office(client, keys, early)
    assert refused.status_code == 409 and refused.json()["errors"][0]["code"] == "protection_unpaid"
    top_up = early | {"paid_on": "2025-01-21"}
    assert (await post_as_office(client, keys, top_up)).status_code == 200
    answer = await coverage_of(client, keys, member, valid_at="2025-01-25")
    assert "paid on 20 Jan 2025" in answer["reason"], answer
    assert (await post_as_office(client, keys, corrected("rj", [top_up["event_id"]]))).status_code == 200
    assert (await post_as_office(client, keys, corrected("bounced", [jan["event_id"]]))).status_code == 200
    back = await post_as_office(client, keys, corrected("undo-rj", ["rj"]))
    assert back.status_code == 409, back.text
    assert back.json()["errors"][0]["code"] == "protection_unpaid"
