"""A region definition retracted, ended or moved in valid time must still give the code on every
day the events in force placing persons there ask of it, and a code no longer defined must keep
no regions under it (found by a region probe: a retracted district kept its officer, counted in
the regency and in none of its districts)."""

import asyncio
from typing import Any

import psycopg
import pytest
from httpx import AsyncClient, Response

from coverage_ledger.database.engine import libpq_url
from coverage_ledger.ledger import batch_checks
from tests.live_app import live_app
from tests.support import Keys, corrected, enrolled, enrolled_bpu, nik, registered

DISTRICT = "16.71.93"


def _defined(code: str, **dates: str) -> dict[str, Any]:
    return {
        "event_id": f"def-{code}",
        "type": "region.defined",
        "code": code,
        "name": f"Wilayah {code}",
        "decree": "Permendagri 1/2022",
    } | dates


async def _post(client: AsyncClient, keys: Keys, *events: dict[str, Any]) -> Response:
    return await client.post("/v1/events", json={"events": list(events)}, headers=Keys.header(keys.admin))


def _in_use(response: Response) -> list[tuple[str, str]]:
    assert response.status_code == 409, response.text
    return [(e["code"], e["field"]) for e in response.json()["errors"]]


async def _officer_in(client: AsyncClient, keys: Keys, region: str, term: tuple[str, str]) -> str:
    person = nik()
    term_event = enrolled(
        person,
        event_id=f"term-{person}",
        valid_from=term[0],
        valid_to=term[1],
        region=region,
        registered_on="2024-01-02",
    )
    response = await _post(client, keys, registered(person), term_event)
    assert response.status_code == 200, response.text
    return person


async def test_a_district_with_an_officer_cannot_be_retracted_alone(client: AsyncClient, keys: Keys) -> None:
    assert (await _post(client, keys, _defined(DISTRICT))).status_code == 200
    person = await _officer_in(client, keys, DISTRICT, ("2024-01-25", "2024-02-24"))
    retraction = corrected("retract-district", supersedes=[f"def-{DISTRICT}"])
    refused = await _post(client, keys, retraction)
    assert _in_use(refused) == [("region_in_use", "events[0].supersedes")]
    assert f"term-{person}" in refused.json()["errors"][0]["message"]
    # with the term retracted in the same batch, nothing is left there
    both = await _post(client, keys, corrected("retract-term", supersedes=[f"term-{person}"]), retraction)
    assert both.status_code == 200, both.text


async def test_a_district_cannot_end_before_a_term_in_it_does(client: AsyncClient, keys: Keys) -> None:
    assert (await _post(client, keys, _defined(DISTRICT))).status_code == 200
    await _officer_in(client, keys, DISTRICT, ("2024-01-25", "2024-02-24"))

    def ending(day: str) -> dict[str, Any]:
        return corrected(
            f"end-{day}", supersedes=[f"def-{DISTRICT}"], replacement=_defined(DISTRICT, valid_to=day) | {
                "event_id": f"def-{DISTRICT}-to-{day}"
            }
        )  # fmt: skip

    refused = await _post(client, keys, ending("2024-02-01"))
    assert _in_use(refused) == [("region_in_use", "events[0].replacement.code")]
    assert (await _post(client, keys, ending("2024-02-24"))).status_code == 200  # the term's last day kept


async def test_a_membership_and_a_registration_keep_their_region(client: AsyncClient, keys: Keys) -> None:
    assert (await _post(client, keys, _defined(DISTRICT))).status_code == 200
    member, resident = nik(), nik()
    membership = enrolled_bpu(member, event_id=f"bpu-{member}", valid_from="2024-03-01", region=DISTRICT)
    response = await _post(
        client, keys, registered(member), membership, registered(resident, region=DISTRICT)
    )
    assert response.status_code == 200, response.text
    later = corrected(
        "later-start",
        supersedes=[f"def-{DISTRICT}"],
        replacement=_defined(DISTRICT, valid_from="2024-06-01") | {"event_id": "def-later"},
    )
    assert _in_use(await _post(client, keys, later)) == [("region_in_use", "events[0].replacement.code")]
    gone = await _post(client, keys, corrected("gone", supersedes=[f"def-{DISTRICT}"]))
    [error] = gone.json()["errors"]
    assert error["code"] == "region_in_use" and "2 event(s)" in error["message"], error


async def test_a_region_keeping_regions_under_it_cannot_be_retracted(client: AsyncClient, keys: Keys) -> None:
    regency, district = "16.96", "16.96.01"
    assert (await _post(client, keys, _defined(regency), _defined(district))).status_code == 200
    alone = await _post(client, keys, corrected("retract-regency", supersedes=[f"def-{regency}"]))
    assert _in_use(alone) == [("region_in_use", "events[0].supersedes")]
    assert district in alone.json()["errors"][0]["message"]
    both = corrected("retract-both", supersedes=[f"def-{regency}", f"def-{district}"])
    assert (await _post(client, keys, both)).status_code == 200


async def test_a_retraction_racing_a_term_in_the_district_cannot_leave_the_term_behind(
    fresh_database: str,
) -> None:
    """Which events name a region is not watched by the recheck under the append lock: the batch
    moving a definition is planned again under it, so of a retraction and a term appended at
    once, the one that comes second sees the other."""
    async with live_app(fresh_database) as (_, client, keys):
        people = [nik() for _ in range(4)]
        for round_, person in enumerate(people):
            code = f"16.71.{90 + round_}"
            assert (await _post(client, keys, _defined(code), registered(person))).status_code == 200
            term = enrolled(
                person,
                event_id=f"race-{person}",
                valid_from="2024-01-25",
                valid_to="2024-02-24",
                region=code,
                registered_on="2024-01-02",
            )
            replies = await asyncio.gather(
                _post(client, keys, term),
                _post(client, keys, corrected(f"retract-{code}", supersedes=[f"def-{code}"])),
            )
            assert sorted(r.status_code for r in replies) in ([200, 409], [200, 422]), [
                r.text for r in replies
            ]
        with psycopg.connect(libpq_url(fresh_database)) as conn:
            orphans = conn.execute(
                "SELECT e.event_id FROM ledger_event e JOIN event_knowledge k ON k.event_id = e.event_id "
                "WHERE k.tx_to IS NULL AND e.type = 'officer.enrolled' AND e.nik = ANY(%s) "
                "AND NOT EXISTS (SELECT 1 FROM region r WHERE r.code = e.payload ->> 'region_code' "
                "                AND r.tx_to IS NULL)",
                (people,),
            ).fetchall()
        assert orphans == []


async def test_a_term_brought_back_into_a_retracted_district_is_refused(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by a review: a correction of the correction that retracted a term brought the term
    back into a district retracted meanwhile, checked by nothing."""
    assert (await _post(client, keys, _defined(DISTRICT))).status_code == 200
    person = await _officer_in(client, keys, DISTRICT, ("2024-01-25", "2024-02-24"))
    undo_term = corrected("undo-term", supersedes=[f"term-{person}"])
    assert (await _post(client, keys, undo_term)).status_code == 200
    assert (await _post(client, keys, corrected("gone", supersedes=[f"def-{DISTRICT}"]))).status_code == 200
    brought_back = await _post(client, keys, corrected("redo-term", supersedes=["undo-term"]))
    assert _in_use(brought_back) == [("region_not_in_force", "events[0].supersedes")]
    assert f"term-{person}" in brought_back.json()["errors"][0]["message"]


async def test_a_term_runs_across_the_day_its_district_is_renamed(client: AsyncClient, keys: Keys) -> None:
    """Found by a review: a rename (the old name's definition ending the day the new one's
    begins) was refused under a term running across it, and so was a new such term."""
    assert (await _post(client, keys, _defined(DISTRICT))).status_code == 200
    await _officer_in(client, keys, DISTRICT, ("2024-01-25", "2024-02-24"))
    old_name = _defined(DISTRICT, valid_to="2024-02-01") | {"event_id": "def-old-name"}
    new_name = _defined(DISTRICT, valid_from="2024-02-01") | {"event_id": "def-new-name", "name": "Baru"}
    renamed = await _post(
        client, keys, corrected("rename", supersedes=[f"def-{DISTRICT}"], replacement=old_name), new_name
    )
    assert renamed.status_code == 200, renamed.text
    await _officer_in(client, keys, DISTRICT, ("2024-01-20", "2024-02-10"))


async def test_a_potential_estimate_keeps_to_the_days_of_its_region(client: AsyncClient, keys: Keys) -> None:
    """Found by a region probe: an estimate was taken for a code on days it did not exist, and a
    code could be retracted from under its estimate (a denominator left in no region)."""
    assert (await _post(client, keys, _defined(DISTRICT, valid_from="2022-07-25"))).status_code == 200

    def estimate(event_id: str, valid_from: str) -> dict[str, Any]:
        return {
            "event_id": event_id,
            "type": "potential.estimated",
            "region_code": DISTRICT,
            "segment": "informal",
            "valid_from": valid_from,
            "count": 1200,
        }

    early = await _post(client, keys, estimate("est-2019", "2019-01-01"))
    assert early.status_code == 422, early.text
    assert [(e["code"], e["field"]) for e in early.json()["errors"]] == [
        ("region_not_in_force", "events[0].region_code")
    ]
    assert (await _post(client, keys, estimate("est-2023", "2023-01-01"))).status_code == 200
    retracted = await _post(client, keys, corrected("gone", supersedes=[f"def-{DISTRICT}"]))
    assert _in_use(retracted) == [("region_in_use", "events[0].supersedes")]
    assert "est-2023" in retracted.json()["errors"][0]["message"]


async def test_a_term_stored_before_these_checks_does_not_hold_up_a_rename(
    client: AsyncClient, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by an upgrade probe: a term a release before 0.8.0 stored on days its district did
    not exist refused every later change of that district's definition, a rename that took no
    day from it too. It is blamed only for days a change takes from it."""
    assert (await _post(client, keys, _defined(DISTRICT, valid_from="2026-01-01"))).status_code == 200
    with monkeypatch.context() as older_release:  # which did not check a term's days in its region
        older_release.setattr(batch_checks, "region_date_errors", lambda *_: [])
        person = await _officer_in(client, keys, DISTRICT, ("2024-10-01", "2025-01-01"))
    renamed = _defined(DISTRICT, valid_from="2026-01-01") | {"event_id": "def-renamed", "name": "Baru"}
    rename = corrected("rename-later", supersedes=[f"def-{DISTRICT}"], replacement=renamed)
    assert (await _post(client, keys, rename)).status_code == 200
    # a term the district's days do hold is still guarded
    other = await _officer_in(client, keys, DISTRICT, ("2026-02-01", "2026-03-01"))
    later = _defined(DISTRICT, valid_from="2026-02-15") | {"event_id": "def-later"}
    refused = await _post(
        client, keys, corrected("start-later", supersedes=["def-renamed"], replacement=later)
    )
    assert _in_use(refused) == [("region_in_use", "events[0].replacement.code")]
    message = refused.json()["errors"][0]["message"]
    assert f"term-{other}" in message and f"term-{person}" not in message


async def test_a_term_partly_outside_its_districts_days_keeps_the_days_it_has(
    client: AsyncClient, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by a review of the test above's mend: a term missing any day of its district was let
    go by every later change, a retraction of the district too."""
    assert (await _post(client, keys, _defined(DISTRICT, valid_from="2026-01-01"))).status_code == 200
    with monkeypatch.context() as older_release:
        older_release.setattr(batch_checks, "region_date_errors", lambda *_: [])
        person = await _officer_in(client, keys, DISTRICT, ("2025-10-01", "2026-03-01"))
    later = _defined(DISTRICT, valid_from="2026-02-15") | {"event_id": "def-later"}
    for change in (
        corrected("start-later", supersedes=[f"def-{DISTRICT}"], replacement=later),
        corrected("retracted", supersedes=[f"def-{DISTRICT}"]),
    ):
        refused = await _post(client, keys, change)
        assert refused.status_code == 409, refused.text
        assert f"term-{person}" in refused.json()["errors"][0]["message"]
    renamed = _defined(DISTRICT, valid_from="2026-01-01") | {"event_id": "def-renamed", "name": "Baru"}
    rename = corrected("rename", supersedes=[f"def-{DISTRICT}"], replacement=renamed)
    assert (await _post(client, keys, rename)).status_code == 200
