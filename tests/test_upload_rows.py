"""Roster rows without a database: the fast canonical texts equal the generic canonical JSON, and
each malformed cell gets its own code."""

import zipfile
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coverage_ledger.canonical import canonical_json, event_digest
from coverage_ledger.errors import ErrorItem
from coverage_ledger.ledger.preparation import registration_payload, vault_fields
from coverage_ledger.uploads.dates import parse_day
from coverage_ledger.uploads.formats import FileRejected
from coverage_ledger.uploads.officer_events import enrolment_texts, registration_texts
from coverage_ledger.uploads.officer_rows import OfficerRow, RosterContext, check_header, check_officer_row
from coverage_ledger.uploads.parsing import read_chunk
from coverage_ledger.uploads.row_layout import row_values
from coverage_ledger.uploads.xlsx_to_csv import cell_text, convert, formula_cells

CONTEXT = RosterContext(
    committee="KPU-16.71",
    key_region_prefix="16.71",
    regions={"16.71", "16.71.01", "16.71.01.1001", "32.73.01"},
    districts={"16.71.01"},
    event_prefix="abc",
)

free_text = st.text(min_size=1, max_size=40)
days = st.dates(min_value=date(1950, 1, 1), max_value=date(2030, 12, 31))


@given(
    name=free_text,
    phone=st.none() | free_text,
    birth=st.none() | days,
    registered=st.none() | days,
    committee=free_text,
    start=days,
    salt=st.binary(min_size=32, max_size=32),
)
def test_the_fast_event_texts_are_the_canonical_json_of_the_events(
    name: str,
    phone: str | None,
    birth: date | None,
    registered: date | None,
    committee: str,
    start: date,
    salt: bytes,
) -> None:
    row = OfficerRow(
        7,
        "1671014501900001",
        "F",
        birth,
        name,
        phone,
        "KPPS",
        "16.71.01",
        start,
        start + timedelta(days=30),
        registered,
    )
    payload, digest, fields = registration_texts(row, "abc-7-p", salt)
    expected_fields = vault_fields(name, birth, phone)
    expected = registration_payload(
        nik=row.nik, region_code=row.region_code, sex="F", salt=salt, fields=expected_fields
    )
    assert fields == canonical_json(expected_fields)
    assert payload == canonical_json(expected)
    assert digest == event_digest("abc-7-p", "person.registered", expected)

    committee_context = RosterContext(committee, None, set(), set(), "abc")
    enrolment, enrolment_digest = enrolment_texts(row, "abc-7-o", committee_context.committee_json)
    document = {
        "committee": committee,
        "nik": row.nik,
        "programs": ["JKK", "JKM"],
        "region_code": row.region_code,
        "role": "KPPS",
        "valid_from": row.valid_from.isoformat(),
        "valid_to": row.valid_to.isoformat(),
    } | ({"registered_on": registered.isoformat()} if registered else {})
    assert enrolment == canonical_json(document)
    assert enrolment_digest == event_digest("abc-7-o", "officer.enrolled", document)


def _cells(**changes: str) -> dict[str, str]:
    cells = {
        "nik": "1671014501900001",
        "name": "Siti Aminah",
        "birth_date": "1990-01-05",
        "sex": "P",
        "role": "kpps",
        "region_code": "16.71.01",
        "term_start": "2024-01-25",
        "term_end": "2024-02-23",
    }
    return cells | changes


def _codes(**changes: str) -> list[tuple[str | None, str]]:
    outcome = check_officer_row(5, _cells(**changes), CONTEXT)
    assert isinstance(outcome, list)
    assert all(e.row == 5 for e in outcome)
    return [(e.column, e.code) for e in outcome]


def test_a_good_row_is_normalised_and_its_term_end_made_exclusive() -> None:
    row = check_officer_row(5, _cells(), CONTEXT)
    assert isinstance(row, OfficerRow)
    assert (row.role, row.sex, row.valid_to) == ("KPPS", "F", date(2024, 2, 24))


@pytest.mark.parametrize(
    ("phone", "code"),
    [
        ("0812-3456-7890", None),
        ("+62 812 3456 7890", None),
        ("(0711) 123456", None),
        ("6281234567890", None),
        ("81234567890", "phone_leading_zero_lost"),  # typed as a number: the 0 went
        ("TRUE", "invalid_phone"),
        ("1.00000000000000E+308", "invalid_phone"),
        ("08:30:00", "invalid_phone"),
        ("+1 555 0100", "invalid_phone"),
        ("0812", "invalid_phone"),
        ("+62 0812 3456 7890", "invalid_phone"),  # both prefixes
        ("0812-3456-7890 / 0813-1111-2222", "invalid_phone"),  # one number per cell
    ],
)
def test_a_phone_cell_is_an_indonesian_number_not_repeated_in_its_error(phone: str, code: str | None) -> None:
    outcome = check_officer_row(5, _cells(phone=phone), CONTEXT)
    if code is None:
        assert isinstance(outcome, OfficerRow) and outcome.phone == phone  # kept as typed
    else:
        assert isinstance(outcome, list)
        assert [(e.column, e.code) for e in outcome] == [("phone", code)]
        assert all(phone not in e.message for e in outcome)


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ({"sex": "Laki-laki", "nik": "1671010501900001"}, ("M", "KPPS", date(2024, 1, 25))),
        ({"sex": "Perempuan"}, ("F", "KPPS", date(2024, 1, 25))),
        ({"role": "Ketua KPPS"}, ("F", "KPPS", date(2024, 1, 25))),
        ({"role": "anggota  pps"}, ("F", "PPS", date(2024, 1, 25))),
        ({"role": "Sekretariat PPK"}, ("F", "SEKRETARIAT_PPK", date(2024, 1, 25))),
        ({"role": "sekretariat-pps"}, ("F", "SEKRETARIAT_PPS", date(2024, 1, 25))),
        ({"term_start": "25 Januari 2024"}, ("F", "KPPS", date(2024, 1, 25))),
        ({"term_start": "25-Jan-2024"}, ("F", "KPPS", date(2024, 1, 25))),
        ({"term_start": "2024/01/25"}, ("F", "KPPS", date(2024, 1, 25))),
        ({"term_start": "1 Pebruari 2024", "term_end": "23 Februari 2024"}, ("F", "KPPS", date(2024, 2, 1))),
    ],
)
def test_a_clerks_own_words_for_sex_role_and_dates_are_read(
    cells: dict[str, str], expected: tuple[str, str, date]
) -> None:
    row = check_officer_row(5, _cells(**cells), CONTEXT)
    assert isinstance(row, OfficerRow), row
    assert (row.sex, row.role, row.valid_from) == expected


@pytest.mark.parametrize("role", ["Ketua", "Ketua SEKRETARIAT", "Wakil KPPS"])
def test_a_post_alone_or_an_unknown_post_is_no_role(role: str) -> None:
    assert _codes(role=role) == [("role", "unknown_role")]


def test_a_dash_in_the_phone_cell_means_no_phone() -> None:
    outcome = check_officer_row(5, _cells(phone="-"), CONTEXT)
    assert isinstance(outcome, OfficerRow) and outcome.phone is None


@pytest.mark.parametrize(
    ("header", "said"),
    [
        (["nik\tname\tbirth_date"], "separated by tabs"),
        (["1671014501900001", "Siti Aminah", "1990-01-05"], "holds data, not the header"),
        # found by a probe: a `sep=;` line over a file written with commas read as a title
        (["nik,name,birth_date,sex,role,region_code,term_start,term_end"], "separated by ','"),
    ],
)
def test_a_header_that_is_not_one_says_why_without_repeating_data(header: list[str], said: str) -> None:
    with pytest.raises(ValueError, match=said) as refused:
        check_header(header)
    assert "Siti" not in str(refused.value) and "1671014501900001" not in str(refused.value)


def test_a_spreadsheet_day_number_is_told_as_such() -> None:
    outcome = check_officer_row(5, _cells(term_start="45316"), CONTEXT)
    assert isinstance(outcome, list)
    assert [(e.column, e.code) for e in outcome] == [("term_start", "date_as_number")]
    assert "day number" in outcome[0].message and "2024" not in outcome[0].message  # no value repeated
    birth = check_officer_row(5, _cells(birth_date="32878"), CONTEXT)  # 5 Jan 1990, not repeated
    assert isinstance(birth, list) and [e.code for e in birth] == ["date_as_number"]
    assert "1990" not in birth[0].message


def test_an_empty_role_or_region_is_empty_not_unknown() -> None:
    """Merged cells arrive as empty cells below their first row."""
    assert _codes(role="", region_code="") == [("role", "missing_value"), ("region_code", "missing_value")]


def test_each_bad_cell_has_its_own_code() -> None:
    assert _codes(nik="3.27101E+15") == [("nik", "nik_scientific_notation")]
    assert _codes(nik="1671014501900001.0") == [("nik", "nik_decimal_number")]
    assert _codes(nik="167101450190001") == [("nik", "nik_digit_missing")]
    assert _codes(nik="9999014501900001") == [("nik", "nik_unknown_district")]
    assert _codes(nik="1671019901900001") == [("nik", "nik_invalid_birth_date")]
    assert _codes(name="") == [("name", "missing_value")]
    assert _codes(sex="X") == [("sex", "invalid_sex")]
    assert _codes(sex="L") == [("sex", "sex_mismatch_nik")]
    assert _codes(birth_date="1990-05-01") == [("birth_date", "birth_date_mismatch_nik")]
    assert _codes(birth_date="05.01.90") == [("birth_date", "invalid_date")]
    assert _codes(role="Ketua") == [("role", "unknown_role")]
    assert _codes(region_code="16.71.99") == [("region_code", "unknown_region")]
    # another region's code, known or not, is only outside the key's region (a scope probe)
    assert _codes(region_code="16.99") == [("region_code", "region_out_of_scope")]
    assert _codes(region_code="327301") == [("region_code", "region_out_of_scope")]
    undotted = check_officer_row(5, _cells(region_code="167101"), CONTEXT)
    assert isinstance(undotted, list) and undotted[0].message.endswith("written with dots it is 16.71.01")
    regency = check_officer_row(5, _cells(region_code="1671"), CONTEXT)  # the key's own, not outside it
    assert isinstance(regency, list) and regency[0].message.endswith("written with dots it is 16.71")
    # a regency is no place an ad hoc body sits (found by a probe: a replace_roster row of 16.71
    # retracted the officers of every district of Palembang)
    assert _codes(region_code="16.71") == [("region_code", "region_not_district_or_village")]
    village = check_officer_row(5, _cells(region_code="16.71.01.1001"), CONTEXT)
    assert isinstance(village, OfficerRow) and village.region_code == "16.71.01.1001"
    assert _codes(region_code="32.73.01") == [("region_code", "region_out_of_scope")]
    assert _codes(term_end="2024-01-01") == [("term_end", "term_end_before_start")]
    assert _codes(term_start="") == [("term_start", "missing_value")]
    # found by a probe: a year mistyped (2042 for 2024) billed 218 officer months, and a birth
    # date of 2015 made a nine-year-old officer
    assert _codes(term_end="2042-02-23") == [("term_end", "term_too_long")]
    assert _codes(term_start="2021-01-25", term_end="2024-01-25") == [("term_end", "term_too_long")]
    three_years = check_officer_row(5, _cells(term_start="2021-01-25", term_end="2024-01-24"), CONTEXT)
    assert isinstance(three_years, OfficerRow), three_years
    quoted = check_officer_row(5, _cells(region_code="'16.71.01"), CONTEXT)  # a regression probe
    assert isinstance(quoted, OfficerRow) and quoted.region_code == "16.71.01", quoted
    assert _codes(nik="1671014501150001", birth_date="2015-01-05") == [("birth_date", "officer_too_young")]
    ppk = check_officer_row(5, _cells(term_start="2023-01-04", term_end="2024-04-04"), CONTEXT)
    # a Panwascam term across Pemilu and Pilkada 2024 (found by a review)
    panwascam = check_officer_row(
        5, _cells(role="PANWASCAM", term_start="2022-10-01", term_end="2025-01-27"), CONTEXT
    )
    assert isinstance(panwascam, OfficerRow), panwascam
    seventeen = check_officer_row(5, _cells(nik="1671014501070001", birth_date="2007-01-05"), CONTEXT)
    assert isinstance(ppk, OfficerRow) and isinstance(seventeen, OfficerRow)  # 17 on 25 January 2024
    assert len(_codes(nik="1", role="x", term_end="soon")) == 3
    # found by a probe: an invisible character, and a date-time cell, said as such
    assert _codes(nik="\u200b1671014501900001") == [("nik", "hidden_character")]
    for timed in ("2024-01-25 07:30", "2024-01-25T07:30:00", "25/01/2024 00:00:00", "2024-01-25 7.30 PM"):
        assert _codes(term_start=timed) == [("term_start", "date_with_time")], timed


def test_dates_are_iso_or_day_first() -> None:
    assert parse_day("2024-02-29") == date(2024, 2, 29)
    assert parse_day("29/02/2024") == date(2024, 2, 29)
    assert parse_day("5-1-2024") == date(2024, 1, 5)
    assert parse_day("2023-02-29") is None
    assert parse_day("01/13/2024") is None
    assert parse_day("٢٠٢٤-٠١-٠١") is None


def test_spreadsheet_cells_keep_the_form_that_shows_what_happened_to_them() -> None:
    assert cell_text(3271012501900001.0) == "3.27101250190000E+15"
    assert cell_text(16800.0) == "16800"
    assert cell_text(16.71) == "16.71"
    assert cell_text(date(2024, 1, 25)) == "2024-01-25"
    assert cell_text(None) == ""
    assert cell_text(True) == "TRUE"


def test_extra_empty_cells_are_ignored_and_missing_ones_are_an_error() -> None:
    positions = {"nik": 0, "name": 1}
    assert row_values(3, ["1671014501900001 ", "Siti", "", " "], positions) == {
        "nik": "1671014501900001",
        "name": "Siti",
    }
    short = row_values(3, ["1671014501900001"], positions)
    extra = row_values(4, ["1671014501900001", "Siti", "x"], positions)
    assert isinstance(short, ErrorItem) and short.code == "wrong_column_count" and short.row == 3
    assert isinstance(extra, ErrorItem) and extra.row == 4
    assert extra.message.startswith(
        "the row has 3 cells, the header 2: a value stands 1 cell(s) after the header's last column (name)"
    )
    assert "'x'" not in extra.message
    # a header written with ';' over rows written with ',' (found by a probe)
    commas = row_values(5, ["1671014501900001,Siti"], positions)
    assert isinstance(commas, ErrorItem) and "separated by ','" in commas.message


def test_a_leading_apostrophe_forcing_text_is_not_part_of_the_nik_a_date_or_a_phone() -> None:
    row = check_officer_row(5, _cells(nik="'1671014501900001"), CONTEXT)
    assert isinstance(row, OfficerRow) and row.nik == "1671014501900001"
    # found by a probe: '2024-01-25 and '081234567890 were invalid_date and invalid_phone
    typed = check_officer_row(5, _cells(term_start="'2024-01-25", phone="'081234567890"), CONTEXT)
    assert isinstance(typed, OfficerRow), typed
    assert (typed.valid_from, typed.phone) == (date(2024, 1, 25), "081234567890")


def test_a_row_registered_after_today_is_refused() -> None:
    today = RosterContext(
        "KPU-16.71", "16.71", CONTEXT.regions, CONTEXT.districts, "abc", recording_day=date(2026, 11, 27)
    )
    outcome = check_officer_row(5, _cells(registered_on="2026-11-28"), today)
    assert isinstance(outcome, list)
    assert [(e.column, e.code, e.message) for e in outcome] == [
        ("registered_on", "day_in_future", "registered_on is after today (2026-11-27)")
    ]
    assert isinstance(check_officer_row(5, _cells(registered_on="2026-11-27"), today), OfficerRow)


def test_a_birth_date_the_nik_allows_but_still_to_come_and_a_term_before_birth_are_row_errors() -> None:
    today = replace(CONTEXT, recording_day=date(2026, 11, 27))
    # 450190 fits 5 January 1990 and 5 January 2090 alike
    future = check_officer_row(5, _cells(birth_date="2090-01-05"), today)
    assert isinstance(future, list)
    assert [(e.column, e.code) for e in future] == [("birth_date", "day_in_future")]
    before = check_officer_row(5, _cells(term_start="1989-12-01", term_end="1989-12-20"), today)
    assert isinstance(before, list)
    assert [(e.column, e.code) for e in before] == [("term_start", "term_before_birth")]
    assert isinstance(check_officer_row(5, _cells(), today), OfficerRow)
    early = check_officer_row(5, _cells(registered_on="1989-06-01"), today)
    assert isinstance(early, list)
    assert [(e.column, e.code) for e in early] == [("registered_on", "registered_before_birth")]
    # a birth date that is not the NIK's is refused alone, not also measured against the term
    wrong = check_officer_row(5, _cells(birth_date="2030-01-05"), today)
    assert isinstance(wrong, list)
    assert [(e.column, e.code) for e in wrong] == [("birth_date", "birth_date_mismatch_nik")]


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_OFFICE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _workbook(path: Path, sheet: bytes) -> Path:
    """A workbook of one sheet, its XML as given: the least a reader opens."""
    content_types = (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", content_types)
        archive.writestr(
            "_rels/.rels",
            f'<Relationships xmlns="{_RELS}"><Relationship Id="rId1" '
            f'Type="{_OFFICE}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        archive.writestr(
            "xl/workbook.xml",
            f'<workbook xmlns="{_MAIN}" xmlns:r="{_OFFICE}"><sheets>'
            '<sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<Relationships xmlns="{_RELS}"><Relationship Id="rId1" Type="{_OFFICE}/worksheet" '
            'Target="worksheets/sheet1.xml"/></Relationships>',
        )
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    return path


def test_formula_cells_are_found_in_prefixed_and_shared_forms(tmp_path: Path) -> None:
    """Found by a review: a sheet written with an `x:` prefix (the .NET OpenXML SDK) hid its
    formulas once `</c>` alone marked a cell's end."""
    prefixed = _workbook(
        tmp_path / "x.xlsx",
        b'<x:worksheet><x:sheetData><x:row r="2"><x:c r="B2"><x:f>1+1</x:f><x:v>2</x:v></x:c>'
        b'<x:c r="C2" t="n"><x:f t="shared" si="0"/><x:v>3</x:v></x:c></x:row></x:sheetData></x:worksheet>',
    )
    assert formula_cells(prefixed) == ({(1, 1): "=1+1", (1, 2): "=…"}, set())
    plain = _workbook(
        tmp_path / "p.xlsx",
        b'<worksheet><sheetData><row r="5"><c r="K5"><f>SUM(A1:A2)</f></c></row></sheetData></worksheet>',
    )
    assert formula_cells(plain) == ({(4, 10): "=SUM(A1:A2)"}, set())


def test_a_formula_without_a_value_fails_the_file_naming_its_cell(tmp_path: Path) -> None:
    """Found by a review: a last row holding only a formula with no stored value (as some
    libraries write them) is no row to the reader, so it would have vanished from the roster."""
    sheet = (
        f'<worksheet xmlns="{_MAIN}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>nik</t></is></c>'
        '</row><row r="2"><c r="A2"><f>1+1</f></c></row></sheetData></worksheet>'
    ).encode()
    with pytest.raises(FileRejected) as refused:
        convert(_workbook(tmp_path / "v.xlsx", sheet), tmp_path / "v.csv")
    assert refused.value.code == "formula_cell" and "cell A2" in refused.value.message


def test_a_cut_name_is_blamed_only_when_rejoining_it_explains_the_row() -> None:
    """A name cut at an unquoted comma moves every later cell one column right; the row then
    gets one `name_split` error. Not when the row is short besides, or the cell after the name is
    empty: rejoining would hide another mistake (found by a review)."""
    header = ["nik", "name", "birth_date", "sex", "role", "region_code", "term_start", "term_end", "phone"]
    positions = check_header(header)
    good = ["1671014501900001", "Siti", "1990-01-05", "P", "KPPS", "16.71.01", "2024-01-25", "2024-02-23"]

    def codes(cells: list[str]) -> list[str]:
        chunk = read_chunk(iter([(2, cells)]), positions, CONTEXT, 10)
        return [e.code for e in chunk.errors]

    assert codes([*good, ""]) == []
    assert codes([good[0], "Siti", "Aminah", *good[2:], ""]) == [
        "name_split"
    ]  # the cut name, last cell empty
    assert codes([good[0], "Siti", "Aminah", *good[2:]]) == ["name_split"]  # its empty last cell not written
    short = [good[0], "Siti", "Aminah", *good[2:7]]  # term_end missing as well
    assert "name_split" not in codes(short)
    empty_after = [good[0], "Siti", "", *good[2:], ""]
    assert "name_split" not in codes(empty_after)


def test_a_header_naming_no_column_is_not_listed_back() -> None:
    """A data row the data test misses (a NIK with a leading apostrophe) stands in the header's
    place: its cells are not repeated; a header with a few unknown names lists them (found by a review)."""
    with pytest.raises(ValueError, match="no cell of the first row names a column") as refused:
        check_header(["'1671014501900001", "Siti Aminah", "P", "kpps", "'081234567890"])
    assert "Siti" not in str(refused.value) and "0812" not in str(refused.value)
    with pytest.raises(ValueError, match="unknown column\\(s\\): 'nama'"):
        check_header(["nik", "nama", "birth_date", "sex", "role", "region_code", "term_start", "term_end"])
