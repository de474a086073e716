"""Officer roster uploads through the API, end to end on the live app (real commits)."""

import logging
from pathlib import Path

import pytest

from coverage_ledger.domain.access import Role
from tests.rosters import Uploader, officer_row, roster_csv
from tests.support import committed_key, coverage_of, nik


async def test_a_valid_roster_enrols_every_officer_in_one_tx(uploader: Uploader) -> None:
    people = [nik() for _ in range(3)]
    head = await uploader.head()
    status = await uploader.run(roster_csv([officer_row(p) for p in people]))
    assert status["status"] == "succeeded", status
    assert (status["rows_total"], status["rows_accepted"], status["rows_rejected"]) == (3, 3, 0)
    assert status["tx_seq"] == head + 1
    assert status["outcome"]["registered"] == 3
    covered = await coverage_of(uploader.client, uploader.keys, people[0], "2024-02-23")
    assert covered["status"] == "covered"
    after = await coverage_of(uploader.client, uploader.keys, people[0], "2024-02-24")
    assert after["status"] == "term_ended"


async def test_the_log_says_what_an_upload_and_a_key_did(
    uploader: Uploader, fresh_database: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Found by a probe: the server's log had no line when an upload started or while it ran,
    and none when a key was created or revoked."""
    # (the import command quiets coverage_ledger.uploads in its own process: set here as a server has it)
    with (
        caplog.at_level(logging.INFO),
        caplog.at_level(logging.INFO, logger="coverage_ledger.uploads"),
        caplog.at_level(logging.INFO, logger="coverage_ledger.auth"),
    ):
        status = await uploader.run(roster_csv([officer_row()]))
        await committed_key(fresh_database, name="logged", role=Role.AUDITOR)
    upload = status["upload_id"]
    said = caplog.messages
    steps = [m.split(", ")[0] for m in said if m.startswith(f"upload {upload}: ")]
    assert steps[:2] == [f"upload {upload}: validating", f"upload {upload}: committing"], said
    assert "key logged created: role auditor, region national, organisation -, expires never" in said
    assert not any("clk_" in m and "clk_********" not in m for m in said)


async def test_every_bad_row_is_reported_with_its_excel_row_and_code_and_nothing_is_written(
    uploader: Uploader,
) -> None:
    good = officer_row()
    rows = [
        good,  # row 2
        officer_row("3.27101250190000E+15"),  # row 3: Excel scientific notation
        officer_row("167101450190001"),  # row 4: a lost leading digit (15 digits)
        officer_row(role="KETUA"),  # row 5: unknown role
        officer_row(region="16.71.99"),  # row 6: unknown region
        officer_row(term=("2024-02-23", "2024-01-25")),  # row 7: term_end before term_start
        [*officer_row()[:2], "1991-01-05", *officer_row()[3:]],  # row 8: birth date disagrees
        [*officer_row()[:3], "L", *officer_row()[4:]],  # row 9: NIK encodes a woman
        [good[0], "Siti", *good[2:6], "2024-01-26", good[7], good[8]],  # row 10: same NIK, other term
        ["1671014501900099", "only three", "cells"],  # row 11: wrong column count
        officer_row(term=("25/01/2024", "23/02/2024")),  # row 12: day-first dates are fine
    ]
    head = await uploader.head()
    status = await uploader.run(roster_csv(rows))
    assert status["status"] == "failed"
    assert status["problem"]["code"] == "rows_rejected"
    assert (status["rows_total"], status["rows_rejected"]) == (11, 9)
    assert status["tx_seq"] is None
    assert await uploader.head() == head
    errors = await uploader.errors(status["upload_id"])
    found = {(int(e["row"]), e["code"]) for e in errors}
    assert found == {
        (3, "nik_scientific_notation"),
        (4, "nik_digit_missing"),
        (5, "unknown_role"),
        (6, "unknown_region"),
        (7, "term_end_before_start"),
        (8, "birth_date_mismatch_nik"),
        (9, "sex_mismatch_nik"),
        (10, "duplicate_nik"),
        (11, "wrong_column_count"),
    }
    assert next(e for e in errors if e["row"] == "10")["column"] == "nik"
    assert "row 2" in next(e for e in errors if e["row"] == "10")["message"]


async def test_accept_valid_with_no_valid_row_fails(uploader: Uploader) -> None:
    """Found by a probe: every row rejected read as `succeeded` with nothing written."""
    head = await uploader.head()
    status = await uploader.run(
        roster_csv([officer_row("12345"), officer_row(role="")]), policy="accept_valid"
    )
    assert (status["status"], status["rows_accepted"], status["rows_rejected"]) == ("failed", 0, 2), status
    assert status["problem"]["code"] == "rows_rejected"
    assert "no row was valid" in status["problem"]["message"]
    assert await uploader.head() == head


async def test_accept_valid_commits_the_good_rows_and_reports_the_rest(uploader: Uploader) -> None:
    people = [nik() for _ in range(4)]
    rows = [officer_row(p) for p in people] + [officer_row("12345"), officer_row(role="")]
    status = await uploader.run(roster_csv(rows), policy="accept_valid")
    assert status["status"] == "succeeded", status
    assert (status["rows_accepted"], status["rows_rejected"]) == (4, 2)
    assert status["tx_seq"] is not None
    assert {e["row"] for e in await uploader.errors(status["upload_id"])} == {"6", "7"}
    for person in people:
        assert (await coverage_of(uploader.client, uploader.keys, person, "2024-02-01"))[
            "status"
        ] == "covered"


async def test_a_dry_run_validates_everything_and_writes_nothing(uploader: Uploader) -> None:
    person = nik()
    head = await uploader.head()
    status = await uploader.run(roster_csv([officer_row(person), officer_row("1")]), dry_run="true")
    assert status["status"] == "succeeded" and status["dry_run"] is True
    assert (status["rows_accepted"], status["rows_rejected"], status["tx_seq"]) == (1, 1, None)
    assert await uploader.head() == head
    response = await uploader.client.get(
        f"/v1/persons/{person}/coverage", headers={"Authorization": f"Bearer {uploader.keys.office}"}
    )
    assert response.status_code == 404


async def test_the_same_file_again_returns_the_original_upload_and_writes_nothing(uploader: Uploader) -> None:
    content = roster_csv([officer_row() for _ in range(3)])
    first = await uploader.run(content)
    head = await uploader.head()
    again = await uploader.post(content)
    assert again.status_code == 200
    assert again.json()["upload_id"] == first["upload_id"]
    await uploader.app.state.upload_runner.wait_idle()
    assert await uploader.head() == head


async def test_rows_already_in_the_ledger_count_as_duplicates(uploader: Uploader) -> None:
    rows = [officer_row() for _ in range(3)]
    await uploader.run(roster_csv(rows))
    head = await uploader.head()
    # the same rows in another file (one more row): only the new one is written
    status = await uploader.run(roster_csv([*rows, officer_row()]))
    assert status["status"] == "succeeded"
    assert (status["rows_accepted"], status["rows_duplicate"]) == (1, 3)
    assert status["tx_seq"] == head + 1


async def test_semicolons_a_bom_and_crlf_are_read_like_any_csv(uploader: Uploader) -> None:
    person = nik()
    content = roster_csv([officer_row(person)], delimiter=";", bom=True, crlf=True)
    status = await uploader.run(content)
    assert status["status"] == "succeeded", status
    assert (await coverage_of(uploader.client, uploader.keys, person, "2024-02-01"))["status"] == "covered"


async def test_excels_separator_hint_line_names_the_delimiter_and_is_no_row(uploader: Uploader) -> None:
    person = nik()
    rows = [officer_row(person), officer_row(role="KETUA")]
    content = b"sep=;\r\n" + roster_csv(rows, delimiter=";", crlf=True)
    status = await uploader.run(content, policy="accept_valid")
    assert status["status"] == "succeeded", status
    errors = await uploader.errors(status["upload_id"])
    # Excel hides the hint: the header is row 1, the bad officer row 3
    assert [(e["row"], e["code"]) for e in errors] == [("3", "unknown_role")]
    assert (await coverage_of(uploader.client, uploader.keys, person, "2024-02-01"))["status"] == "covered"


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"nik,name,birth_date,sex,role,region_code,term_start,term_end\n", "no_rows"),
        (b"nomor,nama\n1,2\n", "wrong_header"),
        (b"\x00\x01\x02\x03binary\x00junk" * 20, "binary_file"),
        ("nik,name,birth_date,sex,role,region_code,term_start,term_end\n".encode("utf-16-le"), "utf16_text"),
        ("nik,name,birth_date,sex,role,region_code,term_start,term_end\n".encode("utf-16-be"), "utf16_text"),
        ("nik,name,birth_date,sex,role,region_code,term_start,term_end\n".encode("utf-32"), "utf32_text"),
        (b"\xef\xbb\xbf\r\n \r\n", "empty_file"),
        (
            b"nik,name,birth_date,sex,role,region_code,term_start,term_end\n" + b"\xff\xfe bad\n",
            "not_utf8",
        ),
        (b"\n,,,\nnik,name\n", "wrong_header"),
        (b"Daftar Anggota KPPS Kecamatan Ilir Barat II,,,\nnik,name\n", "wrong_header"),
    ],
    ids=[
        "header-only",
        "wrong-header",
        "binary",
        "utf16-le-no-bom",
        "utf16-be-no-bom",
        "utf32-with-bom",
        "blank",
        "not-utf8",
        "blank-first-row",
        "title-row",
    ],
)
async def test_an_unreadable_file_fails_as_a_whole_with_a_clear_code(
    uploader: Uploader, content: bytes, code: str
) -> None:
    head = await uploader.head()
    status = await uploader.run(content)
    assert status["status"] == "failed"
    assert status["problem"]["code"] == code, status["problem"]
    errors = await uploader.errors(status["upload_id"])
    assert [(e["row"], e["code"]) for e in errors] == [("0", code)]
    assert await uploader.head() == head
    if content.startswith(b"Daftar"):
        assert "a title: the header" in status["problem"]["message"]


async def test_an_empty_or_missing_file_is_refused_at_once(uploader: Uploader) -> None:
    empty = await uploader.post(b"")
    assert empty.status_code == 422
    assert empty.json()["errors"][0]["code"] == "empty_file"
    missing = await uploader.client.post(
        "/v1/uploads",
        data={"kind": "officer_roster"},
        files={"other": ("x.csv", b"abc")},
        headers={"Authorization": f"Bearer {uploader.keys.committee}"},
    )
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "file"


async def test_a_file_over_the_limit_is_413_and_leaves_nothing_on_disk(
    uploader: Uploader, tmp_path: Path
) -> None:
    too_big = b"x" * (uploader.app.state.upload_settings.max_bytes + 1)
    response = await uploader.post(too_big)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert list((tmp_path / "uploads").glob("*")) == []


async def test_wrong_roles_committees_and_regions_are_refused(uploader: Uploader) -> None:
    content = roster_csv([officer_row()])
    auditor = await uploader.post(content, key=uploader.keys.auditor)
    assert auditor.status_code == 403
    other_committee = await uploader.post(content, committee="KPU-32.73")
    assert other_committee.status_code == 403
    assert other_committee.json()["errors"][0]["code"] == "committee_mismatch"
    bad_policy = await uploader.post(content, policy="some")
    assert bad_policy.status_code == 422 and bad_policy.json()["errors"][0]["field"] == "policy"
    # found by a web probe: a roster's enrolments took a committee the events API refuses (> 500)
    head = await uploader.head()
    too_long = await uploader.post(content, key=uploader.keys.office, committee="K" * 501)
    assert too_long.status_code == 422, too_long.text
    assert too_long.json()["errors"][0] == {
        "field": "committee",
        "code": "too_long",
        "message": "at most 500 characters",
    }
    assert await uploader.head() == head
    # the committee key is limited to 16.71: a row in West Java is a row error
    status = await uploader.run(roster_csv([officer_row(region="32.73.01")]))
    errors = await uploader.errors(status["upload_id"])
    assert [(e["row"], e["code"]) for e in errors] == [("2", "region_out_of_scope")]


async def test_others_see_an_upload_only_within_their_scope(uploader: Uploader) -> None:
    status = await uploader.run(roster_csv([officer_row()]))
    upload = status["upload_id"]
    for key, expected in [
        (uploader.keys.admin, 200),
        (uploader.keys.auditor, 200),
        (uploader.keys.office, 200),
        (uploader.keys.other_office, 404),
        (uploader.keys.sponsor, 404),
    ]:
        response = await uploader.client.get(
            f"/v1/uploads/{upload}", headers={"Authorization": f"Bearer {key}"}
        )
        assert response.status_code == expected, key
    listing = await uploader.client.get(
        "/v1/uploads", headers={"Authorization": f"Bearer {uploader.keys.committee}"}
    )
    assert [u["upload_id"] for u in listing.json()["items"]] == [upload]


async def test_an_organisation_name_alone_does_not_show_an_upload(
    uploader: Uploader, fresh_database: str
) -> None:
    """Any key may be created with any organisation name: a sponsor key, or a committee key of
    another region, that bears the committee's name sees none of its uploads."""
    same_name_sponsor = await committed_key(
        fresh_database, name="test-namesake-sponsor", role=Role.SPONSOR, region="16", organisation="KPU-16.71"
    )
    same_name_elsewhere = await committed_key(
        fresh_database, name="test-namesake-31", role=Role.COMMITTEE, region="31", organisation="KPU-16.71"
    )
    status = await uploader.run(roster_csv([officer_row()]))
    upload = status["upload_id"]
    for key in (same_name_sponsor, same_name_elsewhere):
        for path in (
            f"/v1/uploads/{upload}",
            f"/v1/uploads/{upload}/errors",
            f"/v1/uploads/{upload}/invoice",
        ):
            response = await uploader.client.get(path, headers={"Authorization": f"Bearer {key}"})
            assert response.status_code == 404, (path, response.text)
        listing = await uploader.client.get("/v1/uploads", headers={"Authorization": f"Bearer {key}"})
        assert listing.status_code == 200 and listing.json()["items"] == []


async def test_an_overlap_with_an_enrolment_outside_the_region_is_reported_without_details(
    uploader: Uploader,
) -> None:
    person = nik()
    national = await uploader.run(
        roster_csv([officer_row(person, region="32.73.01")]), key=uploader.keys.admin, committee="KPU-32.73"
    )
    assert national["status"] == "succeeded", national
    status = await uploader.run(roster_csv([officer_row(person, term=("2024-02-01", "2024-02-10"))]))
    errors = await uploader.errors(status["upload_id"])
    assert [(e["row"], e["code"]) for e in errors] == [("2", "overlapping_enrolment")]
    assert "outside your region" in errors[0]["message"]
    assert "KPU-32.73" not in errors[0]["message"]


async def test_known_persons_are_enrolled_again_without_a_second_registration(uploader: Uploader) -> None:
    people = [nik() for _ in range(3)]
    await uploader.run(roster_csv([officer_row(p) for p in people]))
    later = [officer_row(p, term=("2024-11-07", "2024-12-08"), registered_on="2024-11-01") for p in people]
    status = await uploader.run(roster_csv(later))
    assert status["status"] == "succeeded", status
    assert status["outcome"]["registered"] == 0 and status["rows_accepted"] == 3
    answer = await coverage_of(uploader.client, uploader.keys, people[0], "2024-11-20")
    assert answer["status"] == "covered"


async def test_a_row_repeating_a_refused_row_is_refused_too(uploader: Uploader) -> None:
    person = nik()
    first = await uploader.run(roster_csv([officer_row(person)]))
    assert first["status"] == "succeeded", first
    clash = officer_row(person, term=("2024-02-01", "2024-02-10"))
    status = await uploader.run(roster_csv([officer_row(), clash, clash, clash]), policy="accept_valid")
    assert status["status"] == "succeeded", status
    assert (status["rows_accepted"], status["rows_rejected"], status["rows_duplicate"]) == (1, 3, 0)
    errors = await uploader.errors(status["upload_id"])
    assert [(e["row"], e["code"]) for e in errors] == [
        ("3", "overlapping_enrolment"),
        ("4", "repeats_rejected_row"),
        ("5", "repeats_rejected_row"),
    ]
    # each repeat names the row the ledger refused, not the repeat before it (mutation testing)
    assert all("this row repeats row 3, which was refused" in e["message"] for e in errors[1:]), errors
    # its own committee's term: the way out is a replacing upload, said in the clerk's words
    assert "overlaps the KPPS term of KPU-16.71, 25 Jan 2024 – 23 Feb 2024" in errors[0]["message"]
    assert "upload with mode=replace_roster" in errors[0]["message"]


async def test_a_file_not_in_utf8_names_the_line_at_fault(uploader: Uploader) -> None:
    """The text reader decodes ahead of the rows: the row it reached is not the one at fault."""
    rows = [officer_row() for _ in range(500)]
    rows[400][1] = "Sit\N{LATIN SMALL LETTER I WITH ACUTE}"
    content = roster_csv(rows)
    at_fault = content.index("Sit\N{LATIN SMALL LETTER I WITH ACUTE}".encode())
    broken = (
        content[:at_fault]
        + "Sit\N{LATIN SMALL LETTER I WITH ACUTE}".encode("cp1252")
        + content[at_fault + 5 :]
    )
    status = await uploader.run(broken)
    assert status["problem"]["code"] == "not_utf8"
    assert "from line 402 on" in status["problem"]["message"], status["problem"]


async def test_the_readme_example_roster_fails_as_the_readme_shows(uploader: Uploader) -> None:
    example = Path(__file__).parents[1] / "docs" / "examples" / "kpps-ilir-barat.csv"
    status = await uploader.run(example.read_bytes())
    assert (status["status"], status["rows_total"], status["rows_rejected"]) == ("failed", 11, 9)
    errors = await uploader.errors(status["upload_id"])
    assert [(e["row"], e["code"]) for e in errors] == [
        ("3", "nik_scientific_notation"),
        ("4", "nik_digit_missing"),
        ("5", "nik_unknown_district"),
        ("6", "birth_date_mismatch_nik"),
        ("7", "unknown_role"),
        ("8", "region_out_of_scope"),
        ("9", "term_end_before_start"),
        ("10", "invalid_date"),
        ("11", "invalid_sex"),
    ]


async def test_kept_row_errors_do_not_repeat_a_birth_date(uploader: Uploader) -> None:
    """Row errors are kept with the upload, out of an erasure's reach: they name the column and the
    NIK's date, never the birth date or name typed."""
    rows = [
        [*officer_row()[:2], "1977-07-07", *officer_row()[3:]],
        [*officer_row()[:2], "31/02/1977", *officer_row()[3:]],
        [*officer_row()[:2], "07/07/1877", *officer_row()[3:]],
        [officer_row()[0], '="Siti 1977"', *officer_row()[2:]],
    ]
    status = await uploader.run(roster_csv(rows))
    errors = await uploader.errors(status["upload_id"])
    assert [(e["column"], e["code"]) for e in errors] == [
        ("birth_date", "birth_date_mismatch_nik"),
        ("birth_date", "invalid_date"),
        ("birth_date", "date_out_of_range"),
        ("name", "formula_cell"),
    ]
    assert not any(typed in e["message"] for e in errors for typed in ("1977", "31/02", "1877")), errors
