"""GET /v1/persons: a region's or committee's persons with their status, page by page."""

from httpx import AsyncClient

from coverage_ledger.domain.access import SYSTEM
from coverage_ledger.http.paging import claim_filters
from tests.support import Keys, enrolled, nik, registered


async def _setup(client: AsyncClient, keys: Keys) -> tuple[list[str], int]:
    people = sorted(nik() for _ in range(7))
    events = []
    for i, person in enumerate(people):
        events.append(registered(person, region="16.71.01" if i < 5 else "32.01.01"))
        if i < 3:
            events.append(
                enrolled(
                    person,
                    event_id=f"srch-{person}",
                    valid_from="2024-01-25",
                    valid_to="2024-02-24",
                    registered_on="2024-01-01",
                )
            )
    response = await client.post("/v1/events", json={"events": events}, headers=Keys.header(keys.admin))
    assert response.status_code == 200
    return people, response.json()["tx_seq"]


async def test_pages_of_a_region_in_nik_order(client: AsyncClient, keys: Keys) -> None:
    people, tx = await _setup(client, keys)
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params = {"region": "16.71.01", "valid_at": "2024-02-01", "known_at": f"tx:{tx}", "limit": "2"} | (
            {"cursor": cursor} if cursor else {}
        )
        page = (await client.get("/v1/persons", params=params, headers=Keys.header(keys.office))).json()
        seen += [item["nik"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [p for p in seen if p in people] == people[:5]


async def test_status_and_committee_filters(client: AsyncClient, keys: Keys) -> None:
    people, tx = await _setup(client, keys)
    base = {"valid_at": "2024-02-01", "known_at": f"tx:{tx}", "limit": "100"}
    covered = (
        await client.get(
            "/v1/persons",
            params=base | {"region": "16.71.01", "status": "covered"},
            headers=Keys.header(keys.office),
        )
    ).json()
    assert [i["nik"] for i in covered["items"] if i["nik"] in people] == people[:3]
    assert all(i["status"] == "covered" for i in covered["items"])
    committee = (
        await client.get(
            "/v1/persons", params=base | {"committee": "KPU-16.71"}, headers=Keys.header(keys.office)
        )
    ).json()
    assert set(people[:3]) <= {i["nik"] for i in committee["items"]}


async def test_a_regional_key_sees_only_its_region(client: AsyncClient, keys: Keys) -> None:
    people, tx = await _setup(client, keys)
    base = {"valid_at": "2024-02-01", "known_at": f"tx:{tx}", "limit": "100"}
    other = (await client.get("/v1/persons", params=base, headers=Keys.header(keys.other_office))).json()
    mine = {i["nik"] for i in other["items"]}
    assert set(people[5:]) <= mine
    assert not set(people[:5]) & mine
    asked_outside = await client.get(
        "/v1/persons", params=base | {"region": "16.71"}, headers=Keys.header(keys.other_office)
    )
    unknown = await client.get(
        "/v1/persons", params=base | {"region": "99"}, headers=Keys.header(keys.other_office)
    )
    assert asked_outside.status_code == unknown.status_code == 404
    assert asked_outside.json()["title"] == unknown.json()["title"]


async def test_bad_search_parameters_are_422(client: AsyncClient, keys: Keys) -> None:
    for params in ({"status": "dead"}, {"region": "Palembang"}, {"limit": "0"}, {"cursor": "abc"}):
        response = await client.get("/v1/persons", params=params, headers=Keys.header(keys.office))
        assert response.status_code == 422, params


async def test_a_next_page_asked_without_the_first_pages_filters_is_refused(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by a README probe: page 2 of `?status=covered` asked with the cursor alone listed
    persons of every status (the cursor kept the tx and the day, not the filters)."""
    people, tx = await _setup(client, keys)
    office = Keys.header(keys.office)
    asked = {"region": "16.71.01", "status": "covered", "valid_at": "2024-02-01", "limit": "1"}
    first = (await client.get("/v1/persons", params=asked, headers=office)).json()
    cursor = first["next_cursor"]
    for other in (
        {k: v for k, v in asked.items() if k != "status"},
        asked | {"status": "not_enrolled"},
        asked | {"committee": "KPU-16.71"},
    ):
        refused = await client.get("/v1/persons", params=other | {"cursor": cursor}, headers=office)
        assert refused.status_code == 422, (other, refused.text)
        assert refused.json()["errors"][0] == {
            "code": "cursor_of_other_filters",
            "message": "pass the cursor with the same committee, region, status as its first page",
            "field": "cursor",
        }
    seen = [item["nik"] for item in first["items"]]
    while cursor is not None:
        page = (await client.get("/v1/persons", params=asked | {"cursor": cursor}, headers=office)).json()
        assert all(item["status"] == "covered" for item in page["items"]), page
        seen += [item["nik"] for item in page["items"]]
        cursor = page["next_cursor"]
    assert [p for p in seen if p in people] == people[:3]
    # a cursor issued before cursors carried the filters reads the filters asked
    old = await client.get(
        "/v1/persons", params=asked | {"cursor": f"{tx}@2024-02-01:{seen[0]}"}, headers=office
    )
    assert old.status_code == 200 and all(item["status"] == "covered" for item in old.json()["items"])
    # the filters as applied are compared: the key's region when none is asked, an empty
    # committee as none, statuses in any order
    unasked = {k: v for k, v in asked.items() if k != "region"}
    first_of_region = (await client.get("/v1/persons", params=unasked, headers=office)).json()
    named = await client.get(
        "/v1/persons",
        params=unasked | {"region": "16", "committee": "", "cursor": first_of_region["next_cursor"]},
        headers=office,
    )
    assert named.status_code == 200, named.text
    assert claim_filters(principal=SYSTEM, region=None, statuses=["filed", "approved"], overdue=False) == (
        claim_filters(principal=SYSTEM, region=None, statuses=["approved", "filed", "filed"], overdue=False)
    )
    overdue = await client.get(
        "/v1/claims", params={"overdue": "true", "cursor": f"{tx}@2024-02-01~00000000:C"}, headers=office
    )
    assert overdue.status_code == 422 and overdue.json()["errors"][0]["code"] == "cursor_of_other_filters"
