"""A regional key reads a person it may see without another region's enrolments: their committee,
role, terms and event ids are that region's data (DESIGN.md, "Scope": reading outside the key's
region is a 404). The status and programs stay the person's, whoever asks."""

from typing import Any

from httpx import AsyncClient

from tests.claims_support import append, paid_member
from tests.support import Keys, corrected, enrolled, enrolled_bpu, nik, paid, registered

JABAR: dict[str, Any] = {"committee": "KPU-32.73", "region": "32.73.01", "role": "PPK"}


async def _read(client: AsyncClient, secret: str, person: str, path: str, valid_at: str) -> Any:
    response = await client.get(
        f"/v1/persons/{person}/{path}", params={"valid_at": valid_at}, headers=Keys.header(secret)
    )
    assert response.status_code == 200, response.text
    return response.json()


async def _officer_in_two_regions(client: AsyncClient, keys: Keys) -> str:
    """KPPS in Palembang for Pemilu 2024, PPK in Bandung for Pilkada 2024."""
    person = nik()
    await append(
        client,
        keys.admin,
        registered(person),
        enrolled(
            person,
            event_id=f"plg-{person}",
            valid_from="2024-01-25",
            valid_to="2024-02-24",
            registered_on="2024-01-15",
        ),
        enrolled(
            person,
            event_id=f"bdg-{person}",
            valid_from="2024-09-01",
            valid_to="2024-12-01",
            registered_on="2024-08-20",
            **JABAR,
        ),
    )
    return person


def _leaks(document: Any, person: str) -> bool:
    text = str(document)
    return any(secret in text for secret in ("KPU-32.73", "32.73.01", f"bdg-{person}", "PPK"))


async def test_a_term_in_another_region_is_counted_not_shown(client: AsyncClient, keys: Keys) -> None:
    person = await _officer_in_two_regions(client, keys)

    during_pemilu = await _read(client, keys.office, person, "coverage", "2024-02-01")
    assert (during_pemilu["status"], during_pemilu["programs"]) == ("covered", ["JKK", "JKM"])
    assert [s["event_id"] for s in during_pemilu["sources"]] == [f"plg-{person}"]
    assert during_pemilu["sources_outside_region"] == 1
    assert during_pemilu["reason"].startswith("Covered as KPPS of KPU-16.71")
    assert during_pemilu["evidence"] == [f"plg-{person}"]
    assert not _leaks(during_pemilu, person), during_pemilu

    # between the terms the Bandung term (not started) decides: the status says so, not its details
    between = await _read(client, keys.office, person, "coverage", "2024-06-01")
    assert between["status"] == "not_started"
    assert between["reason"] == (
        "Enrolled outside this key's region; cover has not started; "
        "term as KPPS of KPU-16.71 ended on 23 Feb 2024"
    )
    assert (between["period"], between["evidence"]) == (None, [])
    assert not _leaks(between, person), between

    # a national key reads everything, as before
    national = await _read(client, keys.auditor, person, "coverage", "2024-06-01")
    assert [s["event_id"] for s in national["sources"]] == [f"plg-{person}", f"bdg-{person}"]
    assert national["sources_outside_region"] == 0
    assert "KPU-32.73" in national["reason"]

    # the Jawa Barat office sees the person while the Bandung term is in force, and only it
    pilkada = await _read(client, keys.other_office, person, "coverage", "2024-10-01")
    assert [s["event_id"] for s in pilkada["sources"]] == [f"bdg-{person}"]
    assert "KPU-16.71" not in str(pilkada) and f"plg-{person}" not in str(pilkada)


async def test_history_leaves_out_another_regions_enrolments(client: AsyncClient, keys: Keys) -> None:
    person = await _officer_in_two_regions(client, keys)
    history = await _read(client, keys.office, person, "history", "2024-02-01")
    assert [e["event_id"] for e in history["events"]] == [f"reg-{person}", f"plg-{person}"]
    assert history["events_outside_region"] == 1
    assert not _leaks(history, person), history
    national = await _read(client, keys.admin, person, "history", "2024-02-01")
    assert len(national["events"]) == 3 and national["events_outside_region"] == 0


async def test_a_correction_moving_a_term_in_from_another_region_is_listed_without_its_reason(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by a review: a Bandung term moved into Palembang by a correction showed Palembang's
    office the correction's reason, which names Bandung's committee and decree; it is listed with
    what Palembang reads (the new term) and a count of what it does not."""
    person = nik()
    days = ("2024-01-25", "2024-02-24", "2024-01-20")
    await append(
        client,
        keys.admin,
        registered(person),
        enrolled(
            person,
            event_id=f"bdg-{person}",
            valid_from=days[0],
            valid_to=days[1],
            registered_on=days[2],
            committee="KPU-32.73",
            region="32.73.01",
            role="PPK",
        ),
    )
    moved = enrolled(
        person, event_id=f"plg-{person}", valid_from=days[0], valid_to=days[1], registered_on=days[2]
    )
    reason = "pindah dari KPU-32.73, SK 123/2024"
    await append(
        client, keys.admin, corrected(f"move-{person}", [f"bdg-{person}"], replacement=moved, reason=reason)
    )
    office = await _read(client, keys.office, person, "history", "2024-02-01")
    assert [
        (c["event_id"], c["supersedes"], c["replacement"], c["reason"], c["names_not_shown"])
        for c in office["corrections"]
    ] == [(f"move-{person}", [], f"plg-{person}", None, 1)]
    assert not _leaks(office, person), office
    national = await _read(client, keys.admin, person, "history", "2024-02-01")
    assert [(c["supersedes"], c["reason"]) for c in national["corrections"]] == [([f"bdg-{person}"], reason)]
    # found by a regression probe: the undoing of the move named only the move, which Palembang
    # reads, so its reason (Bandung's decree) showed; and Bandung read the move's reason through
    # its own term's superseded_by
    undo = "stays with KPU-32.73 per decree 124/2024"
    await append(client, keys.admin, corrected(f"undo-{person}", [f"move-{person}"], reason=undo))
    # the term back in Bandung, Palembang sees the person through the domicile on other days
    office = await _read(client, keys.office, person, "history", "2024-06-01")
    assert [(c["event_id"], c["reason"], c["names_not_shown"]) for c in office["corrections"]] == [
        (f"move-{person}", None, 1),
        (f"undo-{person}", None, 1),
    ]
    assert "decree" not in str(office), office
    bandung = await _read(client, keys.other_office, person, "history", "2024-02-01")
    assert "decree" not in str(bandung), bandung
    [term] = [e for e in bandung["events"] if e["event_id"] == f"bdg-{person}"]
    assert [(by["event_id"], by["reason"]) for by in term["superseded_by"]] == [(f"move-{person}", None)]


async def test_a_member_serving_as_an_officer_elsewhere_stays_visible_to_its_region(
    client: AsyncClient, keys: Keys
) -> None:
    """The officer term scopes the person while both cover; the member's own office saw a 404,
    and a search of its region left the member out."""
    member = await paid_member(client, keys.office, since="2025-01", through="2025-12")
    await append(
        client,
        keys.admin,
        enrolled(
            member,
            event_id=f"bdg-{member}",
            valid_from="2025-03-01",
            valid_to="2025-04-01",
            registered_on="2025-02-20",
            **JABAR,
        ),
    )
    office = await _read(client, keys.office, member, "coverage", "2025-03-15")
    assert office["status"] == "covered"
    assert [s["kind"] for s in office["sources"]] == ["informal"]
    assert office["sources_outside_region"] == 1
    assert office["reason"].endswith("; also covered through an enrolment outside this key's region")
    assert not _leaks(office, member), office

    lookup = await client.post(
        "/v1/coverage/lookup",
        json={"niks": [member], "valid_at": "2025-03-15"},
        headers=Keys.header(keys.office),
    )
    assert lookup.status_code == 200, lookup.text
    (result,) = lookup.json()["results"]
    assert (result["found"], result["status"]) == (True, "covered")
    assert not _leaks(result, member), result

    search = await client.get(
        "/v1/persons",
        params={"region": "16.71", "valid_at": "2025-03-15", "limit": 500},
        headers=Keys.header(keys.office),
    )
    assert search.status_code == 200, search.text
    found = [item for item in search.json()["items"] if item["nik"] == member]
    assert [(i["status"], i["region_code"]) for i in found] == [("covered", "16.71.01")]

    # and the Jawa Barat office sees the officer, not the membership or its payments
    jabar = await _read(client, keys.other_office, member, "coverage", "2025-03-15")
    assert [s["kind"] for s in jabar["sources"]] == ["officer"]
    jabar_history = await _read(client, keys.other_office, member, "history", "2025-03-15")
    assert [e["type"] for e in jabar_history["events"]] == ["person.registered", "officer.enrolled"]
    assert jabar_history["events_outside_region"] == 2


async def test_a_membership_elsewhere_lends_its_payments_to_none_inside(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by a review: a Palembang member who lapsed in 2024, joined again in Bandung in 2025
    and paid there read, to Palembang, as covered by the old membership with Bandung's payment,
    and Palembang's history listed that payment and its payer."""
    member = await paid_member(client, keys.office, since="2024-01", through="2024-03")
    await append(
        client,
        keys.admin,
        enrolled_bpu(member, event_id=f"bdg-bpu-{member}", valid_from="2025-01-01", region="32.73.01"),
        paid(
            member,
            event_id=f"bdg-pay-{member}",
            months=("2025-01", "2025-06"),
            amount=6 * 16_800,
            paid_on="2025-01-02",
        ),
        enrolled(
            member,
            event_id=f"plg-{member}",
            valid_from="2025-02-25",
            valid_to="2025-04-01",
            registered_on="2025-02-20",
        ),
    )
    office = await _read(client, keys.office, member, "coverage", "2025-03-10")
    assert office["status"] == "covered"
    assert [s["event_id"] for s in office["sources"]] == [f"plg-{member}"]
    assert office["sources_outside_region"] == 1
    assert office["reason"].endswith("; also covered through an enrolment outside this key's region")
    assert "bdg-" not in str(office) and "Jan 2025" not in office["reason"], office

    history = await _read(client, keys.office, member, "history", "2025-03-10")
    assert [e["event_id"] for e in history["events"]] == [
        f"reg-{member}",
        f"bpu-{member}",
        f"pay-{member}",
        f"plg-{member}",
    ]
    assert history["events_outside_region"] == 2


async def test_another_regions_retracted_payment_and_left_domicile_stay_out_of_the_history(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by a probe: a Bandung membership and its payment, both retracted, were still that
    region's; once the person joined in Palembang, Palembang's history and coverage diff listed
    the payment (payer, amount, months), and a person who moved here showed the Bandung
    registration they left."""
    person = nik()
    await append(client, keys.admin, registered(person))
    bandung = {"kind": "organisation", "name": "PT Bandung Jaya"}
    await append(
        client,
        keys.other_office,
        enrolled_bpu(
            person, event_id=f"b32-{person}", valid_from="2025-01-01", region="32.73.01", payer=bandung
        ),
        paid(
            person,
            event_id=f"p32-{person}",
            months=("2025-01", "2025-01"),
            amount=16_800,
            paid_on="2025-01-02",
            payer=bandung,
        ),
    )
    head = await client.get("/v1/ledger/head", headers=Keys.header(keys.admin))
    then = head.json()["tx_seq"]
    await append(
        client, keys.other_office, corrected(f"x32-{person}", [f"p32-{person}", f"b32-{person}"], reason="x")
    )
    await append(
        client,
        keys.office,
        enrolled_bpu(person, event_id=f"b16-{person}", valid_from="2025-01-01"),
        paid(
            person,
            event_id=f"p16-{person}",
            months=("2025-01", "2025-01"),
            amount=16_800,
            paid_on="2025-01-03",
        ),
    )
    history = await _read(client, keys.office, person, "history", "2025-02-15")
    assert not any(e["event_id"].endswith(f"32-{person}") for e in history["events"]), history
    assert "Bandung" not in str(history) and history["events_outside_region"] == 2
    diff = await client.get(
        "/v1/reports/coverage-diff",
        params={
            "valid_at": "2025-01-15",
            "known_then": f"tx:{then - 1}",
            "known_now": f"tx:{then + 2}",
            "region": "16",
        },
        headers=Keys.header(keys.office),
    )
    (row,) = [r for r in diff.json()["rows"] if r[0] == person]
    assert row[1:3] == ["not_enrolled", "covered"], row
    assert any(f":p16-{person}:" in change for change in row[5]) and f"p32-{person}" not in str(row), row

    mover = nik(district="327301")
    await append(client, keys.admin, registered(mover, event_id=f"r32-{mover}", region="32.73.01"))
    await append(
        client,
        keys.admin,
        corrected(f"mv-{mover}", [f"r32-{mover}"], replacement=registered(mover, event_id=f"r16-{mover}")),
    )
    moved = await _read(client, keys.office, mover, "history", "2025-02-15")
    assert [e["event_id"] for e in moved["events"]] == [f"r16-{mover}"], moved
    assert "32.73" not in str(moved)


async def test_the_person_page_says_how_many_events_it_leaves_out(client: AsyncClient, keys: Keys) -> None:
    """Found by a web probe: the page left another region's events out without saying so."""
    person = await _officer_in_two_regions(client, keys)
    signed = await client.post("/sign-in", data={"api_key": keys.office})
    assert signed.status_code == 303, signed.text
    page = await client.get(f"/persons/{person}", params={"valid_at": "2024-02-01"})
    assert page.status_code == 200 and 'id="events-outside"' in page.text
    assert "tidak ditampilkan: 1</p>" in page.text and not _leaks(page.text, person)
