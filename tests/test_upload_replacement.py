"""replace_roster takes the file as the committee's whole roster: it may retract only what the
file really leaves out, and replaces the term a row restates, never another one."""

from typing import Any

import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.database.engine import libpq_url
from coverage_ledger.ledger import repository as ledger_repository
from tests.rosters import Uploader, officer_row, roster_csv
from tests.support import Keys, corrected, coverage_of, enrolled, nik, registered


def _term(person: str, tag: str, period: tuple[str, str], *, committee: str = "KPU-16.71") -> dict[str, Any]:
    """A KPPS term of the person, registered on 1 Dec 2023."""
    return enrolled(
        person,
        event_id=f"{tag}-{person}",
        committee=committee,
        valid_from=period[0],
        valid_to=period[1],
        registered_on="2023-12-01",
    )


async def _appended(up: Uploader, *events: dict[str, Any]) -> None:
    response = await up.client.post(
        "/v1/events", json={"events": list(events)}, headers=Keys.header(up.keys.admin)
    )
    assert response.status_code == 200, response.text


async def test_a_replacing_roster_with_a_rejected_row_writes_nothing(uploader: Uploader) -> None:
    people = [nik() for _ in range(3)]
    first = await uploader.run(roster_csv([officer_row(p) for p in people]))
    assert first["rows_accepted"] == 3
    head = await uploader.head()
    typo = officer_row(people[0], term=("2024-01-32", "2024-02-23"))
    mangled = officer_row(people[2])
    mangled[0] = "1.67101E+15"
    rows = [typo, officer_row(people[1]), mangled]
    for dry_run in ("true", "false"):
        status = await uploader.run(
            roster_csv(rows), mode="replace_roster", policy="accept_valid", dry_run=dry_run
        )
        assert status["status"] == ("succeeded" if dry_run == "true" else "failed"), status
        if dry_run == "true":
            assert status["outcome"]["would_commit"] is False
        else:
            assert status["problem"]["code"] == "rows_rejected"
            assert "replace_roster" in status["problem"]["message"]
        errors = await uploader.errors(status["upload_id"])
        assert sorted((e["row"], e["code"]) for e in errors) == [
            ("2", "invalid_date"),
            ("4", "nik_scientific_notation"),
        ]
    assert await uploader.head() == head
    for person in people:  # nobody was retracted for a typo
        assert (await coverage_of(uploader.client, uploader.keys, person, "2024-02-01"))[
            "status"
        ] == "covered"


async def test_a_replacing_row_replaces_the_term_it_overlaps_and_no_other(uploader: Uploader) -> None:
    person = nik()
    january = _term(person, "jan", ("2024-01-01", "2024-02-01"))
    june = _term(person, "jun", ("2024-06-01", "2024-07-01"))
    await _appended(uploader, registered(person), january, june)
    row = officer_row(person, term=("2024-06-10", "2024-07-10"), registered_on="2023-12-01")
    status = await uploader.run(roster_csv([row]), mode="replace_roster")
    assert status["status"] == "succeeded", status
    assert status["outcome"]["corrected"] == 1
    history = await uploader.client.get(
        f"/v1/persons/{person}/history", headers=Keys.header(uploader.keys.office)
    )
    superseded = {e["event_id"]: bool(e["superseded_by"]) for e in history.json()["events"]}
    assert superseded[january["event_id"]] is False
    assert superseded[june["event_id"]] is True
    assert (await coverage_of(uploader.client, uploader.keys, person, "2024-01-15"))["status"] == "covered"
    june_15 = await coverage_of(uploader.client, uploader.keys, person, "2024-06-15")
    covering = [s["event_id"] for s in june_15["sources"] if s["status"] == "covered"]
    assert len(covering) == 1 and covering[0].startswith(status["upload_id"].replace("-", ""))


async def test_a_replacing_row_that_overlaps_another_committees_term_is_a_row_error(
    uploader: Uploader,
) -> None:
    person = nik()
    own = _term(person, "own", ("2024-01-25", "2024-02-24"))
    other = _term(person, "other", ("2024-06-01", "2024-07-01"), committee="KPU-16.72")
    await _appended(uploader, registered(person), own, other)
    row = officer_row(person, term=("2024-06-10", "2024-07-10"), registered_on="2023-12-01")
    status = await uploader.run(roster_csv([row]), mode="replace_roster", policy="accept_valid")
    errors = await uploader.errors(status["upload_id"])
    assert [(e["row"], e["code"]) for e in errors] == [("2", "overlapping_enrolment")]
    message = errors[0]["message"]
    assert "of KPU-16.72" in message and "that committee or the regional office must correct it" in message


@pytest.mark.parametrize("race", ["retracted", "registered"])
async def test_a_roster_racing_a_registration_change_keeps_one_registration(
    uploader: Uploader, fresh_database: str, monkeypatch: pytest.MonkeyPatch, race: str
) -> None:
    """An API append commits between the roster's write and its lock: the roster checks again."""
    keys = uploader.keys
    person = nik()
    registration = registered(person, event_id=f"api-{person}")

    async def post(*events: dict[str, object]) -> int:
        response = await uploader.client.post(
            "/v1/events", json={"events": list(events)}, headers=Keys.header(keys.office)
        )
        return response.status_code

    if race == "retracted":
        assert await post(registration) == 200
    take_lock = ledger_repository.take_append_lock
    raced: list[int] = []

    async def racing(session: AsyncSession) -> int:
        if not raced:  # the roster has written its events (with a registration only if none was in force)
            raced.append(
                await post(corrected(f"drop-{person}", [registration["event_id"]]))
                if race == "retracted"
                else await post(registration)
            )
        return await take_lock(session)

    monkeypatch.setattr(ledger_repository, "take_append_lock", racing)
    status = await uploader.run(roster_csv([officer_row(person)]))
    assert raced == [200]
    assert status["status"] == "succeeded", status
    with psycopg.connect(libpq_url(fresh_database)) as conn:
        counts: dict[str, int] = dict(
            conn.execute(
                "SELECT type, count(*) FROM event_knowledge WHERE nik = %s AND tx_to IS NULL GROUP BY type",
                (person,),
            ).fetchall()
        )
    assert counts == {"person.registered": 1, "officer.enrolled": 1}


async def _superseded(up: Uploader, person: str) -> dict[str, bool]:
    history = await up.client.get(f"/v1/persons/{person}/history", headers=Keys.header(up.keys.admin))
    return {e["event_id"]: bool(e["superseded_by"]) for e in history.json()["events"]}


async def test_a_new_term_that_meets_none_of_the_old_ones_is_enrolled_beside_them(uploader: Uploader) -> None:
    """A roster for the next election names an officer of the last one: the old term, on which
    a paid claim may rest, stays; the new one is enrolled."""
    person = nik()
    pemilu = _term(person, "pemilu", ("2024-01-25", "2024-02-24"))
    await _appended(uploader, registered(person), pemilu)
    row = officer_row(person, term=("2026-12-01", "2026-12-20"), registered_on="2026-11-01")
    status = await uploader.run(roster_csv([row]), mode="replace_roster")
    assert status["status"] == "succeeded", status
    assert (status["outcome"]["corrected"], status["outcome"]["enrolled"]) == (0, 1), status
    assert (await _superseded(uploader, person))[pemilu["event_id"]] is False
    assert (await coverage_of(uploader.client, uploader.keys, person, "2024-02-14"))["status"] == "covered"


async def test_terms_outside_the_period_the_file_spans_are_not_retracted(uploader: Uploader) -> None:
    past, dropped, kept = nik(), nik(), nik()
    await _appended(
        uploader,
        *(registered(p) for p in (past, dropped, kept)),
        _term(past, "old", ("2024-01-25", "2024-02-24")),
        _term(dropped, "new", ("2026-12-01", "2026-12-21")),
        _term(kept, "new", ("2026-12-01", "2026-12-21")),
    )
    row = officer_row(kept, term=("2026-12-01", "2026-12-20"), registered_on="2023-12-01")
    status = await uploader.run(roster_csv([row]), mode="replace_roster")
    assert status["status"] == "succeeded", status
    assert status["outcome"]["retracted"] == 1, status
    assert (await _superseded(uploader, dropped))[f"new-{dropped}"] is True
    assert (await _superseded(uploader, past))[f"old-{past}"] is False


async def test_a_term_reaching_beyond_the_period_is_left_and_said(uploader: Uploader) -> None:
    """Found by a probe: a term of 17 Jan 2023 – 4 Apr 2024, left out of a file of the same role
    whose terms span 25 Jan – 23 Feb 2024, was retracted whole, and with it the cover of 2023. A
    term the period does not hold is left alone, and the outcome names whom."""
    long_term, kept = nik(), nik()
    await _appended(
        uploader,
        registered(long_term),
        registered(kept),
        _term(long_term, "pps", ("2023-01-17", "2024-04-05")),
        _term(kept, "kpps", ("2024-01-25", "2024-02-24")),
    )
    row = officer_row(kept, term=("2024-01-25", "2024-02-23"), registered_on="2023-12-01")
    status = await uploader.run(roster_csv([row]), mode="replace_roster")
    assert status["status"] == "succeeded", status
    outcome = status["outcome"]
    assert (outcome["retracted"], outcome["left_across_period"], outcome["left_across_period_niks"]) == (
        0,
        1,
        [long_term],
    ), outcome
    assert (await _superseded(uploader, long_term))[f"pps-{long_term}"] is False
    assert (await coverage_of(uploader.client, uploader.keys, long_term, "2024-03-15"))["status"] == "covered"


async def test_a_roster_of_one_district_leaves_the_other_districts_officers(uploader: Uploader) -> None:
    """A committee replacing the roster of one district (16.71.01) retracts the officers of that
    district it leaves out, not those of its other districts; the dry run names whom."""
    left_out, other_district, kept = nik(), nik(), nik()
    await _appended(
        uploader,
        *(registered(p) for p in (left_out, other_district, kept)),
        _term(left_out, "new", ("2026-12-01", "2026-12-21")),
        _term(other_district, "new", ("2026-12-01", "2026-12-21")) | {"region_code": "16.71.02"},
        _term(kept, "new", ("2026-12-01", "2026-12-21")),
    )
    # the file names one village of 16.71.01: the district's other villages and the district
    # itself are its roster too
    in_village = nik()
    village_term = _term(in_village, "village", ("2026-12-01", "2026-12-21")) | {
        "region_code": "16.71.01.1002"
    }
    await _appended(uploader, registered(in_village), village_term)
    row = officer_row(
        kept, region="16.71.01.1001", term=("2026-12-01", "2026-12-20"), registered_on="2023-12-01"
    )
    dry = await uploader.run(roster_csv([row]), mode="replace_roster", dry_run="true")
    assert (dry["outcome"]["retracted"], dry["outcome"]["retracted_niks"]) == (
        2,
        sorted([left_out, in_village]),
    ), dry
    status = await uploader.run(roster_csv([row]), mode="replace_roster")
    assert status["outcome"]["retracted_niks"] == sorted([left_out, in_village]), status
    assert (await _superseded(uploader, other_district))[f"new-{other_district}"] is False


async def test_a_replacing_row_does_not_correct_a_term_outside_the_keys_region(uploader: Uploader) -> None:
    person = nik(district="160202")
    elsewhere = enrolled(
        person, event_id=f"far-{person}", valid_from="2027-12-01", valid_to="2027-12-21", region="16.02.02"
    )
    await _appended(uploader, registered(person, region="16.02.02"), elsewhere)
    head = await uploader.head()
    row = officer_row(person, term=("2027-12-01", "2027-12-20"), registered_on="2026-11-01")
    status = await uploader.run(roster_csv([row]), mode="replace_roster")
    assert status["status"] == "failed", status
    errors = await uploader.errors(status["upload_id"])
    assert [(e["code"], "outside your region" in e["message"]) for e in errors] == [
        ("overlapping_enrolment", True)
    ]
    assert await uploader.head() == head
    assert (await _superseded(uploader, person))[f"far-{person}"] is False


async def test_a_changed_registered_on_or_role_is_a_correction(uploader: Uploader) -> None:
    late, moved = nik(), nik()
    await _appended(
        uploader,
        registered(late),
        registered(moved),
        _term(late, "t", ("2024-01-25", "2024-02-24")),
        _term(moved, "t", ("2024-01-25", "2024-02-24")),
    )
    rows = [
        officer_row(late, term=("2024-01-25", "2024-02-23"), registered_on="2024-02-10"),
        officer_row(moved, term=("2024-01-25", "2024-02-23"), registered_on="2023-12-01", role="PPS"),
    ]
    status = await uploader.run(roster_csv(rows), mode="replace_roster")
    assert status["status"] == "succeeded", status
    assert status["outcome"]["corrected"] == 2, status
    assert (await coverage_of(uploader.client, uploader.keys, late, "2024-02-01"))["status"] == "not_started"
    role = (await coverage_of(uploader.client, uploader.keys, moved, "2024-02-01"))["sources"][0]["role"]
    assert role == "PPS"


async def test_a_replacing_row_across_two_own_terms_says_so(uploader: Uploader) -> None:
    person = nik()
    first = _term(person, "first", ("2024-01-25", "2024-02-24"))
    second = _term(person, "second", ("2024-06-01", "2024-07-01"))
    await _appended(uploader, registered(person), first, second)
    row = officer_row(person, term=("2024-02-01", "2024-06-10"), registered_on="2023-12-01")
    status = await uploader.run(roster_csv([row]), mode="replace_roster", dry_run="true")
    errors = await uploader.errors(status["upload_id"])
    assert [e["code"] for e in errors] == ["overlapping_enrolment"], errors
    # the row is refused, not also counted as a correction of one of the terms (mutation testing:
    # the verdict chosen by event id instead of the error first passed the codes alone)
    assert (status["rows_rejected"], status["rows_accepted"]) == (1, 0), status
    assert status["outcome"].get("corrected", 0) == 0, status["outcome"]
    assert "meets two of this committee's terms" in errors[0]["message"]
    assert "mode=replace_roster" not in errors[0]["message"]
    # not "give one row each", which duplicate_nik refuses (found by a probe)
    assert "correct the other with event.corrected" in errors[0]["message"]


async def test_a_replacement_that_changed_nothing_is_still_the_twin_of_its_file(uploader: Uploader) -> None:
    """Sent again after a later roster, it must not run again: it would undo that roster."""
    a, b, c = nik(), nik(), nik()
    await uploader.run(roster_csv([officer_row(a), officer_row(b)]))
    unchanged = roster_csv([officer_row(a), officer_row(b)])
    first = await uploader.run(unchanged, mode="replace_roster")
    assert (first["status"], first["tx_seq"], first["outcome"]["unchanged"]) == ("succeeded", None, 2)
    later = await uploader.run(roster_csv([officer_row(p) for p in (a, b, c)]), mode="replace_roster")
    assert later["status"] == "succeeded" and later["tx_seq"] is not None
    again = await uploader.post(unchanged, mode="replace_roster")
    assert again.status_code == 200, again.text
    assert again.json()["upload_id"] == first["upload_id"]
    assert (await coverage_of(uploader.client, uploader.keys, c, "2024-02-01"))["status"] == "covered"
