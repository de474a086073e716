"""Region codes across decrees: older codes resolve to their successors, later ones are not yet in
force, retired ones say when they exist, and terms, NIKs and definitions are judged by the decree of
their days."""

from typing import Any

import pytest
from httpx import AsyncClient

from coverage_ledger.reference.regions import region_event_id
from tests.support import Keys, admin_append, corrected, enrolled, nik, registered

"""Palembang's (16.71) districts in the shipped Kemendagri list."""


async def test_a_code_of_an_older_decree_resolves_to_its_successors(client: AsyncClient, keys: Keys) -> None:
    # a regency split in 2020 into two of today's codes (a made-up code of an older decree)
    old = {
        "event_id": "reg-old-16.98",
        "type": "region.defined",
        "code": "16.98",
        "name": "Kabupaten Lama",
        "decree": "Permendagri 72/2019",
        "valid_from": "2019-01-01",
        "valid_to": "2020-07-01",
        "successors": ["16.71", "16.72"],
    }
    tx = await admin_append(client, keys, [old])
    then = await client.get(
        "/v1/regions/16.98", params={"valid_at": "2019-06-01"}, headers=Keys.header(keys.office)
    )
    assert then.status_code == 200, then.text
    assert (then.json()["status"], then.json()["decree"]) == ("in_force", "Permendagri 72/2019")
    now = (
        await client.get(
            "/v1/regions/16.98", params={"valid_at": "2024-06-01"}, headers=Keys.header(keys.office)
        )
    ).json()
    assert now["status"] == "replaced"
    assert [s["region_code"] for s in now["successors"]] == ["16.71", "16.72"]
    before = await client.get(
        "/v1/regions/16.98", params={"known_at": f"tx:{tx - 1}"}, headers=Keys.header(keys.office)
    )
    assert before.status_code == 404  # not known before its tx
    # the province's children on a 2019 date include the old regency, today they do not
    kids_2019 = (
        await client.get(
            "/v1/regions/16", params={"valid_at": "2019-06-01"}, headers=Keys.header(keys.office)
        )
    ).json()
    kids_now = (await client.get("/v1/regions/16", headers=Keys.header(keys.office))).json()
    assert "16.98" in {c["region_code"] for c in kids_2019["children"]}
    assert "16.98" not in {c["region_code"] for c in kids_now["children"]}
    assert kids_now["status"] == "in_force" and len(kids_now["children"]) == 17


async def test_successors_need_an_end_date(client: AsyncClient, keys: Keys) -> None:
    bad = {
        "event_id": "reg-bad",
        "type": "region.defined",
        "code": "16.97",
        "name": "X",
        "decree": "Y",
        "successors": ["16.71"],
    }
    response = await client.post("/v1/events", json={"events": [bad]}, headers=Keys.header(keys.admin))
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"valid_from": "2030-01-01", "valid_to": "2029-01-01"}, "events[0].valid_to"),
        ({"valid_to": "2029-01-01", "successors": ["16.97"]}, "events[0].successors"),
        ({"valid_to": "2029-01-01", "successors": ["16.71", "16.71"]}, "events[0].successors"),
        ({"valid_to": "2029-01-01", "successors": ["16.71", "99.99"]}, "events[0].successors[1]"),
    ],
    ids=["ends before it begins", "its own successor", "a successor twice", "an undefined successor"],
)
async def test_a_region_definition_that_cannot_be_read_back_is_422(
    client: AsyncClient, keys: Keys, change: dict[str, Any], field: str
) -> None:
    """Found by a probe: each was stored, and read back as a code replaced before it existed, or
    replaced by nothing."""
    event = {"event_id": "reg-odd", "type": "region.defined", "code": "16.97", "name": "X", "decree": "Y"}
    response = await client.post(
        "/v1/events", json={"events": [event | change]}, headers=Keys.header(keys.admin)
    )
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field], response.text


async def test_a_code_defined_again_for_dates_it_has_is_refused_unless_its_definition_is_superseded(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by a probe: a second definition of 16.71.01 ending it was accepted and changed
    nothing, the reads keeping the first. It is refused, naming the definition to supersede; a
    correction of that definition ends the code; a code retired before may be defined again."""
    genesis = region_event_id("16.71.01")
    ending = {
        "event_id": "end-16.71.01",
        "type": "region.defined",
        "code": "16.71.01",
        "name": "Ilir Barat Dua",
        "decree": "Permendagri 1/2024",
        "valid_to": "2024-02-01",
        "successors": ["16.71.02"],
    }
    head = (await client.get("/v1/ledger/head", headers=Keys.header(keys.admin))).json()
    refused = await client.post("/v1/events", json={"events": [ending]}, headers=Keys.header(keys.admin))
    assert refused.status_code == 422, refused.text
    error = refused.json()["errors"][0]
    assert (error["code"], error["field"]) == ("region_already_defined", "events[0].code")
    assert genesis in error["message"]
    twice = [ending | {"event_id": "a", "code": "16.99"}, ending | {"event_id": "b", "code": "16.99"}]
    twice = [{k: v for k, v in e.items() if k not in ("valid_to", "successors")} for e in twice]
    both = await client.post("/v1/events", json={"events": twice}, headers=Keys.header(keys.admin))
    assert both.status_code == 422 and both.json()["errors"][0]["field"] == "events[1].code", both.text
    assert (await client.get("/v1/ledger/head", headers=Keys.header(keys.admin))).json() == head

    await admin_append(client, keys, [corrected("fix-16.71.01", [genesis], replacement=ending)])
    after = (
        await client.get(
            "/v1/regions/16.71.01", params={"valid_at": "2024-03-01"}, headers=Keys.header(keys.office)
        )
    ).json()
    assert after["status"] == "replaced" and [s["region_code"] for s in after["successors"]] == ["16.71.02"]

    retired = {
        "event_id": "old-16.96",
        "type": "region.defined",
        "code": "16.96",
        "name": "Kabupaten Lama",
        "decree": "Permendagri 72/2019",
        "valid_from": "2019-01-01",
        "valid_to": "2020-07-01",
        "successors": ["16.71"],
    }
    reused = {
        "event_id": "new-16.96",
        "type": "region.defined",
        "code": "16.96",
        "name": "Kabupaten Baru",
        "decree": "Permendagri 1/2021",
        "valid_from": "2021-01-01",
    }
    await admin_append(client, keys, [retired])
    await admin_append(client, keys, [reused])


async def test_a_term_in_a_region_on_days_its_decree_does_not_give_the_code_is_refused(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by a probe: an officer enrolled in a code of a 2025 decree for January 2024 was
    counted in the regency's ratio while its districts summed to less."""
    later = {
        "event_id": "new-16.71.97",
        "type": "region.defined",
        "code": "16.71.97",
        "name": "Kecamatan Baru",
        "decree": "Permendagri 1/2025",
        "valid_from": "2025-01-01",
    }
    await admin_append(client, keys, [later])
    person = nik()
    await admin_append(client, keys, [registered(person)])
    early = enrolled(
        person, event_id="too-early", valid_from="2024-01-25", valid_to="2024-02-24", region="16.71.97"
    )
    refused = await client.post("/v1/events", json={"events": [early]}, headers=Keys.header(keys.admin))
    assert refused.status_code == 422, refused.text
    error = refused.json()["errors"][0]
    assert (error["code"], error["field"]) == ("region_not_in_force", "events[0].region_code"), error
    on_time = early | {"event_id": "on-time", "valid_from": "2025-01-25", "valid_to": "2025-02-24"}
    await admin_append(client, keys, [on_time])


async def test_a_nik_of_a_retracted_district_is_refused_as_an_upload_refuses_it(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by a region probe: after a district's definition was retracted (never true), the
    API still took a NIK issued there, which a roster refused as `nik_unknown_district`. A
    district that was retired (its decree ended it) still issued NIKs: those stay valid."""
    defined = [
        {
            "event_id": f"def-{code}",
            "type": "region.defined",
            "code": code,
            "name": name,
            "decree": "Permendagri 1/2022",
        }
        | dates
        for code, name, dates in (
            ("16.71.96", "Kecamatan Salah Ketik", {}),
            ("16.71.95", "Kecamatan Lama", {"valid_to": "2022-07-25"}),
        )
    ]
    await admin_append(client, keys, defined)
    await admin_append(client, keys, [corrected("retract-16.71.96", supersedes=["def-16.71.96"])])
    typo = nik(district="167196")
    refused = await client.post(
        "/v1/events", json={"events": [registered(typo)]}, headers=Keys.header(keys.admin)
    )
    assert refused.status_code == 422, refused.text
    error = refused.json()["errors"][0]
    assert (error["code"], error["field"]) == ("nik_unknown_district", "events[0].nik"), error
    await admin_append(client, keys, [registered(nik(district="167195"))])  # issued before 2022


async def test_a_code_of_a_later_decree_is_not_yet_in_force_before_it(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by a region probe: a code defined from 2022 read as `replaced` by nothing in 2019."""
    await admin_append(
        client,
        keys,
        [
            {
                "event_id": "def-16.71.94",
                "type": "region.defined",
                "code": "16.71.94",
                "name": "Kecamatan Baru",
                "decree": "Permendagri 1/2022",
                "valid_from": "2022-07-25",
            }
        ],
    )

    async def status_on(day: str) -> tuple[str, list[Any]]:
        response = await client.get(
            "/v1/regions/16.71.94", params={"valid_at": day}, headers=Keys.header(keys.auditor)
        )
        assert response.status_code == 200, response.text
        return response.json()["status"], response.json()["successors"]

    assert await status_on("2019-10-01") == ("not_yet_in_force", [])
    assert await status_on("2022-07-25") == ("in_force", [])


async def test_a_retired_codes_404_says_when_it_exists_to_those_who_may_see_it(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by a region probe: a code retired in 2022 read, to an auditor, as if it had never
    existed. Another region's office gets the words of an unknown code, as before."""
    retired = {
        "event_id": "def-16.71.95",
        "type": "region.defined",
        "code": "16.71.95",
        "name": "Kecamatan Lama",
        "decree": "Permendagri 1/2019",
        "valid_to": "2022-07-25",
    }
    await admin_append(client, keys, [retired])
    asked = {"valid_at": "2024-02-01"}
    for secret in (keys.auditor, keys.office):
        response = await client.get(
            "/v1/regions/16.71.95/coverage", params=asked, headers=Keys.header(secret)
        )
        assert response.status_code == 404, response.text
        assert "the code exists always to 2022-07-24" in response.json()["detail"], response.text
    elsewhere = await client.get(
        "/v1/regions/16.71.95/coverage", params=asked, headers=Keys.header(keys.other_office)
    )
    unknown = await client.get(
        "/v1/regions/16.71.99/coverage", params=asked, headers=Keys.header(keys.other_office)
    )
    assert elsewhere.status_code == unknown.status_code == 404
    assert elsewhere.json()["detail"].replace("16.71.95", "CODE") == unknown.json()["detail"].replace(
        "16.71.99", "CODE"
    )
