"""A person's registration is their identity and domicile, shared by every organisation that
enrols them: it is replaced by a correction, never doubled, and never pulled from under an
enrolment in force."""

from typing import Any

from httpx import AsyncClient

from tests.support import Keys, corrected, enrolled, enrolled_bpu, head_tx, nik, registered


async def _post(client: AsyncClient, secret: str, *events: dict[str, object]) -> tuple[int, dict[str, Any]]:
    response = await client.post("/v1/events", json={"events": list(events)}, headers=Keys.header(secret))
    return response.status_code, response.json()


async def test_a_second_registration_cannot_move_a_person_into_another_region(
    client: AsyncClient, keys: Keys
) -> None:
    person = nik(district="320101")
    status, _ = await _post(
        client, keys.other_office, registered(person, region="32.01.01", event_id=f"west-{person}")
    )
    assert status == 200
    head = await head_tx(client, keys)
    status, body = await _post(
        client, keys.office, registered(person, region="16.71.01", event_id=f"taken-{person}")
    )
    assert status == 409, body
    assert body["errors"] == [
        {
            "code": "already_registered",
            "message": body["errors"][0]["message"],
            "field": "events[0].nik",
        }
    ]
    assert await head_tx(client, keys) == head
    hidden = await client.get(f"/v1/persons/{person}/history", headers=Keys.header(keys.office))
    assert hidden.status_code == 404
    own = await client.get(f"/v1/persons/{person}/history", headers=Keys.header(keys.other_office))
    assert own.status_code == 200


async def test_the_same_person_twice_in_one_batch_is_refused(client: AsyncClient, keys: Keys) -> None:
    person = nik()
    status, body = await _post(
        client,
        keys.admin,
        registered(person, event_id=f"a-{person}"),
        registered(person, event_id=f"b-{person}"),
    )
    assert status == 409
    assert [e["field"] for e in body["errors"]] == ["events[1].nik"]


async def test_a_registration_is_replaced_through_a_correction(client: AsyncClient, keys: Keys) -> None:
    person = nik()
    first = registered(person, event_id=f"first-{person}")
    assert (await _post(client, keys.office, first))[0] == 200
    moved = registered(person, region="16.71.02", event_id=f"moved-{person}")
    status, body = await _post(
        client, keys.office, corrected(f"fix-{person}", [first["event_id"]], replacement=moved)
    )
    assert status == 200, body
    history = await client.get(f"/v1/persons/{person}/history", headers=Keys.header(keys.office))
    superseded = {
        e["event_id"]: [s["event_id"] for s in e["superseded_by"]] for e in history.json()["events"]
    }
    assert superseded[first["event_id"]] == [f"fix-{person}"]
    assert superseded[moved["event_id"]] == []


async def test_a_registration_with_enrolments_in_force_cannot_be_retracted(
    client: AsyncClient, keys: Keys
) -> None:
    person = nik()
    registration = registered(person, event_id=f"reg-{person}")
    enrolment = enrolled(
        person,
        event_id=f"kpps-{person}",
        valid_from="2024-01-25",
        valid_to="2024-02-24",
        registered_on="2024-01-15",
    )
    assert (await _post(client, keys.committee, registration, enrolment))[0] == 200
    head = await head_tx(client, keys)
    status, body = await _post(client, keys.office, corrected(f"drop-{person}", [registration["event_id"]]))
    assert status == 409, body
    assert body["errors"][0]["code"] == "registration_in_use"
    assert body["errors"][0]["field"] == "events[0].supersedes"
    assert await head_tx(client, keys) == head
    covered = await client.get(
        f"/v1/persons/{person}/coverage?valid_at=2024-02-01", headers=Keys.header(keys.admin)
    )
    assert covered.json()["status"] == "covered"
    # with the enrolment retracted in the same batch, the registration may go too
    status, body = await _post(
        client,
        keys.office,
        corrected(f"drop-both-{person}", [enrolment["event_id"], registration["event_id"]]),
    )
    assert status == 200, body
    gone = await client.get(f"/v1/persons/{person}/coverage", headers=Keys.header(keys.admin))
    assert gone.status_code == 404


async def test_committees_and_sponsors_do_not_correct_registrations(client: AsyncClient, keys: Keys) -> None:
    person = nik()
    registration = registered(person, event_id=f"reg-{person}")
    assert (await _post(client, keys.office, registration))[0] == 200
    for secret in (keys.committee, keys.sponsor):
        status, body = await _post(
            client, secret, corrected(f"c-{person}-{secret[-6:]}", [registration["event_id"]])
        )
        assert status == 403, body
        assert body["errors"][0]["code"] == "registration_correction_not_allowed"


async def test_an_identical_resend_of_another_regions_event_is_403_not_a_duplicate(
    client: AsyncClient, keys: Keys
) -> None:
    person = nik(district="320101")
    registration = registered(person, region="32.01.01", event_id=f"west-{person}")
    assert (await _post(client, keys.other_office, registration))[0] == 200
    status, body = await _post(client, keys.office, registration)
    assert status == 403, body
    assert body["errors"][0]["code"] == "region_out_of_scope"


async def test_names_and_phones_hold_visible_text_only(client: AsyncClient, keys: Keys) -> None:
    for field, value in [
        ("name", "Siti\\nINFO forged"),
        ("name", "\\u202eHACK"),
        ("name", "\\u200b"),
        ("phone", "0812\\u001b[31m"),
    ]:
        person = nik()
        event = registered(person) | {field: value.encode().decode("unicode_escape")}
        status, body = await _post(client, keys.office, event)
        assert status == 422, (field, value, body)
        assert body["errors"][0]["field"] == f"events[0].{field}"


async def test_every_nik_an_event_names_is_checked(client: AsyncClient, keys: Keys) -> None:
    person = nik()
    assert (await _post(client, keys.admin, registered(person)))[0] == 200
    cases = [
        {"event_id": "x-1", "type": "person.erased", "nik": "12345", "reason": "asked"},
        {
            "event_id": "x-2",
            "type": "membership.reactivated",
            "nik": "abc",
            "reason": "paid",
            "reactivated_on": "2025-01-02",
        },
        enrolled_bpu(person, event_id="x-3", valid_from="2025-01-01", payer={"kind": "person", "nik": "123"}),
    ]
    fields = ["events[0].nik", "events[0].nik", "events[0].payer.nik"]
    for event, field in zip(cases, fields, strict=True):
        status, body = await _post(client, keys.admin, event)
        assert status == 422, (event, body)
        assert body["errors"][0]["field"] == field, body
        assert body["errors"][0]["code"].startswith("nik_"), body


async def _registered_retracted_and_registered_again(
    client: AsyncClient, keys: Keys
) -> tuple[str, dict[str, Any]]:
    """A person registered (r1), that registration retracted (c1), and registered again (r2)."""
    person = nik()
    first = registered(person, event_id=f"r1-{person}")
    assert (await _post(client, keys.office, first))[0] == 200
    assert (await _post(client, keys.office, corrected(f"c1-{person}", [first["event_id"]])))[0] == 200
    assert (await _post(client, keys.office, registered(person, event_id=f"r2-{person}")))[0] == 200
    return person, first


async def test_restoring_a_retracted_registration_next_to_a_newer_one_is_refused(
    client: AsyncClient, keys: Keys
) -> None:
    person, _ = await _registered_retracted_and_registered_again(client, keys)
    status, body = await _post(client, keys.office, corrected(f"c2-{person}", [f"c1-{person}"]))
    assert status == 409, body
    assert body["errors"][0]["code"] == "already_registered"


async def test_a_correction_superseded_in_its_own_batch_replaces_nothing(
    client: AsyncClient, keys: Keys
) -> None:
    person = nik()
    first = registered(person, event_id=f"r1-{person}")
    assert (await _post(client, keys.office, first))[0] == 200
    status, body = await _post(
        client,
        keys.office,
        corrected(f"c1-{person}", [first["event_id"]]),
        corrected(f"c2-{person}", [f"c1-{person}"]),
        registered(person, event_id=f"r2-{person}", region="16.71.02"),
    )
    assert status == 409, body
    assert body["errors"][0]["field"] == "events[2].nik"


async def test_superseding_a_registration_already_out_of_force_replaces_nothing(
    client: AsyncClient, keys: Keys
) -> None:
    person, first = await _registered_retracted_and_registered_again(client, keys)
    third = registered(person, event_id=f"r3-{person}", region="16.71.02")
    status, body = await _post(
        client, keys.office, corrected(f"c3-{person}", [first["event_id"]], replacement=third)
    )
    assert status == 409, body


async def test_a_replacement_for_another_nik_leaves_the_first_person_unregistered_only_without_enrolments(
    client: AsyncClient, keys: Keys
) -> None:
    person, other = nik(), nik()
    first = registered(person, event_id=f"r1-{person}")
    enrolment = enrolled(
        person,
        event_id=f"e-{person}",
        valid_from="2024-01-25",
        valid_to="2024-02-24",
        registered_on="2024-01-15",
    )
    assert (await _post(client, keys.admin, first, enrolment))[0] == 200
    moved = registered(other, event_id=f"r-{other}")
    status, body = await _post(
        client, keys.office, corrected(f"c-{person}", [first["event_id"]], replacement=moved)
    )
    assert status == 409, body
    assert body["errors"][0]["code"] == "registration_in_use"
