"""The upload request itself: its options wherever they are sent, a body cut short, two files,
cells that used to fail a whole upload, and a twin committed under another key region."""

import logging
import os
import stat
from collections.abc import MutableMapping
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from httpx import Response

from coverage_ledger.uploads.formats import open_xlsx
from coverage_ledger.uploads.importing import copy_and_hash
from tests.rosters import (
    HEADER,
    Uploader,
    many_officers,
    officer_row,
    roster_csv,
    roster_xlsx,
    sponsor_csv,
    sponsor_row,
)
from tests.support import Keys, asgi_post_scope, nik

BOUNDARY = "----ledger-test-boundary"


def _multipart(*parts: tuple[str, str | None, bytes], close: bool = True) -> bytes:
    body = b""
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + content + b"\r\n"
    if close:
        body += f"--{BOUNDARY}--\r\n".encode()
    return body


async def _post_raw(up: Uploader, body: bytes, query: str = "") -> Response:
    return await up.client.post(
        f"/v1/uploads{query}",
        content=body,
        headers=Keys.header(up.keys.committee)
        | {"content-type": f"multipart/form-data; boundary={BOUNDARY}"},
    )


async def test_a_body_cut_before_its_closing_boundary_is_refused_and_kept_nowhere(
    uploader: Uploader, tmp_path: Path
) -> None:
    head = await uploader.head()
    rows = roster_csv([officer_row(nik()) for _ in range(3)])
    response = await _post_raw(uploader, _multipart(("file", "r.csv", rows), close=False))
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["code"] == "incomplete_body"
    assert list((tmp_path / "uploads").glob("*")) == []
    assert await uploader.head() == head


async def test_a_client_that_goes_away_mid_upload_is_no_server_error(
    uploader: Uploader, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Found by a privacy probe: a client dropping its connection mid-file was logged as a 500
    with two tracebacks at ERROR."""
    head = await uploader.head()
    body = _multipart(("file", "r.csv", roster_csv([officer_row(nik()) for _ in range(50)])))
    arriving: list[dict[str, Any]] = [
        {"type": "http.request", "body": body[: len(body) // 2], "more_body": True},
        {"type": "http.disconnect"},
    ]
    headers = Keys.header(uploader.keys.committee) | {
        "content-type": f"multipart/form-data; boundary={BOUNDARY}"
    }
    scope = asgi_post_scope("/v1/uploads", headers)
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return arriving.pop(0) if arriving else {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    with caplog.at_level(logging.INFO):
        await uploader.app(scope, receive, send)
    assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [400]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert list((tmp_path / "uploads").glob("*")) == []
    assert await uploader.head() == head


async def test_a_boundary_longer_than_the_rfc_allows_is_400(uploader: Uploader) -> None:
    """Found by a probe: the multipart parser refused a boundary of 5,000 characters as it was
    built, before the request's errors were caught (a 500 and a dropped connection)."""
    boundary = "b" * 5_000
    body = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="r.csv"\r\n\r\n'.encode()
    body += roster_csv([officer_row(nik())]) + f"\r\n--{boundary}--\r\n".encode()
    response = await uploader.client.post(
        "/v1/uploads",
        content=body,
        headers=Keys.header(uploader.keys.committee)
        | {"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0] == {
        "code": "bad_boundary",
        "message": "the boundary is longer than 70 characters",
        "field": "file",
    }


async def test_two_files_in_one_upload_are_refused(uploader: Uploader, tmp_path: Path) -> None:
    rows = roster_csv([officer_row(nik())])
    response = await _post_raw(uploader, _multipart(("file", "a.csv", rows), ("file", "b.csv", rows)))
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["code"] == "several_files"
    assert list((tmp_path / "uploads").glob("*")) == []


async def test_options_may_come_as_query_parameters_and_unknown_ones_are_refused(
    uploader: Uploader, tmp_path: Path
) -> None:
    head = await uploader.head()
    rows = roster_csv([officer_row(nik())])
    dry = await _post_raw(uploader, _multipart(("file", "r.csv", rows)), "?dry_run=true")
    assert dry.status_code == 202, dry.text
    await uploader.app.state.upload_runner.wait_idle()
    status = await uploader.status(dry.json()["upload_id"])
    assert status["dry_run"] is True and status["outcome"]["written"] is False
    for query, code in [("?bogus=1", "unknown_parameter"), ("?dry_run=false", "conflicting_parameter")]:
        body = _multipart(("dry_run", None, b"true"), ("file", "r.csv", rows))
        refused = await _post_raw(uploader, body, query)
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["code"] == code
    repeated = _multipart(("dry_run", None, b"true"), ("dry_run", None, b"false"), ("file", "r.csv", rows))
    refused = await _post_raw(uploader, repeated)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0] == {
        "code": "conflicting_parameter",
        "message": "the field is repeated",
        "field": "dry_run",
    }
    assert await uploader.head() == head
    assert list((tmp_path / "uploads").glob("*")) == []


async def test_a_misspelt_form_field_is_refused_not_ignored(uploader: Uploader, tmp_path: Path) -> None:
    """`dryrun=true` unread would have written the file as a real upload."""
    head = await uploader.head()
    rows = roster_csv([officer_row(nik())])
    refused = await _post_raw(uploader, _multipart(("dryrun", None, b"true"), ("file", "r.csv", rows)))
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0] == {
        "code": "unknown_parameter",
        "message": "'dryrun' is not an upload option",
        "field": "dryrun",
    }
    assert await uploader.head() == head
    assert list((tmp_path / "uploads").glob("*")) == []


async def test_a_sponsor_roster_cannot_be_sent_to_replace(uploader: Uploader) -> None:
    """replace_roster is a committee roster's mode; a sponsor roster's would have been ignored."""
    head = await uploader.head()
    response = await uploader.post(
        sponsor_csv([sponsor_row(nik())]),
        kind="sponsor_roster",
        mode="replace_roster",
        key=uploader.keys.sponsor,
    )
    assert response.status_code == 422, response.text
    error = response.json()["errors"][0]
    assert (error["code"], error["field"]) == ("invalid_choice", "mode")
    assert await uploader.head() == head


async def test_a_bad_flag_leaves_no_file_behind(uploader: Uploader, tmp_path: Path) -> None:
    response = await uploader.post(roster_csv([officer_row(nik())]), dry_run="maybe")
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "invalid_boolean"
    assert list((tmp_path / "uploads").glob("*")) == []


async def test_cells_out_of_any_plausible_range_are_row_errors(uploader: Uploader) -> None:
    # distinct NIKs: `nik()` counts serials modulo 10,000, and 1,504 calls may wrap into a repeat
    extra = [nik(born=date(1985, 6, 7), serial=9001 + i) for i in range(4)]
    nul_name = officer_row(extra[3], born=date(1985, 6, 7))
    nul_name[1] = "Nul\x00Name"
    rows = [
        *many_officers(1500),
        officer_row(extra[0], born=date(1985, 6, 7), term=("2024-01-25", "9999-12-31")),  # row 1502
        officer_row(extra[1], born=date(1985, 6, 7), term=("0001-01-25", "2024-02-23")),  # row 1503
        officer_row(extra[2], born=date(1985, 6, 7), term=("2024-W04-4", "2024-02-23")),  # row 1504
        nul_name,  # row 1505: past the first 64 KiB the file's NUL sniffing reads
    ]
    status = await uploader.run(roster_csv(rows), policy="accept_valid")
    assert status["status"] == "succeeded", status
    errors = await uploader.errors(status["upload_id"])
    assert sorted((e["row"], e["column"], e["code"]) for e in errors) == [
        ("1502", "term_end", "date_out_of_range"),
        ("1503", "term_start", "date_out_of_range"),
        ("1504", "term_start", "invalid_date"),
        ("1505", "name", "invalid_character"),
    ]
    assert status["rows_accepted"] == 1500


@pytest.mark.parametrize(
    ("column", "value", "code"),
    [("months_to", "9999-12", "date_out_of_range"), ("amount", "9" * 40, "invalid_amount")],
)
async def test_sponsor_cells_out_of_range_are_row_errors(
    uploader: Uploader, column: str, value: str, code: str
) -> None:
    person = nik()
    cells = {
        "nik": person,
        "name": "Budi",
        "birth_date": "1990-01-05",
        "sex": "P",
        "region_code": "16.71.01",
        "programs": "JKK JKM",
        "declared_income": "1000000",
        "sector": "other",
        "months_from": "2025-01",
        "months_to": "2025-01",
        "amount": "16800",
    }
    cells[column] = value
    content = (",".join(cells) + "\n" + ",".join(cells.values()) + "\n").encode()
    status = await uploader.run(
        content, key=uploader.keys.sponsor, kind="sponsor_roster", policy="accept_valid"
    )
    errors = await uploader.errors(status["upload_id"], key=uploader.keys.sponsor)
    assert [(e["row"], e["column"], e["code"]) for e in errors] == [("2", column, code)], status


async def test_a_committed_file_is_a_twin_only_for_a_key_of_the_same_region(uploader: Uploader) -> None:
    content = roster_csv([officer_row(nik())])
    first = await uploader.run(content)
    assert first["status"] == "succeeded"
    same = await uploader.post(content)
    assert same.status_code == 200 and same.json()["upload_id"] == first["upload_id"]
    other = await uploader.post(content, key=uploader.keys.other_office, committee="KPU-16.71")
    assert other.status_code == 202, other.text
    assert other.json()["upload_id"] != first["upload_id"]
    await uploader.app.state.upload_runner.wait_idle()
    errors = await uploader.errors(other.json()["upload_id"], key=uploader.keys.other_office)
    assert [e["code"] for e in errors] == ["region_out_of_scope"]


async def test_a_formula_in_a_csv_is_an_error_of_its_row(uploader: Uploader) -> None:
    formula = officer_row(nik())
    formula[1] = "=HYPERLINK(1)"
    status = await uploader.run(roster_csv([officer_row(nik()), formula]), policy="accept_valid")
    assert status["status"] == "succeeded" and status["rows_accepted"] == 1
    errors = await uploader.errors(status["upload_id"])
    assert [(e["row"], e["column"], e["code"]) for e in errors] == [("3", "name", "formula_cell")]


async def test_a_header_is_read_past_unnamed_columns_and_a_blank_first_row_is_named(
    uploader: Uploader,
) -> None:
    rows = roster_csv([officer_row(nik())]).decode()
    header, rest = rows.split("\n", 1)
    trailing = (header + ",,\n" + rest).encode()  # a spreadsheet's formatted but empty columns
    assert (await uploader.run(trailing))["status"] == "succeeded"
    # an unnamed column in the middle is passed over while empty; what it holds is not read, so a
    # row with something there is a row error (value_without_header), not enrolled without it
    row, other = officer_row(nik()), officer_row(nik())
    middle = roster_csv(
        [[*row[:2], "", *row[2:]], [*other[:2], "=SUM(A1)", *other[2:]]],
        header=[*HEADER[:2], "", *HEADER[2:]],
    )
    status = await uploader.run(middle, policy="accept_valid")
    assert (status["status"], status["rows_accepted"]) == ("succeeded", 1), status
    [error] = await uploader.errors(status["upload_id"])
    assert (error["row"], error["code"]) == ("3", "value_without_header")
    blank = await uploader.run(("\n" + header + "\n" + rest).encode())
    assert blank["problem"]["code"] == "wrong_header"
    assert "first row is empty" in blank["problem"]["message"]


async def test_a_huge_cell_is_quoted_by_its_first_characters(uploader: Uploader) -> None:
    row = officer_row(nik(), role="X" * 100_000)
    status = await uploader.run(roster_csv([row]))
    (error,) = await uploader.errors(status["upload_id"])
    assert error["code"] == "unknown_role"
    assert len(error["message"]) < 200


async def test_the_same_nik_twice_with_another_name_is_an_error_not_a_repeat(uploader: Uploader) -> None:
    person = nik()
    first, second = officer_row(person, name="Siti Aminah"), officer_row(person, name="Siti Rahma")
    status = await uploader.run(roster_csv([first, second, first]), policy="accept_valid")
    errors = await uploader.errors(status["upload_id"])
    assert [(e["row"], e["code"]) for e in errors] == [("3", "duplicate_nik")]
    assert (status["rows_accepted"], status["rows_duplicate"]) == (1, 1)
    # it says which values differ (found by a probe: it listed every column that might), never
    # the values themselves (kept errors hold no personal data)
    assert "with other values (name)" in errors[0]["message"], errors
    assert "Siti" not in errors[0]["message"]
    moved = officer_row(person, term=("2024-01-26", "2024-02-24"), region="16.71.02")
    errors = await uploader.errors((await uploader.run(roster_csv([first, moved])))["upload_id"])
    assert "with other values (region_code, term_start, term_end)" in errors[0]["message"], errors


async def test_a_dry_run_that_would_write_nothing_says_so(uploader: Uploader) -> None:
    officers = await uploader.run(
        roster_csv([officer_row(role="KETUA")]), policy="accept_valid", dry_run="true"
    )
    assert officers["outcome"]["would_commit"] is False
    sponsor = await uploader.run(
        sponsor_csv([sponsor_row(amount="Rp1")]),
        key=uploader.keys.sponsor,
        kind="sponsor_roster",
        policy="accept_valid",
        dry_run="true",
    )
    assert sponsor["outcome"]["would_commit"] is False


async def test_rosters_on_disk_are_readable_by_the_service_alone(uploader: Uploader, tmp_path: Path) -> None:
    """Found by a privacy probe: a queued roster (names, birth dates, phones) lay readable by every
    local user, as the process umask left it. A folder the service makes is its user's alone; one
    the operator made is left as it is (it may be shared), and the files in it are private."""
    folder = tmp_path / "uploads"
    assert not folder.exists()
    status = await uploader.run(roster_csv([officer_row(nik())]), dry_run="true")
    assert status["status"] == "succeeded"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    previous = os.umask(0o022)
    try:
        copied = tmp_path / "shared" / "copy.upload"
        copied.parent.mkdir(mode=0o755)
        source = tmp_path / "roster.csv"
        source.write_bytes(roster_csv([officer_row(nik())]))
        copy_and_hash(source, copied)
        workbook = tmp_path / "roster.xlsx"
        workbook.write_bytes(roster_xlsx(tmp_path / "book.xlsx", [HEADER, officer_row(nik())]))
        converted = tmp_path / "shared" / "roster.csv-from-xlsx"
        open_xlsx(workbook, converted).close()
    finally:
        os.umask(previous)
    assert stat.S_IMODE(copied.parent.stat().st_mode) == 0o755
    assert [stat.S_IMODE(p.stat().st_mode) for p in (copied, converted)] == [0o600, 0o600]


async def test_the_row_count_is_unknown_until_the_file_is_read(uploader: Uploader) -> None:
    """Found by an integrator's probe: a dry run being read showed `rows_done` 40000 of
    `rows_total` 0, and a client's progress bar divided by it."""
    response = await uploader.post(roster_csv([officer_row(nik()) for _ in range(3)]), dry_run="true")
    assert response.status_code == 202, response.text
    assert (response.json()["status"], response.json()["rows_total"]) == ("queued", None)
    await uploader.app.state.upload_runner.wait_idle()
    done = await uploader.status(response.json()["upload_id"])
    assert (done["status"], done["rows_total"], done["rows_done"]) == ("succeeded", 3, 3)
    empty = await uploader.run(",".join(HEADER).encode() + b"\n", dry_run="true")
    assert (empty["status"], empty["rows_total"]) == ("failed", 0)  # known: a file of no rows


async def test_a_file_sent_as_something_else_than_a_form_is_415_as_json_sent_as_a_form_is(
    uploader: Uploader,
) -> None:
    """Found by an integrator's probe: the upload answered 400 where the JSON operations answer 415."""
    for media in ("application/json", "text/csv"):
        response = await uploader.client.post(
            "/v1/uploads",
            content=roster_csv([officer_row(nik())]),
            headers=Keys.header(uploader.keys.committee) | {"content-type": media},
        )
        assert response.status_code == 415, response.text
        body = response.json()
        assert body["type"] == "/problems/unsupported-media-type"
        assert body["errors"][0]["code"] == "not_multipart" and media in body["detail"]
    # a form without its boundary is a form that cannot be read, not another media type
    no_boundary = await uploader.client.post(
        "/v1/uploads",
        content=b"--x\r\n",
        headers=Keys.header(uploader.keys.committee) | {"content-type": "multipart/form-data"},
    )
    assert no_boundary.status_code == 400 and no_boundary.json()["errors"][0]["code"] == "bad_boundary"
