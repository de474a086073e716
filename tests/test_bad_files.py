"""The bad files corpus (tests/data/): each roster is refused with a clear error, nothing is
written to the ledger, and the server keeps answering."""

import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter

from tests.rosters import HEADER, Uploader, officer_row, roster_csv, roster_xlsx
from tests.support import nik

DATA = Path(__file__).parent / "data"
EXPECTED = {
    "truncated.csv": "unreadable_csv",
    "windows-1252.csv": "not_utf8",
    "nul-bytes.csv": "binary_file",
    "duplicate-headers.csv": "wrong_header",
    "header-only.csv": "no_rows",
    "zip-bomb.xlsx": "xlsx_unpacks_too_large",
    "password-protected.xlsx": "encrypted_workbook",
}
"""A part of the code that names what is wrong (in the problem or in the row errors)."""


async def _refused(up: Uploader, content: bytes, filename: str) -> str:
    """Upload; assert it failed and wrote nothing; the codes it gave, as one string."""
    head = await up.head()
    status = await up.run(content, filename=filename)
    assert status["status"] == "failed", (filename, status)
    assert status["rows_accepted"] == 0 or status["tx_seq"] is None, status
    assert await up.head() == head, f"{filename} wrote to the ledger"
    codes = [status["problem"]["code"]] if status.get("problem") else []
    codes += [e["code"] for e in await up.errors(status["upload_id"])]
    assert codes, status
    health = await up.client.get("/healthz")
    assert health.status_code == 200
    return " ".join(codes)


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_each_file_of_the_corpus_is_refused_and_writes_nothing(uploader: Uploader, name: str) -> None:
    codes = await _refused(uploader, (DATA / name).read_bytes(), name)
    assert EXPECTED[name] in codes, codes


async def test_a_ten_megabyte_single_line_and_a_formula_are_refused(
    uploader: Uploader, tmp_path: Path
) -> None:
    line = b"nik,name," + b"x" * (10 * 1024 * 1024) + b"\n"
    assert "unreadable_csv" in await _refused(uploader, line, "one-line.csv")
    formula = roster_xlsx(tmp_path / "formula.xlsx", [officer_row()], formula_at=(1, 1))
    assert "formula_cell" in await _refused(uploader, formula, "formula.xlsx")


async def test_a_nul_in_an_xlsx_cell_is_named_by_its_cell(uploader: Uploader, tmp_path: Path) -> None:
    """Found by a probe: the NUL passed into the CSV the workbook is converted to, and the whole
    upload failed as `binary_file`, "not CSV text", of a file sent as XLSX."""
    row = officer_row()
    row[HEADER.index("name")] = "Siti\x00Aminah"
    workbook = roster_xlsx(tmp_path / "nul.xlsx", [officer_row(), row])
    status = await uploader.run(workbook, filename="nul.xlsx")
    assert status["status"] == "failed", status
    cell = f"{chr(ord('A') + HEADER.index('name'))}3"
    assert status["problem"] == {
        "code": "nul_in_cell",
        "message": f"cell {cell} of the first sheet holds a NUL character; delete it and upload again",
    }


async def test_a_header_with_a_huge_name_and_a_nul_past_the_first_64_kb_fails_and_ends(
    uploader: Uploader,
) -> None:
    """The NUL lies past the bytes sniffed for binary files, inside a column name the problem
    names: the message is escaped and cut, and the upload ends `failed` (it stayed `validating`)."""
    header = ",".join([*HEADER, "y" * 70_000, "x\x00y"])
    row = ",".join([*officer_row(), "", ""])
    content = f"{header}\n{row}\n".encode()
    codes = await _refused(uploader, content, "odd-header.csv")
    assert "wrong_header" in codes
    status = await uploader.run(content, filename="odd-header-again.csv", dry_run="true")
    assert status["status"] == "failed" and len(status["problem"]["message"]) < 3_000, status


async def test_a_file_not_utf8_is_told_by_the_line_at_fault_and_utf16_by_name(uploader: Uploader) -> None:
    """The windows-1252 file's header is plain ASCII; its curly apostrophe is on line 2."""
    status = await uploader.run((DATA / "windows-1252.csv").read_bytes(), filename="w.csv")
    assert "from line 2 on" in status["problem"]["message"], status
    utf16 = ("\ufeff" + ",".join(HEADER) + "\r\n" + ",".join(officer_row()) + "\r\n").encode("utf-16-le")
    status = await uploader.run(utf16, filename="unicode.txt.csv")
    assert status["problem"]["code"] == "utf16_text", status


async def test_a_stray_quote_mark_says_how_to_quote(uploader: Uploader) -> None:
    row = officer_row()
    line = ",".join([row[0], '"Ucok" Muhammad', *row[2:]])
    content = (",".join(HEADER) + "\n" + line + "\n").encode()
    status = await uploader.run(content, filename="quote.csv", policy="accept_valid")
    assert status["problem"]["code"] == "unreadable_csv", status
    assert status["problem"]["message"].startswith("row 2: ")
    assert 'must be doubled ("")' in status["problem"]["message"]


async def test_a_formula_in_an_xlsx_is_a_row_error_as_in_a_csv(uploader: Uploader, tmp_path: Path) -> None:
    """Found by a probe: one formula cell failed a whole XLSX even under accept_valid, where a
    CSV's `=16800` is an error of its row. Row 3 (the second officer) holds `=1+1` as its name."""
    officers = [officer_row(nik()) for _ in range(3)]
    workbook = roster_xlsx(tmp_path / "formula-row.xlsx", officers, formula_at=(2, 1))
    status = await uploader.run(workbook, filename="formula-row.xlsx", policy="accept_valid")
    assert (status["status"], status["rows_accepted"], status["rows_rejected"]) == ("succeeded", 2, 1)
    errors = await uploader.errors(status["upload_id"])
    assert [(e["row"], e["column"], e["code"]) for e in errors] == [("3", "name", "formula_cell")]
    assert "=1+1" not in errors[0]["message"]  # a name column: its content is not repeated


async def test_an_old_excel_workbook_is_named_as_such(uploader: Uploader) -> None:
    """Found by a probe: a real .xls (an OLE2 compound file) was "binary data, not CSV text"."""
    workbook = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + b"Workbook" + bytes(1024)
    assert "old_excel_file" in await _refused(uploader, workbook, "daftar-kpps.xls")


def _roster_sheet(workbook: xlsxwriter.Workbook, name: str, rows: list[list[str]]) -> Any:
    sheet = workbook.add_worksheet(name)
    for index, row in enumerate([HEADER, *rows]):
        for column, value in enumerate(row):
            sheet.write_string(index, column, value)
    return sheet


async def test_a_workbook_whose_first_sheet_is_hidden_or_a_chart_is_refused(
    uploader: Uploader, tmp_path: Path
) -> None:
    """The roster is read from the first sheet (DESIGN.md). Found by a probe: a hidden first sheet
    (last election's roster) was enrolled while the sheet the clerk saw was ignored."""
    path = tmp_path / "hidden.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    old = _roster_sheet(workbook, "Pemilu 2024 (lama)", [officer_row()])
    _roster_sheet(workbook, "Pilkada", [officer_row(term=("2024-10-01", "2024-11-30"))]).activate()
    old.hide()
    workbook.close()
    codes = await _refused(uploader, path.read_bytes(), "hidden.xlsx")
    assert "hidden_first_sheet" in codes, codes

    path = tmp_path / "chart.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    chart = workbook.add_chart({"type": "column"})
    chart.add_series({"values": "=Petugas!$A$2:$A$2"})
    workbook.add_chartsheet("Grafik").set_chart(chart)
    _roster_sheet(workbook, "Petugas", [officer_row()])
    workbook.close()
    assert "first_sheet_not_a_table" in await _refused(uploader, path.read_bytes(), "chart.xlsx")


async def test_a_roster_on_a_later_sheet_is_told_which_sheet_was_read(
    uploader: Uploader, tmp_path: Path
) -> None:
    path = tmp_path / "instructions.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    workbook.add_worksheet("Petunjuk").write_string(0, 0, "Petunjuk pengisian: satu baris per petugas")
    _roster_sheet(workbook, "Daftar Petugas", [officer_row()])
    workbook.close()
    status = await uploader.run(path.read_bytes(), filename="instructions.xlsx")
    assert status["problem"]["code"] == "wrong_header", status
    assert (
        "its first sheet, here 'Petunjuk': if the roster is on it, its header must be row 1; else move "
        "the roster's sheet to the front" in status["problem"]["message"]
    )


async def test_other_formats_saved_under_a_roster_name_are_named_as_what_they_are(
    uploader: Uploader, tmp_path: Path
) -> None:
    """Found by a probe: an .ods was 'no readable first sheet', a web page saved as .xls was read
    as a CSV with a title row, and a Mac Roman file with CR line ends blamed its ASCII header."""
    ods = tmp_path / "roster.ods"
    with zipfile.ZipFile(ods, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<office:document-content/>")
    assert "opendocument_file" in await _refused(uploader, ods.read_bytes(), "roster.ods")
    page = b'<html xmlns:x="urn:schemas-microsoft-com:office:excel"><body><table><tr><th>nik</th></tr>'
    assert "markup_file" in await _refused(uploader, page, "roster.xls")
    row = ",".join(officer_row(name="D\u00e9sir\u00e9")).encode("mac_roman")
    mac = ",".join(HEADER).encode() + b"\r" + row + b"\r"
    status = await uploader.run(mac, filename="mac.csv")
    assert status["problem"]["code"] == "not_utf8", status
    assert "from line 2 on" in status["problem"]["message"], status


async def test_a_space_in_a_far_corner_of_the_sheet_is_named_not_read(
    uploader: Uploader, tmp_path: Path
) -> None:
    """Found by a probe: one space typed at AZ1048576 made a 3-row workbook take 38 s and 1.7 GB
    to read, and at XFD1048576 the reader crashed ('could not be read'). Formatting alone that far
    costs nothing and is read as before."""
    path = tmp_path / "corner.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    _roster_sheet(workbook, "Petugas", [officer_row()]).write_string(1_048_575, 16_383, " ")
    workbook.close()
    head = await uploader.head()
    status = await uploader.run(path.read_bytes(), filename="corner.xlsx")
    assert (status["status"], status["problem"]["code"]) == ("failed", "sheet_too_large"), status
    assert "cell XFD1048576" in status["problem"]["message"], status
    assert await uploader.head() == head

    path = tmp_path / "formatted.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    sheet = _roster_sheet(workbook, "Petugas", [officer_row()])
    sheet.write_blank(1_048_575, 16_383, None, workbook.add_format({"bold": True}))
    workbook.close()
    status = await uploader.run(path.read_bytes(), filename="formatted.xlsx")
    assert (status["status"], status["rows_accepted"]) == ("succeeded", 1), status


async def test_rows_a_sheet_hides_are_read_and_named_in_the_outcome(
    uploader: Uploader, tmp_path: Path
) -> None:
    """Rows hidden by a filter (or by hand) are part of the file: they are read like the others,
    and the outcome names them, so a clerk who saw a filtered sheet learns what was sent. A hidden
    row with nothing in it is no row of the roster."""
    path = tmp_path / "filtered.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    sheet = _roster_sheet(workbook, "Petugas", [officer_row() for _ in range(3)])
    sheet.autofilter(0, 0, 3, len(HEADER) - 1)
    sheet.set_row(2, None, None, {"hidden": True})  # the second officer, sheet row 3
    sheet.set_row(9, None, None, {"hidden": True})  # an empty row below the roster
    workbook.close()
    status = await uploader.run(path.read_bytes(), filename="filtered.xlsx")
    assert (status["status"], status["rows_accepted"]) == ("succeeded", 3), status
    assert status["outcome"]["rows_hidden_in_sheet"] == 1
    assert status["outcome"]["rows_hidden_in_sheet_first"] == [3]
    plain = tmp_path / "plain.xlsx"
    workbook = xlsxwriter.Workbook(str(plain))
    _roster_sheet(workbook, "Petugas", [officer_row()])
    workbook.close()
    unhidden = await uploader.run(plain.read_bytes(), filename="plain.xlsx")
    assert unhidden["status"] == "succeeded" and "rows_hidden_in_sheet" not in unhidden["outcome"]


def _with_error_values(path: Path, cells: dict[tuple[int, int], str]) -> bytes:
    """An XLSX roster whose given cells hold spreadsheet errors as values (a failed VLOOKUP
    pasted as values: `<c t="e"><v>#N/A</v></c>`, no formula), which the reader gives as empty."""
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("Roster")
    rows = [HEADER, *(officer_row(nik()) for _ in range(3))]
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if (r, c) in cells:
                sheet.write_formula(r, c, "=NA()", None, cells[(r, c)])
            else:
                sheet.write_string(r, c, value)
    workbook.close()
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    part = "xl/worksheets/sheet1.xml"
    parts[part] = re.sub(rb"<f>[^<]*</f>", b"", parts[part])
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return path.read_bytes()


async def test_error_values_in_cells_are_row_errors_not_empty_cells(
    uploader: Uploader, tmp_path: Path
) -> None:
    """Found by a probe: `#N/A` in the optional registered_on column read as empty, so the 2024
    officer was registered on the upload's day and never covered; in a required column it read
    as "is empty". Rows 3 and 4 hold #N/A as registered_on and #REF! as the name."""
    registered_on = HEADER.index("registered_on")
    workbook = _with_error_values(tmp_path / "errors.xlsx", {(2, registered_on): "#N/A", (3, 1): "#REF!"})
    status = await uploader.run(workbook, filename="errors.xlsx", policy="accept_valid")
    assert (status["status"], status["rows_accepted"], status["rows_rejected"]) == ("succeeded", 1, 2)
    errors = await uploader.errors(status["upload_id"])
    assert [(e["row"], e["column"], e["code"]) for e in errors] == [
        ("3", "registered_on", "error_cell"),
        ("4", "name", "error_cell"),
    ]
    assert "#N/A" in errors[0]["message"]
    # a CSV saved by Excel writes the error's text: the same row error
    row = officer_row(nik())
    row[HEADER.index("term_end")] = "#VALUE!"
    csv_status = await uploader.run(roster_csv([officer_row(nik()), row]), filename="errors.csv")
    assert csv_status["status"] == "failed"
    assert [(e["row"], e["column"], e["code"]) for e in await uploader.errors(csv_status["upload_id"])] == [
        ("3", "term_end", "error_cell")
    ]


async def test_a_value_under_a_blank_header_cell_is_a_row_error(uploader: Uploader) -> None:
    """Found by a probe: "BATAL" (cancelled) written in a column with no header name, or the
    second half of a name under a merged header cell, was dropped and the row enrolled. Empty
    cells there (a formatted column) are still fine."""
    header = [*HEADER[:2], "", *HEADER[2:]]
    cancelled, kept = officer_row(nik()), officer_row(nik())
    rows = [[*cancelled[:2], "BATAL", *cancelled[2:]], [*kept[:2], "", *kept[2:]]]
    status = await uploader.run(roster_csv(rows, header=header), filename="notes.csv", policy="accept_valid")
    assert (status["status"], status["rows_accepted"], status["rows_rejected"]) == ("succeeded", 1, 1)
    [error] = await uploader.errors(status["upload_id"])
    assert (error["row"], error["code"]) == ("2", "value_without_header")
    # not repeated: an unnamed column may hold personal data
    assert "after name" in error["message"] and "BATAL" not in error["message"]


async def test_blank_rows_above_an_xlsx_header_are_not_told_to_move_the_sheet(
    uploader: Uploader, tmp_path: Path
) -> None:
    """Found by a probe: a header on row 3 of the first sheet was told "move the roster's sheet
    to the front", though the roster was there."""
    path = tmp_path / "gap.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("Roster")
    for r, row in enumerate([HEADER, officer_row(nik())], start=2):
        for c, value in enumerate(row):
            sheet.write_string(r, c, value)
    workbook.close()
    status = await uploader.run(path.read_bytes(), filename="gap.xlsx")
    assert status["problem"]["code"] == "wrong_header", status
    assert "first row is empty" in status["problem"]["message"]
    assert "if the roster is on it, its header must be row 1" in status["problem"]["message"]
