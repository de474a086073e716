"""GET /v1/persons walks the region's (or committee's) own events in NIK order (migration 0022):
a province merges its regencies, a person counts where their events in force lie, as known at
the moment asked, whatever region their NIK was issued in."""

from typing import Any

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.support import Keys, corrected, enrolled, nik, registered


async def _append(client: AsyncClient, keys: Keys, events: list[dict[str, Any]]) -> int:
    response = await client.post("/v1/events", json={"events": events}, headers=Keys.header(keys.admin))
    assert response.status_code == 200, response.text
    tx: int = response.json()["tx_seq"]
    return tx


async def _all_pages(client: AsyncClient, secret: str, params: dict[str, str]) -> list[str]:
    """Every page of a search, one person a page, in the order given."""
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(100):
        asked = params | {"limit": "1"} | ({"cursor": cursor} if cursor else {})
        response = await client.get("/v1/persons", params=asked, headers=Keys.header(secret))
        assert response.status_code == 200, response.text
        page = response.json()
        seen += [item["nik"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError(f"no last page after 100: {seen}")


async def _scans_of(connection: AsyncConnection, index: str) -> int:
    """Scans of `index` made by this transaction (each test's requests run in it)."""
    query = text("SELECT pg_stat_get_xact_numscans(CAST(:index AS regclass))")
    scans: int = (await connection.execute(query, {"index": index})).scalar_one()
    return scans


COMMITTEE_INDEX = "ix_ledger_event_committee_regency_nik"


async def _entries_read(connection: AsyncConnection, index: str) -> int:
    """Index entries this transaction's scans of `index` returned."""
    query = text("SELECT pg_stat_get_xact_tuples_returned(CAST(:index AS regclass))")
    entries: int = (await connection.execute(query, {"index": index})).scalar_one()
    return entries


async def test_a_province_lists_each_of_its_regencies_persons_once_in_nik_order(
    client: AsyncClient, keys: Keys, connection: AsyncConnection
) -> None:
    palembang = nik(district="167101")  # issued and living in Palembang
    moved_in = nik(district="320101")  # issued in Bogor, registered in Ogan Komering Ulu
    posted_in = nik(district="320101")  # living in Bogor, an officer in Lubuklinggau
    elsewhere = nik(district="167101")  # issued in Palembang, living and working in Bogor
    both = nik(district="167102")  # registered and enrolled in two regencies of the province
    provincial = nik(district="167103")  # registered at the province's level, in no regency
    tx = await _append(
        client,
        keys,
        [
            registered(palembang, region="16.71.02"),
            registered(moved_in, region="16.01.07"),
            registered(posted_in, region="32.01.01"),
            enrolled(
                posted_in, event_id=f"walk-{posted_in}", valid_from="2024-01-25", valid_to="2024-02-24",
                region="16.73.01", registered_on="2024-01-02",
            ),
            registered(elsewhere, region="32.01.01"),
            registered(both, region="16.71.01"),
            registered(provincial, region="16"),
            enrolled(
                both, event_id=f"walk-{both}", valid_from="2024-01-25", valid_to="2024-02-24",
                region="16.01.07", registered_on="2024-01-02",
            ),
        ],
    )  # fmt: skip
    asked = {"valid_at": "2024-02-01", "known_at": f"tx:{tx}"}
    ours = {palembang, moved_in, posted_in, both, provincial}
    scans = await _scans_of(connection, "ix_ledger_event_regency_nik")
    for params in (asked | {"region": "16"}, asked):  # the office's key is the province's
        province = await _all_pages(client, keys.office, params)
        assert [p for p in province if p in ours | {elsewhere}] == sorted(ours)
        assert len(province) == len(set(province))
    assert await _scans_of(connection, "ix_ledger_event_regency_nik") > scans  # walked, not scanned
    regency = await _all_pages(client, keys.office, asked | {"region": "16.01"})
    assert [p for p in regency if p in ours | {elsewhere}] == sorted([moved_in, both])
    district = await _all_pages(client, keys.office, asked | {"region": "16.71.02"})
    assert [p for p in district if p in ours | {elsewhere}] == [palembang]
    covered = await _all_pages(client, keys.office, asked | {"status": "covered"})
    assert [p for p in covered if p in ours] == sorted([posted_in, both])
    bogor = await _all_pages(client, keys.other_office, asked)
    # a person counts for the region of the enrolment covering them on the day, else of domicile
    assert [p for p in bogor if p in ours | {elsewhere}] == [elsewhere]


async def test_a_corrected_posting_moves_the_officer_between_regions_only_as_known_after(
    client: AsyncClient, keys: Keys
) -> None:
    officer = nik(district="320101")
    before = await _append(
        client,
        keys,
        [
            registered(officer, region="32.01.01"),
            enrolled(
                officer, event_id=f"move-{officer}", valid_from="2024-01-25", valid_to="2024-02-24",
                region="16.71.01", registered_on="2024-01-02",
            ),
        ],
    )  # fmt: skip
    moved = enrolled(
        officer, event_id=f"moved-{officer}", valid_from="2024-01-25", valid_to="2024-02-24",
        region="16.01.07", registered_on="2024-01-02",
    )  # fmt: skip
    after = await _append(client, keys, [corrected(f"fix-{officer}", [f"move-{officer}"], replacement=moved)])

    async def found(region: str, tx: int) -> bool:
        params = {"region": region, "valid_at": "2024-02-01", "known_at": f"tx:{tx}"}
        return officer in await _all_pages(client, keys.office, params)

    assert await found("16.71", before) and not await found("16.01", before)
    assert await found("16.01", after) and not await found("16.71", after)
    assert await found("16", before) and await found("16", after)


async def test_a_committee_lists_only_its_officers_among_many_of_another(
    client: AsyncClient, keys: Keys, connection: AsyncConnection
) -> None:
    people = sorted(nik(district="167101") for _ in range(200))
    small = people[3::70]  # spread among the others in NIK order
    events: list[dict[str, Any]] = []
    for person in people:
        ours = person in small
        events += [
            registered(person, region="16.71.01"),
            enrolled(
                person, event_id=f"cmt-{person}", valid_from="2024-01-25", valid_to="2024-02-24",
                committee="KPU-16.01" if ours else "KPU-16.71",
                region="16.01.07" if ours and person != small[0] else "16.71.01",
                registered_on="2024-01-02",
            ),
        ]  # fmt: skip
    tx = await _append(client, keys, events)
    # statistics of the ledger as it stands, as autovacuum keeps them (a young table's guesses
    # once made the planner read a committee's entries whole to find its first regency)
    await connection.execute(text("ANALYZE ledger_event"))
    asked = {"committee": "KPU-16.01", "valid_at": "2024-02-01", "known_at": f"tx:{tx}"}
    read = await _entries_read(connection, COMMITTEE_INDEX)
    assert await _all_pages(client, keys.office, asked) == small
    assert await _entries_read(connection, COMMITTEE_INDEX) > read
    assert await _all_pages(client, keys.office, asked | {"region": "16.01"}) == small[1:]
    assert await _all_pages(client, keys.office, asked | {"region": "16.71.01"}) == small[:1]
    assert await _all_pages(client, keys.office, asked | {"region": "16"}) == small  # a province: its own
    # a committee of another region is found to have no officers there without reading its
    # officers (found by scale and scope probes: a province's key read the 20,000 officers of
    # another province's committee, 54 ms against 9 ms for an unknown committee)
    read = await _entries_read(connection, COMMITTEE_INDEX)
    assert await _all_pages(client, keys.office, asked | {"region": "16.73"}) == []
    other = {"committee": "KPU-16.71", "valid_at": "2024-02-01", "known_at": f"tx:{tx}"}
    assert await _all_pages(client, keys.other_office, other) == []
    assert await _all_pages(client, keys.other_office, other | {"region": "32"}) == []
    # the regency probes of the committees' walks, never the 197 officers of KPU-16.71
    assert await _entries_read(connection, COMMITTEE_INDEX) - read < 20
