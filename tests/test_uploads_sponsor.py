"""Sponsor rosters: a regional government (or SERTAKAN sponsor) enrols informal workers and pays
their contributions, checked by the same BPU rules as single payments."""

from datetime import date
from typing import Any

import pytest

from coverage_ledger.uploads import sponsor_job
from tests.rosters import SPONSOR_HEADER, Uploader, roster_csv, sponsor_csv, sponsor_row
from tests.support import Keys, coverage_of, enrolled_bpu, nik, registered


@pytest.mark.slow
async def test_a_sponsor_roster_enrols_and_pays_for_a_thousand_workers(uploader: Uploader) -> None:
    workers = [
        nik(born=date(1970 + i % 30, 1 + i % 12, 1 + i % 28), female=False, serial=1 + i) for i in range(1000)
    ]
    rows = [sponsor_row(w, born=date(1970 + i % 30, 1 + i % 12, 1 + i % 28)) for i, w in enumerate(workers)]
    head = await uploader.head()
    status = await uploader.run(sponsor_csv(rows), key=uploader.keys.sponsor, kind="sponsor_roster")
    assert status["status"] == "succeeded", status
    assert status["rows_accepted"] == 1000 and status["tx_seq"] == head + 1
    assert status["outcome"] == {
        "written": True,
        "registered": 1000,
        "enrolled": 1000,
        "paid": 1000,
        "amount_total": 50_400_000,
        "rows_differing_from_membership": 0,
        "rows_differing_from_membership_first": [],
        "rows_differing_from_registration": 0,
        "rows_differing_from_registration_first": [],
    }
    answer = await coverage_of(uploader.client, uploader.keys, workers[0], "2025-02-15")
    assert answer["status"] == "covered", answer
    arrears = await coverage_of(uploader.client, uploader.keys, workers[0], "2025-04-15")
    assert arrears["status"] == "in_arrears"
    # payments made have no invoice (found by a probe: an empty CSV came back)
    assert "invoice" not in status["links"]
    invoice = await uploader.client.get(
        f"/v1/uploads/{status['upload_id']}/invoice", headers=Keys.header(uploader.keys.sponsor)
    )
    assert invoice.status_code == 404, invoice.text
    assert "amount_total" in invoice.json()["detail"]


async def test_each_bad_sponsor_row_is_reported_and_all_or_nothing_writes_nothing(uploader: Uploader) -> None:
    rows = [
        sponsor_row(),  # row 2
        sponsor_row(amount="16800"),  # row 3: one month's amount for three months
        sponsor_row(amount="Rp50.400"),  # row 4: not digits
        sponsor_row(months=("2025-03", "2025-01")),  # row 5
        [*sponsor_row()[:5], "JHT", *sponsor_row()[6:]],  # row 6: JKK and JKM are required
    ]
    head = await uploader.head()
    status = await uploader.run(sponsor_csv(rows), key=uploader.keys.sponsor, kind="sponsor_roster")
    assert status["status"] == "failed"
    assert await uploader.head() == head
    # row 2 was good, but a failed upload paid no one: its outcome does not count it as paid
    outcome = status["outcome"]
    assert outcome["written"] is False
    counted = ("registered", "enrolled", "paid", "amount_total")
    assert [outcome[name] for name in counted] == [0, 0, 0, 0], outcome
    errors = await uploader.errors(status["upload_id"], key=uploader.keys.sponsor)
    assert {(e["row"], e["column"], e["code"]) for e in errors} == {
        ("3", "amount", "amount_mismatch"),
        ("4", "amount", "invalid_amount"),
        ("5", "months_to", "months_to_before_months_from"),
        ("6", "programs", "invalid_programs"),
    }
    assert "expected" in next(e for e in errors if e["row"] == "3")["message"]


async def test_accept_valid_keeps_the_good_sponsor_rows(uploader: Uploader) -> None:
    good = nik(born=date(1985, 3, 12), female=False)
    rows = [sponsor_row(good), sponsor_row(amount="1")]
    status = await uploader.run(
        sponsor_csv(rows), key=uploader.keys.sponsor, kind="sponsor_roster", policy="accept_valid"
    )
    assert status["status"] == "succeeded"
    assert (status["rows_accepted"], status["rows_rejected"]) == (1, 1)
    assert (await coverage_of(uploader.client, uploader.keys, good, "2025-03-31"))["status"] == "covered"
    nothing_valid = await uploader.run(
        sponsor_csv([sponsor_row(amount="1")]),
        key=uploader.keys.sponsor,
        kind="sponsor_roster",
        policy="accept_valid",
    )
    assert (nothing_valid["status"], nothing_valid["problem"]["code"]) == ("failed", "rows_rejected")
    assert "no row was valid" in nothing_valid["problem"]["message"]


async def test_the_2026_relief_does_not_apply_to_a_regional_budget(uploader: Uploader) -> None:
    # May 2026, sector other: Rp8,400 for a member paying themselves, but an APBD payer pays in full
    relieved = sponsor_row(months=("2026-05", "2026-05"), amount="8400", budget="APBD")
    full = sponsor_row(months=("2026-05", "2026-05"), amount="16800", budget="APBD")
    status = await uploader.run(
        sponsor_csv([relieved, full]), key=uploader.keys.sponsor, kind="sponsor_roster", policy="accept_valid"
    )
    errors = await uploader.errors(status["upload_id"], key=uploader.keys.sponsor)
    assert [(e["row"], e["code"]) for e in errors] == [("2", "amount_mismatch")]
    assert status["rows_accepted"] == 1


async def test_a_committee_cannot_upload_a_sponsor_roster(uploader: Uploader) -> None:
    response = await uploader.post(sponsor_csv([sponsor_row()]), kind="sponsor_roster")
    assert response.status_code == 403


async def test_a_sponsor_file_with_month_first_dates_is_refused_whole(uploader: Uploader) -> None:
    misread = sponsor_row()
    misread[-2] = "1/10/2025"  # paid_on: 1 October read day first, 10 January meant
    telling = sponsor_row()
    telling[-2] = "1/13/2025"
    head = await uploader.head()
    status = await uploader.run(
        sponsor_csv([misread, telling]),
        key=uploader.keys.sponsor,
        kind="sponsor_roster",
        policy="accept_valid",
    )
    assert (status["status"], status["problem"]["code"]) == ("failed", "month_first_dates"), status
    assert await uploader.head() == head
    errors = await uploader.errors(status["upload_id"], key=uploader.keys.sponsor)
    rows_with_errors = len({e["row"] for e in errors if e["row"] != "0"})
    assert (status["rows_total"], status["rows_rejected"], status["rows_accepted"]) == (
        2,
        rows_with_errors,
        0,
    ), status


async def test_a_sponsor_payment_dated_after_today_is_a_row_error(uploader: Uploader) -> None:
    later = sponsor_row()
    later[-2] = "2099-01-10"  # paid_on
    status = await uploader.run(
        sponsor_csv([sponsor_row(), later]),
        key=uploader.keys.sponsor,
        kind="sponsor_roster",
        policy="accept_valid",
    )
    assert (status["status"], status["rows_accepted"], status["rows_rejected"]) == ("succeeded", 1, 1), status
    errors = await uploader.errors(status["upload_id"], key=uploader.keys.sponsor)
    assert [(e["row"], e["code"]) for e in errors] == [("3", "day_in_future")]


async def test_a_sponsor_row_phone_is_checked_too(uploader: Uploader) -> None:
    header = [*SPONSOR_HEADER, "phone"]
    rows = [[*sponsor_row(), "081234567890"], [*sponsor_row(), "81234567890"]]
    status = await uploader.run(
        roster_csv(rows, delimiter=";", header=header),
        key=uploader.keys.sponsor,
        kind="sponsor_roster",
        policy="accept_valid",
    )
    errors = await uploader.errors(status["upload_id"], key=uploader.keys.sponsor)
    assert [(e["row"], e["column"], e["code"]) for e in errors] == [("3", "phone", "phone_leading_zero_lost")]


async def test_a_worker_whose_membership_lies_outside_the_sponsors_region_is_told_so_without_where(
    uploader: Uploader,
) -> None:
    person = nik(born=date(1985, 3, 12), female=False)
    membership = enrolled_bpu(person, event_id=f"bpu-{person}", valid_from="2025-01-01") | {
        "region_code": "32.01.01"
    }
    response = await uploader.client.post(
        "/v1/events",
        json={"events": [registered(person, region="32.01.01"), membership]},
        headers=Keys.header(uploader.keys.admin),
    )
    assert response.status_code == 200, response.text
    status = await uploader.run(
        sponsor_csv([sponsor_row(person)]),
        key=uploader.keys.sponsor,
        kind="sponsor_roster",
        policy="accept_valid",
    )
    errors = await uploader.errors(status["upload_id"], key=uploader.keys.sponsor)
    assert [(e["row"], e["column"], e["code"]) for e in errors] == [("2", "nik", "membership_outside_region")]
    assert "32" not in errors[0]["message"]
    assert status["rows_accepted"] == 0


async def test_a_sponsor_row_born_in_a_year_to_come_is_refused(uploader: Uploader) -> None:
    # 120385 fits 12 March 1985 and 12 March 2085 alike
    row = sponsor_row(nik(born=date(1985, 3, 12), female=False), born=date(2085, 3, 12))
    status = await uploader.run(sponsor_csv([row]), key=uploader.keys.sponsor, kind="sponsor_roster")
    errors = await uploader.errors(status["upload_id"], key=uploader.keys.sponsor)
    assert [(e["column"], e["code"]) for e in errors] == [("birth_date", "day_in_future")]


async def test_a_sponsor_row_refused_by_the_membership_rules_names_its_column(uploader: Uploader) -> None:
    """The second row pays January again: the refusal points at its months."""
    person = nik(born=date(1985, 3, 12), female=False)
    first = sponsor_row(person)
    again = sponsor_row(person, months=("2025-01", "2025-01"), amount="16800")
    status = await uploader.run(
        sponsor_csv([first, again]), key=uploader.keys.sponsor, kind="sponsor_roster", policy="accept_valid"
    )
    errors = await uploader.errors(status["upload_id"], key=uploader.keys.sponsor)
    assert [(e["row"], e["column"], e["code"]) for e in errors] == [
        ("3", "months_from", "month_already_paid")
    ]


async def test_rows_that_say_otherwise_than_the_membership_are_paid_and_pointed_out(
    uploader: Uploader,
) -> None:
    """A worker already a member is paid for against the membership in force, which a roster does
    not change: rows giving another region, income or sector say so in the outcome."""
    days = [date(1985, 3, 12 + i) for i in range(3)]
    same, moved, richer = (nik(born=day, female=False) for day in days)

    def row(person: str, day: date, **changes: Any) -> list[str]:
        return sponsor_row(person, born=day, **changes)

    first = await uploader.run(
        sponsor_csv([row(p, d) for p, d in zip((same, moved, richer), days, strict=True)]),
        key=uploader.keys.sponsor,
        kind="sponsor_roster",
    )
    assert first["status"] == "succeeded", await uploader.errors(
        first["upload_id"], key=uploader.keys.sponsor
    )
    april: dict[str, Any] = {"months": ("2025-04", "2025-04"), "amount": "16800"}
    elsewhere = row(moved, days[1], **april)
    elsewhere[4] = "16.71.02"
    rows = [
        row(same, days[0], **april),  # row 2: as enrolled
        elsewhere,  # row 3: another district
        row(richer, days[2], income="900000", sector="transport", **april),  # row 4
    ]
    second = await uploader.run(sponsor_csv(rows), key=uploader.keys.sponsor, kind="sponsor_roster")
    assert second["status"] == "succeeded", await uploader.errors(
        second["upload_id"], key=uploader.keys.sponsor
    )
    outcome = second["outcome"]
    assert (outcome["enrolled"], outcome["paid"]) == (0, 3)
    assert outcome["rows_differing_from_membership"] == 2
    assert outcome["rows_differing_from_membership_first"] == [3, 4]


async def test_a_row_refused_for_its_amount_pays_nothing_so_the_next_row_may_pay_those_months(
    uploader: Uploader,
) -> None:
    person = nik(born=date(1985, 3, 12), female=False)
    wrong = sponsor_row(person, months=("2025-01", "2025-02"), amount="70000")
    right = sponsor_row(person, months=("2025-02", "2025-03"), amount="33600")
    status = await uploader.run(
        sponsor_csv([wrong, right]), key=uploader.keys.sponsor, kind="sponsor_roster", policy="accept_valid"
    )
    errors = await uploader.errors(status["upload_id"], key=uploader.keys.sponsor)
    assert [(e["row"], e["code"]) for e in errors] == [("2", "amount_mismatch")]
    assert (status["rows_accepted"], status["rows_rejected"]) == (1, 1)
    assert (await coverage_of(uploader.client, uploader.keys, person, "2025-03-15"))["status"] == "covered"


async def test_a_month_a_spreadsheet_turned_into_its_first_day_is_that_month(uploader: Uploader) -> None:
    """Typed as 2025-01 into a spreadsheet cell, a month comes back as the date 2025-01-01."""
    row = sponsor_row()
    row[8], row[9] = "2025-01-01", "2025-03-01"  # months_from, months_to
    wrong = sponsor_row()
    wrong[8] = "2025-01-15"  # a day inside a month is no month
    status = await uploader.run(
        sponsor_csv([row, wrong]), key=uploader.keys.sponsor, kind="sponsor_roster", policy="accept_valid"
    )
    assert (status["rows_accepted"], status["rows_rejected"]) == (1, 1), status
    errors = await uploader.errors(status["upload_id"], key=uploader.keys.sponsor)
    assert [(e["row"], e["column"], e["code"]) for e in errors] == [("3", "months_from", "invalid_month")]


async def test_a_payment_restated_as_recorded_is_a_duplicate_not_a_month_paid_twice(
    uploader: Uploader,
) -> None:
    """Found by a probe: a sponsor's file repeating last upload's rows with one new row failed
    whole (month_already_paid) and counted no duplicate, where an officer roster counts its
    unchanged rows. A restatement with another amount is still refused."""
    born = date(1985, 3, 12)  # sponsor_row's man
    first, second, newcomer = (nik(born=born, female=False) for _ in range(3))
    rows = [sponsor_row(first), sponsor_row(second)]
    sent = await uploader.run(sponsor_csv(rows), key=uploader.keys.sponsor, kind="sponsor_roster")
    assert sent["status"] == "succeeded", sent
    head = await uploader.head()
    again = await uploader.run(
        sponsor_csv([*rows, sponsor_row(newcomer)]), key=uploader.keys.sponsor, kind="sponsor_roster"
    )
    assert (again["status"], again["rows_accepted"], again["rows_duplicate"]) == ("succeeded", 1, 2), again
    assert (again["outcome"]["paid"], again["outcome"]["amount_total"]) == (1, 50_400), again
    assert await uploader.head() == head + 1
    assert (await coverage_of(uploader.client, uploader.keys, newcomer, "2025-02-15"))["status"] == "covered"
    other_amount = await uploader.run(
        sponsor_csv([sponsor_row(first, amount="50401")]), key=uploader.keys.sponsor, kind="sponsor_roster"
    )
    assert other_amount["status"] == "failed", other_amount
    codes = {e["code"] for e in await uploader.errors(other_amount["upload_id"], key=uploader.keys.sponsor)}
    assert codes & {"month_already_paid", "amount_mismatch"}, codes


@pytest.mark.parametrize("chunk_rows", [1, 2_000])
async def test_a_row_repeated_in_its_own_file_is_a_month_paid_twice_wherever_it_falls(
    uploader: Uploader, monkeypatch: pytest.MonkeyPatch, chunk_rows: int
) -> None:
    """Found by a review: the second copy of a row, in a later chunk, counted as a duplicate of
    the payment the file's own first copy had just written, where in the same chunk it failed."""
    monkeypatch.setattr(sponsor_job, "CHUNK_ROWS", chunk_rows)
    row = sponsor_row(nik(born=date(1985, 3, 12), female=False))
    status = await uploader.run(sponsor_csv([row, row]), key=uploader.keys.sponsor, kind="sponsor_roster")
    assert (status["status"], status["rows_duplicate"]) == ("failed", 0), status


async def test_a_nul_in_an_upload_option_names_the_option(uploader: Uploader) -> None:
    """Found by a review: the upload reads its own options, past the query check for NULs."""
    response = await uploader.client.post(
        "/v1/uploads?committee=KPU%00x",
        files={"file": ("r.csv", sponsor_csv([sponsor_row()]))},
        headers=Keys.header(uploader.keys.admin),
    )
    assert response.status_code == 422, response.text
    assert (response.json()["errors"][0]["code"], response.json()["errors"][0]["field"]) == (
        "nul_character",
        "committee",
    )


async def test_a_row_naming_a_registered_worker_otherwise_is_paid_and_said(uploader: Uploader) -> None:
    """Found by a probe: a row giving a registered worker another name was paid without a word,
    where an officer roster counts rows_differing_from_registration (the first sign of a wrong
    NIK). The registration stays as it was."""
    worker = nik(born=date(1985, 3, 12), female=False)
    office = await uploader.client.post(
        "/v1/events",
        json={
            "events": [registered(worker) | {"name": "Siti Aminah", "birth_date": "1985-03-12", "sex": "M"}]
        },
        headers=Keys.header(uploader.keys.office),
    )
    assert office.status_code == 200, office.text
    # the same name in other case and spacing is the same name, as in an officer roster
    spaced = nik(born=date(1985, 3, 12), female=False)
    same = await uploader.client.post(
        "/v1/events",
        json={
            "events": [
                registered(spaced) | {"name": "Budi\u00a0Santoso", "birth_date": "1985-03-12", "sex": "M"}
            ]
        },
        headers=Keys.header(uploader.keys.office),
    )
    assert same.status_code == 200, same.text
    shouted = sponsor_row(spaced)
    shouted[1] = "BUDI  SANTOSO"
    status = await uploader.run(
        sponsor_csv([sponsor_row(worker), sponsor_row(nik(born=date(1985, 3, 12), female=False)), shouted]),
        key=uploader.keys.sponsor,
        kind="sponsor_roster",
    )
    assert status["status"] == "succeeded", status
    outcome = status["outcome"]
    assert (
        outcome["rows_differing_from_registration"],
        outcome["rows_differing_from_registration_first"],
    ) == (
        1,
        [2],
    ), outcome


async def test_a_workers_rows_count_in_the_order_of_their_months_not_of_the_file(uploader: Uploader) -> None:
    """Found by a probe: April to June before January to March had the new membership begin in
    April and refused January's row; in the other order both were paid."""
    worker = nik(born=date(1985, 3, 12), female=False)
    rows = [
        sponsor_row(worker, months=("2025-04", "2025-06")),
        sponsor_row(worker, months=("2025-01", "2025-03")),
    ]
    status = await uploader.run(sponsor_csv(rows), key=uploader.keys.sponsor, kind="sponsor_roster")
    assert (status["status"], status["rows_accepted"]) == ("succeeded", 2), status
    for day in ("2025-02-15", "2025-05-15"):
        assert (await coverage_of(uploader.client, uploader.keys, worker, day))["status"] == "covered", day


async def test_a_refusal_resting_on_a_day_the_row_left_empty_says_the_upload_day_was_taken(
    uploader: Uploader,
) -> None:
    """Found by a BPU probe: a row for past months without registered_on or paid_on was refused
    as if its file had given today's date."""
    undated = [*sponsor_row()[:-2], "", ""]
    status = await uploader.run(
        sponsor_csv([undated]), key=uploader.keys.sponsor, kind="sponsor_roster", policy="accept_valid"
    )
    [error] = await uploader.errors(status["upload_id"], key=uploader.keys.sponsor)
    assert error["code"] == "before_membership", error
    assert "registered_on was left empty, so the upload's day was taken" in error["message"]


async def test_a_row_for_a_worker_already_enrolled_is_not_told_of_its_registered_on(
    uploader: Uploader,
) -> None:
    """Found by a review: the row enrols nobody, so its empty registered_on plays no part."""
    first = sponsor_row(months=("2025-03", "2025-03"), amount="16800")
    await uploader.run(sponsor_csv([first]), key=uploader.keys.sponsor, kind="sponsor_roster")
    earlier = [*sponsor_row(first[0], months=("2025-01", "2025-02"), amount="33600")[:-1], ""]
    status = await uploader.run(
        sponsor_csv([earlier]), key=uploader.keys.sponsor, kind="sponsor_roster", policy="accept_valid"
    )
    [error] = await uploader.errors(status["upload_id"], key=uploader.keys.sponsor)
    assert error["code"] == "before_membership", error
    assert "left empty" not in error["message"]
