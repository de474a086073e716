"""Regional coverage ratios, as of any date and as known at any moment (the plain scan)."""

from datetime import date
from typing import Any

from httpx import AsyncClient

from coverage_ledger.domain.potential import Estimate, potential_of
from tests.support import Keys, admin_append, corrected, enrolled, nik, registered

DISTRICTS_1671 = 18
"""Palembang's (16.71) districts in the shipped Kemendagri list."""
OFFICERS_1671 = 100 + 10 * (DISTRICTS_1671 - 1)


def _estimate(
    event_id: str, region: str, segment: str, count: int, valid_from: str = "2024-01-01"
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": "potential.estimated",
        "region_code": region,
        "segment": segment,
        "valid_from": valid_from,
        "count": count,
        "source": "test",
    }


async def _ratio(client: AsyncClient, key: str, code: str, **params: str) -> Any:
    response = await client.get(f"/v1/regions/{code}/coverage", params=params, headers=Keys.header(key))
    return response


async def _children(client: AsyncClient, keys: Keys, code: str) -> list[str]:
    response = await client.get(
        f"/v1/regions/{code}", params={"valid_at": "2024-02-01"}, headers=Keys.header(keys.admin)
    )
    assert response.status_code == 200, response.text
    return [child["region_code"] for child in response.json()["children"]]


async def _setup(client: AsyncClient, keys: Keys) -> tuple[list[str], int, int]:
    """Palembang's informal workers estimated at 1,000; its officers district by district,
    100 in Ilir Barat Dua (16.71.01) and 10 in each other district (`OFFICERS_1671`)."""
    districts = await _children(client, keys, "16.71")
    assert len(districts) == DISTRICTS_1671
    estimates = await admin_append(
        client,
        keys,
        [
            _estimate("pot-1671-inf", "16.71", "informal", 1000),
            *(
                _estimate(f"pot-{code}-off", code, "officer", 100 if code == "16.71.01" else 10)
                for code in districts
            ),
        ],
    )
    people = [nik() for _ in range(5)]
    events: list[dict[str, Any]] = []
    for i, person in enumerate(people):
        region = "16.71.02" if i == 3 else "16.71.01"
        events.append(registered(person, region=region))
        if i < 4:
            events.append(
                enrolled(
                    person,
                    event_id=f"rat-{person}",
                    valid_from="2024-01-25",
                    valid_to="2024-02-24",
                    region=region,
                    registered_on="2024-01-15",
                )
            )
    return people, estimates, await admin_append(client, keys, events)


async def test_a_region_counts_distinct_covered_persons_with_its_children(
    client: AsyncClient, keys: Keys
) -> None:
    _, _, roster = await _setup(client, keys)
    body = (await _ratio(client, keys.office, "16.71", valid_at="2024-02-01", known_at=f"tx:{roster}")).json()
    # its own informal estimate and the officers estimated in each of its districts
    potential = 1000 + OFFICERS_1671
    assert (body["covered"], body["potential"], body["ratio"]) == (4, potential, 4 / potential)
    children = {c["region_code"]: c for c in body["children"]}
    assert (children["16.71.01"]["covered"], children["16.71.02"]["covered"]) == (3, 1)
    # only its officers are estimated: "all" has no potential there (its covered counts both)
    assert children["16.71.01"]["potential"] is None and children["16.71.01"]["ratio"] is None
    assert children["16.71.02"]["potential"] is None and children["16.71.02"]["ratio"] is None
    assert body["as_of"]["tx_seq"] == roster


async def test_the_ratio_as_known_before_the_roster_and_on_other_dates(
    client: AsyncClient, keys: Keys
) -> None:
    _, estimates, roster = await _setup(client, keys)
    before = (
        await _ratio(client, keys.office, "16.71", valid_at="2024-02-01", known_at=f"tx:{estimates}")
    ).json()
    assert before["covered"] == 0
    for day, covered in [("2024-01-24", 0), ("2024-01-25", 4), ("2024-02-23", 4), ("2024-02-24", 0)]:
        body = (await _ratio(client, keys.office, "16.71", valid_at=day, known_at=f"tx:{roster}")).json()
        assert body["covered"] == covered, day


async def test_a_later_correction_and_a_revised_estimate_change_the_ratio_only_as_known_after(
    client: AsyncClient, keys: Keys
) -> None:
    people, _, roster = await _setup(client, keys)
    later = await admin_append(
        client,
        keys,
        [
            corrected("rat-retract", [f"rat-{people[0]}"], reason="never served"),
            _estimate("pot-1671-inf-rev", "16.71", "informal", 2000),
        ],
    )
    then = (await _ratio(client, keys.office, "16.71", valid_at="2024-02-01", known_at=f"tx:{roster}")).json()
    now = (await _ratio(client, keys.office, "16.71", valid_at="2024-02-01", known_at=f"tx:{later}")).json()
    assert (then["covered"], then["potential"]) == (4, 1000 + OFFICERS_1671)
    potential = 2000 + OFFICERS_1671
    assert (now["covered"], now["potential"], now["ratio"]) == (3, potential, 3 / potential)


async def test_segments_and_the_series(client: AsyncClient, keys: Keys) -> None:
    _, _, roster = await _setup(client, keys)
    officer = (
        await _ratio(
            client, keys.office, "16.71", valid_at="2024-02-01", known_at=f"tx:{roster}", segment="officer"
        )
    ).json()
    assert (officer["covered"], officer["potential"]) == (4, OFFICERS_1671)
    officers = {c["region_code"]: c for c in officer["children"]}
    assert (officers["16.71.01"]["potential"], officers["16.71.02"]["potential"]) == (100, 10)
    informal = (
        await _ratio(
            client, keys.office, "16.71", valid_at="2024-02-01", known_at=f"tx:{roster}", segment="informal"
        )
    ).json()
    assert (informal["covered"], informal["potential"]) == (0, 1000)
    series = await client.get(
        "/v1/regions/16.71/coverage/series",
        params={"from": "2024-01", "to": "2024-03", "known_at": f"tx:{roster}"},
        headers=Keys.header(keys.office),
    )
    assert series.status_code == 200, series.text
    points = [(p["valid_at"], p["covered"]) for p in series.json()["points"]]
    assert points == [("2024-01-01", 0), ("2024-02-01", 4), ("2024-03-01", 0)]


async def test_keys_see_their_region_and_below(client: AsyncClient, keys: Keys) -> None:
    await _setup(client, keys)
    assert (await _ratio(client, keys.committee, "16.71")).status_code == 200
    assert (await _ratio(client, keys.committee, "16")).status_code == 404
    assert (await _ratio(client, keys.other_office, "16.71")).status_code == 404
    assert (await _ratio(client, keys.office, "99.99")).status_code == 404
    bad = await client.get(
        "/v1/regions/16/coverage/series",
        params={"from": "2024-05", "to": "2024-01"},
        headers=Keys.header(keys.office),
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "to"
    assert bad.json()["errors"][0]["message"].startswith("to 2024-01 is before from 2024-05")
    # found by an auditor's probe: a year out of range was told as "to must not be before from"
    early = await client.get(
        "/v1/regions/16/coverage/series",
        params={"from": "1899-01", "to": "2024-01"},
        headers=Keys.header(keys.office),
    )
    assert early.status_code == 422 and early.json()["errors"][0]["field"] == "from", early.text


async def test_an_estimate_outside_the_key_region_or_for_an_unknown_region_is_refused(
    client: AsyncClient, keys: Keys
) -> None:
    outside = await client.post(
        "/v1/events",
        json={"events": [_estimate("pot-x", "32.01", "informal", 5)]},
        headers=Keys.header(keys.office),
    )
    assert outside.status_code == 403
    unknown = await client.post(
        "/v1/events",
        json={"events": [_estimate("pot-y", "16.99", "informal", 5)]},
        headers=Keys.header(keys.office),
    )
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["code"] == "unknown_region"
    committee = await client.post(
        "/v1/events",
        json={"events": [_estimate("pot-z", "16.71", "informal", 5)]},
        headers=Keys.header(keys.committee),
    )
    assert committee.status_code == 403


def test_the_potential_of_all_counts_own_and_lower_estimates_of_each_segment() -> None:
    """A province of three regencies: 16.04 estimates its informal workers itself and its
    officers in its one district 16.04.06; 16.05 estimates `all` only; 16.71 its officers only.
    A sum is known only when every child is: the province's `covered` counts them all."""
    estimates = [
        Estimate("a", "16.04", "informal", date(2024, 1, 1), 2_930),
        Estimate("b", "16.04.06", "officer", date(2024, 1, 1), 50),
        Estimate("c", "16.05", "all", date(2024, 1, 1), 1_000),
        Estimate("d", "16.71", "officer", date(2024, 1, 1), 100),
    ]
    tree = {"16": ["16.04", "16.05", "16.71"], "16.04": ["16.04.06"]}
    assert potential_of("16.04", "all", estimates, tree) == 2_980
    assert potential_of("16.04", "officer", estimates, tree) == 50
    assert potential_of("16.71", "all", estimates, tree) is None  # its informal workers are not estimated
    assert potential_of("16", "all", estimates, tree) is None  # and so the province's all
    # 16.05's officers and informal workers are not estimated apart, nor 16.71's informal workers
    assert potential_of("16", "officer", estimates, tree) is None
    assert potential_of("16", "informal", estimates, tree) is None
    complete = [e for e in estimates if e.region_code != "16.71"]
    assert potential_of("16", "all", complete, {"16": ["16.04", "16.05"], "16.04": ["16.04.06"]}) == 3_980
    # a child left out of the sum leaves it unknown rather than summing the others
    assert (
        potential_of("16", "all", complete, {"16": ["16.04", "16.05", "16.06"], "16.04": ["16.04.06"]})
        is None
    )
    assert potential_of("16.04", "officer", estimates, {"16.04": ["16.04.06", "16.04.07"]}) is None


async def test_a_province_with_one_regency_estimated_has_no_ratio(client: AsyncClient, keys: Keys) -> None:
    """Found by a review: a region without its own estimate summed the estimated children only,
    while `covered` counts every child: South Sumatra with Palembang's 1,000 estimated read as
    the ratio of the whole province's covered persons to Palembang's potential."""
    await _setup(client, keys)
    informal = {"segment": "informal", "valid_at": "2024-02-01"}
    province = (await _ratio(client, keys.office, "16", **informal)).json()
    assert (province["potential"], province["ratio"]) == (None, None)
    assert {c["region_code"]: c["potential"] for c in province["children"]}["16.71"] == 1000
    regencies = await _children(client, keys, "16")
    await admin_append(
        client,
        keys,
        [_estimate(f"pot-{code}-inf", code, "informal", 500) for code in regencies if code != "16.71"],
    )
    province = (await _ratio(client, keys.office, "16", **informal)).json()
    assert province["potential"] == 1000 + 500 * (len(regencies) - 1)


async def test_a_series_and_a_page_span_the_months_before_a_new_regency_existed(
    client: AsyncClient, keys: Keys
) -> None:
    new = {
        "event_id": "reg-new-16.96",
        "type": "region.defined",
        "code": "16.96",
        "name": "Kabupaten Baru",
        "decree": "Permendagri 1/2025",
        "valid_from": "2025-07-01",
    }
    await admin_append(client, keys, [new])
    series = await client.get(
        "/v1/regions/16.96/coverage/series",
        params={"from": "2025-01", "to": "2025-12"},
        headers=Keys.header(keys.office),
    )
    assert series.status_code == 200, series.text
    assert [p["valid_at"] for p in series.json()["points"]] == [f"2025-{m:02d}-01" for m in range(7, 13)]
    before = await client.get(
        "/v1/regions/16.96/coverage/series",
        params={"from": "2024-01", "to": "2024-12"},
        headers=Keys.header(keys.office),
    )
    assert before.status_code == 404
    signed = await client.post("/sign-in", data={"api_key": keys.office})
    assert signed.status_code == 303
    page = await client.get("/regions/16.96", params={"valid_at": "2025-08-01"})
    assert page.status_code == 200 and "Kabupaten Baru" in page.text
