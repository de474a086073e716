"""Scenarios in the words of the domain: KPPS terms, late registration, corrections, overlaps."""

from typing import Any

from httpx import AsyncClient

from tests.support import Keys, corrected, coverage_of, enrolled, nik, registered


async def append(
    client: AsyncClient, keys: Keys, *events: dict[str, Any], secret: str | None = None
) -> dict[str, Any]:
    response = await client.post(
        "/v1/events", json={"events": list(events)}, headers=Keys.header(secret or keys.admin)
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_kpps_term_corrected_to_start_earlier(client: AsyncClient, keys: Keys) -> None:
    """Registered 15 Jan 2024 for 25 Jan – 23 Feb 2024; corrected a week later to start 20 Jan."""
    person = nik()
    first = await append(
        client,
        keys,
        registered(person),
        enrolled(
            person,
            event_id="kpps-1",
            valid_from="2024-01-25",
            valid_to="2024-02-24",
            registered_on="2024-01-15",
        ),
    )
    replacement = enrolled(
        person, event_id="kpps-1b", valid_from="2024-01-20", valid_to="2024-02-24", registered_on="2024-01-15"
    )
    second = await append(
        client, keys, corrected("fix-kpps-1", ["kpps-1"], replacement=replacement, reason="SK revised")
    )

    before = await coverage_of(client, keys, person, "2024-01-22", known_at=f"tx:{first['tx_seq']}")
    assert before["status"] == "not_started"
    assert before["covered"] is False
    after = await coverage_of(client, keys, person, "2024-01-22", known_at=f"tx:{second['tx_seq']}")
    assert after["status"] == "covered"
    assert after["programs"] == ["JKK", "JKM"]
    assert after["evidence"] == ["kpps-1b"]
    assert (
        after["reason"] == "Covered as KPPS of KPU-16.71 from 20 Jan to 23 Feb 2024; registered 15 Jan 2024"
    )
    assert after["as_of"]["tx_seq"] == second["tx_seq"]
    now = await coverage_of(client, keys, person, "2024-01-22")
    assert now["status"] == "covered"
    ended = await coverage_of(client, keys, person, "2024-02-24")
    assert ended["status"] == "term_ended"


async def test_registered_on_13_feb_is_not_covered_before_13_feb(client: AsyncClient, keys: Keys) -> None:
    person = nik()
    await append(
        client,
        keys,
        registered(person),
        enrolled(
            person,
            event_id="late",
            valid_from="2024-01-25",
            valid_to="2024-02-24",
            registered_on="2024-02-13",
        ),
    )
    assert (await coverage_of(client, keys, person, "2024-02-12"))["status"] == "not_started"
    on_13 = await coverage_of(client, keys, person, "2024-02-13")
    assert on_13["status"] == "covered"
    assert on_13["period"] == {"valid_from": "2024-02-13", "valid_to": "2024-02-24"}
    assert (await coverage_of(client, keys, person, "2024-02-14"))["covered"] is True


async def test_known_at_by_date_and_timestamp(client: AsyncClient, keys: Keys) -> None:
    person = nik()
    tx = await append(
        client,
        keys,
        registered(person),
        enrolled(
            person, event_id="t1", valid_from="2024-01-25", valid_to="2024-02-24", registered_on="2024-01-01"
        ),
    )
    genesis_day = await client.get(
        f"/v1/persons/{person}/coverage",
        params={"valid_at": "2024-02-01", "known_at": "2000-01-01"},
        headers=Keys.header(keys.office),
    )
    assert genesis_day.status_code == 404  # not known then: same 404 as an unknown NIK
    at_commit = await coverage_of(client, keys, person, "2024-02-01", known_at=tx["recorded_at"])
    assert at_commit["status"] == "covered"
    beyond_head = await coverage_of(client, keys, person, "2024-02-01", known_at="tx:999999999")
    assert beyond_head["as_of"]["tx_seq"] == tx["tx_seq"]


async def test_retraction_without_replacement_and_its_undoing(client: AsyncClient, keys: Keys) -> None:
    person = nik()
    await append(
        client,
        keys,
        registered(person),
        enrolled(
            person, event_id="r-1", valid_from="2024-01-25", valid_to="2024-02-24", registered_on="2024-01-01"
        ),
    )
    retract = await append(client, keys, corrected("retract-r-1", ["r-1"], reason="not on the final roster"))
    assert (await coverage_of(client, keys, person, "2024-02-01"))["status"] == "not_enrolled"
    undo = await append(
        client, keys, corrected("undo-retract", ["retract-r-1"], reason="retraction was a mistake")
    )
    assert (await coverage_of(client, keys, person, "2024-02-01"))["status"] == "covered"
    assert (await coverage_of(client, keys, person, "2024-02-01", known_at=f"tx:{retract['tx_seq']}"))[
        "status"
    ] == "not_enrolled"
    assert undo["tx_seq"] == retract["tx_seq"] + 1


async def test_superseding_a_correction_restores_targets_and_withdraws_replacement(
    client: AsyncClient, keys: Keys
) -> None:
    person = nik()
    await append(
        client,
        keys,
        registered(person),
        enrolled(
            person, event_id="c-1", valid_from="2024-01-25", valid_to="2024-02-24", registered_on="2024-01-01"
        ),
    )
    moved = enrolled(
        person,
        event_id="c-1-moved",
        valid_from="2024-03-01",
        valid_to="2024-03-10",
        registered_on="2024-01-01",
    )
    await append(client, keys, corrected("move-c-1", ["c-1"], replacement=moved))
    assert (await coverage_of(client, keys, person, "2024-02-01"))["status"] == "not_started"
    assert (await coverage_of(client, keys, person, "2024-03-05"))["evidence"] == ["c-1-moved"]
    await append(client, keys, corrected("undo-move", ["move-c-1"]))
    restored = await coverage_of(client, keys, person, "2024-02-01")
    assert restored["evidence"] == ["c-1"]
    assert (await coverage_of(client, keys, person, "2024-03-05"))["status"] == "term_ended"


async def test_successive_roles_are_fine_but_overlaps_are_409(client: AsyncClient, keys: Keys) -> None:
    person = nik()
    await append(
        client,
        keys,
        registered(person),
        enrolled(
            person,
            event_id="pantarlih",
            role="PANTARLIH",
            valid_from="2023-02-03",
            valid_to="2023-03-13",
            registered_on="2023-01-20",
        ),
        enrolled(
            person,
            event_id="kpps",
            valid_from="2024-01-25",
            valid_to="2024-02-24",
            registered_on="2024-01-15",
        ),
    )
    response = await client.post(
        "/v1/events",
        json={
            "events": [
                enrolled(person, event_id="pps", role="PPS", valid_from="2023-01-17", valid_to="2024-04-05")
            ]
        },
        headers=Keys.header(keys.admin),
    )
    assert response.status_code == 409
    problem = response.json()
    assert problem["errors"][0]["code"] == "overlapping_enrolment"
    assert problem["errors"][0]["field"] == "events[0]"
    # superseding the overlapped terms makes the same period acceptable
    replacement = enrolled(
        person,
        event_id="pps-2",
        role="PPS",
        valid_from="2023-01-17",
        valid_to="2024-04-05",
        registered_on="2023-01-10",
    )
    await append(client, keys, corrected("pps-instead", ["pantarlih", "kpps"], replacement=replacement))
    assert (await coverage_of(client, keys, person, "2023-06-01"))["evidence"] == ["pps-2"]


async def test_a_term_starting_the_day_after_another_ends_does_not_overlap_it(
    client: AsyncClient, keys: Keys
) -> None:
    # terms are half-open: a KPPS term to 23 February (valid_to 24 February) and a PPS term from
    # 24 February share no day; one from 23 February shares that day (found by mutation testing:
    # no test sent terms that meet)
    person = nik()
    await append(
        client,
        keys,
        registered(person),
        enrolled(
            person,
            event_id="kpps",
            valid_from="2024-01-25",
            valid_to="2024-02-24",
            registered_on="2024-01-15",
        ),
        enrolled(
            person,
            event_id="pps",
            role="PPS",
            valid_from="2024-02-24",
            valid_to="2024-04-06",
            registered_on="2024-01-15",
        ),
    )
    for day, term in (("2024-02-23", "kpps"), ("2024-02-24", "pps")):
        answer = await coverage_of(client, keys, person, day)
        assert (answer["status"], answer["evidence"]) == ("covered", [term]), answer
    sharing_a_day = await client.post(
        "/v1/events",
        json={
            "events": [
                enrolled(
                    person,
                    event_id="pantarlih",
                    role="PANTARLIH",
                    valid_from="2024-01-01",
                    valid_to="2024-01-26",
                )
            ]
        },
        headers=Keys.header(keys.admin),
    )
    assert sharing_a_day.status_code == 409, sharing_a_day.text
    assert sharing_a_day.json()["errors"][0]["code"] == "overlapping_enrolment"


async def test_other_program_does_not_overlap(client: AsyncClient, keys: Keys) -> None:
    person = nik()
    await append(
        client,
        keys,
        registered(person),
        enrolled(
            person,
            event_id="jkk-only",
            programs=["JKK"],
            valid_from="2024-01-25",
            valid_to="2024-02-24",
            registered_on="2024-01-20",
        ),
        enrolled(
            person,
            event_id="jkm-only",
            role="LINMAS",
            programs=["JKM"],
            valid_from="2024-01-25",
            valid_to="2024-02-24",
            registered_on="2024-01-20",
        ),
    )
    # one enrolment per program: both stand, and the day is covered for both programs
    covered = await coverage_of(client, keys, person, "2024-02-01")
    assert (covered["status"], covered["programs"]) == ("covered", ["JKK", "JKM"]), covered
    assert sorted(covered["evidence"]) == ["jkk-only", "jkm-only"], covered


async def test_restoring_an_overlapping_term_is_refused(client: AsyncClient, keys: Keys) -> None:
    person = nik()
    await append(
        client,
        keys,
        registered(person),
        enrolled(person, event_id="o-1", valid_from="2024-01-25", valid_to="2024-02-24"),
    )
    await append(client, keys, corrected("drop-o-1", ["o-1"]))
    await append(
        client, keys, enrolled(person, event_id="o-2", valid_from="2024-02-01", valid_to="2024-02-24")
    )
    response = await client.post(
        "/v1/events", json={"events": [corrected("undo-drop", ["drop-o-1"])]}, headers=Keys.header(keys.admin)
    )
    assert response.status_code == 409


async def test_overlap_outside_the_callers_region_gives_no_details(client: AsyncClient, keys: Keys) -> None:
    person = nik()
    await append(
        client,
        keys,
        registered(person),
        enrolled(
            person,
            event_id="in-bogor",
            committee="KPU-32.01",
            region="32.01.01",
            valid_from="2024-01-25",
            valid_to="2024-02-24",
        ),
    )
    response = await client.post(
        "/v1/events",
        json={
            "events": [
                enrolled(person, event_id="in-palembang", valid_from="2024-02-01", valid_to="2024-02-10")
            ]
        },
        headers=Keys.header(keys.committee),
    )
    assert response.status_code == 409
    message = response.json()["errors"][0]["message"]
    assert "outside your region" in message
    assert "in-bogor" not in message and "32.01" not in message


async def test_correction_of_unknown_event_is_422(client: AsyncClient, keys: Keys) -> None:
    response = await client.post(
        "/v1/events", json={"events": [corrected("c-x", ["never-was"])]}, headers=Keys.header(keys.admin)
    )
    assert response.status_code == 422
    assert response.json()["errors"][0] == {
        "code": "unknown_event",
        "message": "no event 'never-was' in the ledger",
        "field": "events[0].supersedes[0]",
    }


async def test_history_shows_events_with_their_correctors(client: AsyncClient, keys: Keys) -> None:
    person = nik()
    await append(
        client,
        keys,
        registered(person, name="Dewi Lestari"),
        enrolled(person, event_id="h-1", valid_from="2024-01-25", valid_to="2024-02-24"),
    )
    fix = await append(
        client,
        keys,
        corrected(
            "h-fix",
            ["h-1"],
            replacement=enrolled(person, event_id="h-2", valid_from="2024-01-20", valid_to="2024-02-24"),
            reason="SK revised",
        ),
    )
    response = await client.get(f"/v1/persons/{person}/history", headers=Keys.header(keys.office))
    assert response.status_code == 200
    events = {e["event_id"]: e for e in response.json()["events"]}
    assert set(events) == {f"reg-{person}", "h-1", "h-2"}
    assert events[f"reg-{person}"]["payload"]["name"] == "Dewi Lestari"
    assert events["h-1"]["superseded_by"] == [
        {"event_id": "h-fix", "tx_seq": fix["tx_seq"], "reason": "SK revised"}
    ]
    assert events["h-1"]["in_force"] == [
        {"tx_from": fix["tx_seq"] - 1, "tx_to": fix["tx_seq"], "superseded_by": "h-fix"}
    ]
    assert events["h-2"]["carried_by"] == "h-fix"
    assert events["h-2"]["in_force"] == [{"tx_from": fix["tx_seq"], "tx_to": None, "superseded_by": None}]
    # found by an auditor's probe: undoing the correction named no event of the person, so the
    # history showed h-2 withdrawn and h-1 back without who did it or why; corrections bearing on
    # the person's events are listed with their reasons
    undo = await append(client, keys, corrected("h-undo", ["h-fix"], reason="SK revision withdrawn"))
    body = (await client.get(f"/v1/persons/{person}/history", headers=Keys.header(keys.office))).json()
    assert [(c["event_id"], c["supersedes"], c["replacement"], c["reason"]) for c in body["corrections"]] == [
        ("h-fix", ["h-1"], "h-2", "SK revised"),
        ("h-undo", ["h-fix"], None, "SK revision withdrawn"),
    ]
    assert body["corrections"][0]["in_force"] == [
        {"tx_from": fix["tx_seq"], "tx_to": undo["tx_seq"], "superseded_by": "h-undo"}
    ]
    # as known before the undo, it is not there
    then = await client.get(
        f"/v1/persons/{person}/history",
        params={"known_at": f"tx:{fix['tx_seq']}"},
        headers=Keys.header(keys.office),
    )
    assert [c["event_id"] for c in then.json()["corrections"]] == ["h-fix"]


async def test_an_officer_registered_after_the_term_ended_was_never_covered_by_it(
    client: AsyncClient, keys: Keys
) -> None:
    """A past roster recorded late: KPPS 25 Jan – 23 Feb 2024, registration received 10 Mar."""
    person = nik()
    term = enrolled(
        person,
        event_id="kpps-late",
        valid_from="2024-01-25",
        valid_to="2024-02-24",
        registered_on="2024-03-10",
    )
    await append(client, keys, registered(person), term)
    during = await coverage_of(client, keys, person, "2024-02-01")
    assert during["status"] == "not_started" and during["period"] is None
    assert "after the term ended" in during["reason"]
    for day in ("2024-02-24", "2024-03-09", "2024-03-10", "2024-06-01"):
        after = await coverage_of(client, keys, person, day)
        assert after["status"] == "term_ended", (day, after)
        assert after["period"] is None and "gives no cover" in after["reason"]


async def test_a_term_that_never_covers_does_not_hide_an_upcoming_one(
    client: AsyncClient, keys: Keys
) -> None:
    person = nik()
    late = enrolled(
        person,
        event_id="pps-late",
        role="PPS",
        valid_from="2024-01-25",
        valid_to="2024-02-24",
        registered_on="2024-03-10",
    )
    upcoming = enrolled(
        person,
        event_id="kpps-next",
        valid_from="2024-04-01",
        valid_to="2024-05-01",
        registered_on="2024-01-15",
    )
    await append(client, keys, registered(person), late, upcoming)
    answer = await coverage_of(client, keys, person, "2024-02-01")
    assert answer["status"] == "not_started"
    assert answer["period"] == {"valid_from": "2024-04-01", "valid_to": "2024-05-01"}, answer
    assert "KPPS" in answer["reason"], answer
