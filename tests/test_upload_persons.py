"""Roster rows read against the persons they name: dates that read only month first, registrations too
late for cover, names and phones that differ from a registration, names guessed across regions."""

from datetime import date
from typing import Any

import pytest

from coverage_ledger.ledger import repository as ledger_repository
from tests.rosters import Uploader, append_as_admin, officer_row, roster_csv
from tests.support import corrected, nik, registered


async def test_a_file_with_month_first_dates_is_refused_whole_whatever_the_policy(uploader: Uploader) -> None:
    """A US-English spreadsheet writes 11/1/2024 for 1 November: read day first, it is 11 January.
    One date only month/day/year can read shows the file is written that way: nothing is taken."""
    misread = officer_row(term=("11/1/2024", "12/10/2024"))
    telling = officer_row(term=("1/25/2024", "2/23/2024"))
    head = await uploader.head()
    status = await uploader.run(roster_csv([misread, telling]), policy="accept_valid")
    assert status["status"] == "failed", status
    assert status["problem"]["code"] == "month_first_dates", status
    assert "row 3, term_start" in status["problem"]["message"]
    errors = await uploader.errors(status["upload_id"])
    assert ("3", "term_start", "month_first_date") in [(e["row"], e["column"], e["code"]) for e in errors]
    assert await uploader.head() == head
    # the counts say what was read (found by a probe: rows_total 0 beside the listed errors)
    assert (status["rows_total"], status["rows_rejected"], status["rows_accepted"]) == (2, 1, 0), status


async def test_birth_dates_the_nik_reads_month_first_refuse_the_file_whole(uploader: Uploader) -> None:
    """3/4/1988 for someone whose NIK says 4 March: no date of the file needs the month/day/year
    reading (every day is 12 or less), but the NIK shows it is meant, so the terms beside it (12/10
    for 10 December) are misread too. Found by a probe: such a file was taken, its terms swapped."""
    born = date(1988, 3, 4)
    us_dates = officer_row(born=born, term=("12/10/2024", "1/8/2025"))
    us_dates[2] = "3/4/1988"
    plain = officer_row(born=date(1990, 5, 5), term=("12/10/2024", "1/8/2025"))
    plain[2] = "5/5/1990"  # either reading: tells nothing
    head = await uploader.head()
    status = await uploader.run(roster_csv([plain, us_dates]), policy="accept_valid")
    assert (status["status"], status["problem"]["code"]) == ("failed", "month_first_dates"), status
    assert "row 3, birth_date" in status["problem"]["message"]
    errors = await uploader.errors(status["upload_id"])
    assert [(e["row"], e["column"], e["code"]) for e in errors if e["row"] != "0"] == [
        ("3", "birth_date", "month_first_date")
    ]
    assert not any("1988" in e["message"] for e in errors)  # kept errors never repeat a birth date
    assert await uploader.head() == head
    # a birth date wrong either way is still the NIK's disagreement, day first
    wrong = officer_row(born=born)
    wrong[2] = "3/5/1988"
    errors = await uploader.errors((await uploader.run(roster_csv([wrong])))["upload_id"])
    assert [(e["column"], e["code"]) for e in errors] == [("birth_date", "birth_date_mismatch_nik")]


async def test_rows_registered_too_late_for_any_cover_are_enrolled_and_named(uploader: Uploader) -> None:
    """Registered on or after the last day of duty (or, with no registered_on, recorded after
    it), an officer is enrolled, the record of service, but protected on no day: the outcome
    names those rows, in a dry run and in the commit, so the clerk can check their dates."""
    rows = [
        officer_row(),
        officer_row(registered_on="2024-02-24"),  # the day after the last day of duty
        officer_row(registered_on=""),  # recorded today, long after February 2024
    ]
    dry = await uploader.run(roster_csv(rows), dry_run="true")
    assert (dry["outcome"]["rows_without_cover"], dry["outcome"]["rows_without_cover_first"]) == (
        2,
        [3, 4],
    ), dry
    status = await uploader.run(roster_csv(rows))
    assert status["status"] == "succeeded" and status["rows_accepted"] == 3, status
    assert status["outcome"]["rows_without_cover_first"] == [3, 4]


async def test_rows_naming_a_registered_person_otherwise_are_named(uploader: Uploader) -> None:
    """A roster does not change a registration (a regional office corrects it): a row that names
    the person otherwise is enrolled, and the outcome says which rows differ."""
    person = nik()
    await uploader.run(roster_csv([officer_row(person, name="Sri Wahyuni")]))
    pilkada = ("2024-11-07", "2024-12-08")
    renamed = officer_row(person, name="Sri Wahyuningsih", term=pilkada, registered_on="2024-11-01")
    # found by a probe: case and spaces (a non-breaking one) counted as another name, drowning the
    # rows that are a mistyped NIK's sign
    shouted, other = nik(), nik()
    await uploader.run(roster_csv([officer_row(shouted, name="Budi Santoso"), officer_row(other)]))
    rows = [
        officer_row(term=pilkada, registered_on="2024-11-01"),
        renamed,
        officer_row(shouted, name="BUDI  SANTOSO ", term=pilkada, registered_on="2024-11-01"),
    ]
    status = await uploader.run(roster_csv(rows))
    assert status["status"] == "succeeded" and status["rows_accepted"] == 3, status
    outcome = status["outcome"]
    assert (
        outcome["rows_differing_from_registration"],
        outcome["rows_differing_from_registration_first"],
    ) == (
        1,
        [3],
    )


async def test_names_are_compared_composed_and_garbled_ones_refused(uploader: Uploader) -> None:
    """Found by a probe: "Désiré" with its accent as a separate character (as macOS and PDFs give
    it) counted as another name than the same one typed, and a UTF-8 file Excel opened as ANSI
    and saved again was enrolled as "DÃ©sirÃ©"."""
    person, born = nik(born=date(1990, 1, 5)), date(1990, 1, 5)
    await append_as_admin(uploader, registered(person, name="De\u0301sire\u0301 Putra"))
    pilkada = ("2024-11-07", "2024-12-08")
    row = officer_row(
        person, born=born, name="D\u00e9sir\u00e9 Putra", term=pilkada, registered_on="2024-11-01"
    )
    status = await uploader.run(roster_csv([row]))
    assert status["status"] == "succeeded", status
    assert status["outcome"]["rows_differing_from_registration"] == 0, status

    garbled = officer_row(name="D\u00c3\u00a9sir\u00c3\u00a9 Putra")
    broken = officer_row(name="Sri\nWahyuni")
    status = await uploader.run(roster_csv([garbled, broken]), policy="accept_valid")
    errors = await uploader.errors(status["upload_id"])
    assert [(e["row"], e["column"], e["code"]) for e in errors] == [
        ("2", "name", "garbled_text"),
        ("3", "name", "hidden_character"),
    ]
    assert "U+000A (a line break)" in errors[1]["message"]
    assert not any("Putra" in e["message"] or "Wahyuni" in e["message"] for e in errors)


async def test_a_dry_run_cannot_check_a_guessed_name_of_another_regions_person(uploader: Uploader) -> None:
    """Only registrations in the key's region are compared: else a dry run would say whether a
    guessed name of a person the key may not read is right."""
    person = nik(district="320101")
    response = await uploader.client.post(
        "/v1/events",
        json={"events": [registered(person, region="32.01.01", name="Rahasia Negara")]},
        headers={"Authorization": f"Bearer {uploader.keys.admin}"},
    )
    assert response.status_code == 200, response.text
    answers = []
    for guess in ("Rahasia Negara", "Salah Tebak"):
        row = officer_row(person, born=date(1990, 1, 5), name=guess)
        dry = await uploader.run(roster_csv([row]), dry_run="true")
        answers.append(dry["outcome"]["rows_differing_from_registration"])
    assert answers == [0, 0]


async def test_a_row_is_judged_by_the_birth_date_its_persons_registration_gives(uploader: Uploader) -> None:
    """Found by a race probe: a person registered as born in 2010 was enrolled by a row giving
    1910 (the NIK's two-digit year reads both), a term `POST /v1/events` refuses; the registration
    in force was then stuck, its name no longer correctable."""
    young = nik(born=date(2010, 4, 20), female=False)
    await append_as_admin(uploader, {**registered(young), "birth_date": "2010-04-20"})
    grown = nik(born=date(1990, 1, 5))
    await append_as_admin(uploader, {**registered(grown), "birth_date": "1990-01-05"})
    just_of_age = nik(born=date(2009, 3, 3))
    await append_as_admin(uploader, {**registered(just_of_age), "birth_date": "2009-03-03"})
    pilkada = ("2026-06-01", "2026-07-15")
    rows = [
        officer_row(young, born=date(1910, 4, 20), female=False, term=pilkada, registered_on="2026-05-20"),
        officer_row(grown, born=date(1990, 1, 5), term=pilkada, registered_on="2026-05-20"),
        officer_row(just_of_age, born=date(1909, 3, 3), term=pilkada, registered_on="2008-01-01"),
    ]
    head = await uploader.head()
    refused = await uploader.run(roster_csv(rows[:2]))
    assert refused["status"] == "failed", refused
    errors = await uploader.errors(refused["upload_id"])
    assert [(e["row"], e["column"], e["code"]) for e in errors] == [("2", "term_start", "officer_too_young")]
    assert (
        "2010" not in errors[0]["message"]
        and "as the officer's registration gives it" in errors[0]["message"]
    )
    assert await uploader.head() == head
    kept = await uploader.run(roster_csv(rows), policy="accept_valid")
    assert (kept["status"], kept["rows_accepted"], kept["rows_rejected"]) == ("succeeded", 1, 2), kept
    codes = {(e["row"], e["code"]) for e in await uploader.errors(kept["upload_id"])}
    assert codes == {("2", "officer_too_young"), ("4", "registered_before_birth")}, codes


async def test_a_birth_date_refusal_checked_again_under_the_lock_is_not_kept_or_repeated(
    uploader: Uploader, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by a review: a registration corrected between a roster's check and its lock sends it
    through the checks again, and the first check's birth-date refusal stayed in the error file of
    a row then written (or came twice when it still held)."""
    young, other = nik(born=date(2010, 4, 20), female=False), nik(born=date(1990, 1, 5))
    await append_as_admin(uploader, {**registered(young), "birth_date": "2010-04-20"}, registered(other))
    pilkada = ("2026-06-01", "2026-07-15")
    rows = [
        officer_row(young, born=date(1910, 4, 20), female=False, term=pilkada, registered_on="2026-05-20"),
        officer_row(other, term=pilkada, registered_on="2026-05-20"),
    ]
    real_lock = ledger_repository.take_append_lock
    meanwhile: list[dict[str, Any]] = []

    async def correct_first(*args: Any, **kwargs: Any) -> int:
        if meanwhile:
            await append_as_admin(uploader, meanwhile.pop())
        return await real_lock(*args, **kwargs)

    monkeypatch.setattr(ledger_repository, "take_append_lock", correct_first)
    # the registration corrected to the row's 1910: the row is written, and no error is left
    born_1910 = {**registered(young, event_id=f"reg-1910-{young}"), "birth_date": "1910-04-20"}
    meanwhile.append(corrected(f"fix-{young}", [f"reg-{young}"], replacement=born_1910))
    written = await uploader.run(roster_csv(rows), policy="accept_valid")
    assert (written["status"], written["rows_accepted"], written["rows_rejected"]) == ("succeeded", 2, 0)
    assert await uploader.errors(written["upload_id"]) == []
    # another person changed meanwhile: the refusal still holds, said once
    again = nik(born=date(2010, 4, 20), female=False)
    await append_as_admin(uploader, {**registered(again), "birth_date": "2010-04-20"})
    phone = {**registered(other, event_id=f"reg-phone-{other}"), "phone": "081234567890"}
    meanwhile.append(corrected(f"phone-{other}", [f"reg-{other}"], replacement=phone))
    rows[0] = officer_row(
        again, born=date(1910, 4, 20), female=False, term=pilkada, registered_on="2026-05-20"
    )
    refused = await uploader.run(roster_csv(rows), policy="accept_valid")
    # (the other row restates the term the first upload wrote: a duplicate)
    assert (refused["rows_accepted"], refused["rows_rejected"], refused["rows_duplicate"]) == (0, 1, 1), (
        refused
    )
    errors = await uploader.errors(refused["upload_id"])
    assert [(e["row"], e["code"]) for e in errors] == [("2", "officer_too_young")], errors
