"""Checks of the cells every roster has (NIK and identity, region, dates, phone), shared by
officer and sponsor rosters; each failure an `ErrorItem` with its row and column. The header and
the row's layout are `row_layout`'s."""

import unicodedata
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from coverage_ledger.domain.access import region_within
from coverage_ledger.domain.names import garbled_reading, hidden_character
from coverage_ledger.domain.nik import Nik, parse_nik
from coverage_ledger.domain.phones import NO_PHONE, phone_problem
from coverage_ledger.domain.timeframes import PLAUSIBLE_YEARS, plausible_year
from coverage_ledger.errors import ErrorItem
from coverage_ledger.uploads.dates import (
    date_with_time,
    month_first,
    month_first_reading,
    parse_day,
    spreadsheet_day,
)
from coverage_ledger.uploads.formats import FileRejected

SEXES = {
    "M": "M",
    "L": "M",
    "LK": "M",
    "LAKI-LAKI": "M",
    "LAKI LAKI": "M",
    "F": "F",
    "P": "F",
    "PR": "F",
    "PEREMPUAN": "F",
}
"""M/F, and L/P as Indonesian forms write them, in short or in full (laki-laki, perempuan)."""
MAX_NAME = 200


def typed(cells: Mapping[str, str], column: str) -> str:
    """A cell as typed: a leading apostrophe, which keeps Excel from making a number or a date of
    it, is no part of a NIK, a date, a region code or a phone."""
    return cells.get(column, "").removeprefix("'")


def day_cell(
    cells: Mapping[str, str], column: str, row: int, errors: list[ErrorItem], *, required: bool = True
) -> date | None:
    """A date cell (None when empty and optional, or wrong), as `typed`."""
    text = typed(cells, column)
    if not text:
        if required:
            errors.append(ErrorItem("missing_value", f"{column} is empty", row=row, column=column))
        return None
    day = parse_day(text)
    # upload errors are kept, where an erasure cannot reach them: a birth date is not repeated
    # the value is not repeated, in any column: a row shifted by a name's unquoted comma puts
    # the birth date or the phone under term_start or registered_on, and kept errors outlive an
    # erasure
    if day is not None and not plausible_year(day.year):
        errors.append(
            ErrorItem(
                "date_out_of_range",
                f"{column} is outside {PLAUSIBLE_YEARS}",
                row=row,
                column=column,
            )
        )
        return None
    if day is None and month_first(text):
        errors.append(
            ErrorItem(
                MONTH_FIRST,
                f"{column} reads as month/day/year, as a US-English spreadsheet writes it; then "
                "every D/M/YYYY date of the file may have been read the wrong way round: write the "
                "dates as YYYY-MM-DD",
                row=row,
                column=column,
            )
        )
    elif day is None and spreadsheet_day(text) is not None:
        errors.append(
            ErrorItem(
                "date_as_number",
                f"{column} is a spreadsheet's day number, not a date: format the column "
                "as a date, or as text YYYY-MM-DD",
                row=row,
                column=column,
            )
        )
    elif day is None and date_with_time(text):
        errors.append(
            ErrorItem(
                "date_with_time",
                f"{column} holds a time of day as well: write the date alone (YYYY-MM-DD or "
                "DD/MM/YYYY), or format the column as a date without time",
                row=row,
                column=column,
            )
        )
    elif day is None:
        errors.append(
            ErrorItem(
                "invalid_date",
                f"{column} is not a date (YYYY-MM-DD, DD/MM/YYYY also with - or ., YYYY/MM/DD, "
                "or with the month's name: 25 Januari 2024)",
                row=row,
                column=column,
            )
        )
    return day


MONTH_FIRST = "month_first_date"
"""The code of a date only month/day/year can read: its file's other slash dates are in doubt."""


@dataclass(frozen=True, slots=True)
class Person:
    """The identity cells of a row, checked against each other."""

    nik: str
    name: str
    sex: str
    birth_date: date | None


def person_cells(
    cells: Mapping[str, str],
    row: int,
    districts: Container[str],
    errors: list[ErrorItem],
    today: date | None = None,
) -> Person | None:
    """NIK (with its Excel damage), name, sex and birth date agreeing with the NIK (and, given
    `today`, not after it: the NIK's two-digit year cannot tell 1990 from 2090)."""
    # a leading apostrophe is how a spreadsheet user forces a cell to text: not part of the NIK
    nik = parse_nik(typed(cells, "nik"), known_districts=districts)
    if isinstance(nik, ErrorItem):
        errors.append(ErrorItem(nik.code, nik.message, row=row, column="nik"))
    # one spelling for one name: "é" as a letter and an accent (as macOS and PDFs give it) would
    # otherwise differ from the same name typed
    name = unicodedata.normalize("NFC", cells.get("name", ""))
    if not name:
        errors.append(ErrorItem("missing_value", "name is empty", row=row, column="name"))
    elif len(name) > MAX_NAME:
        errors.append(
            ErrorItem("too_long", f"name is longer than {MAX_NAME} characters", row=row, column="name")
        )
    elif (hidden := hidden_character(name)) is not None:
        errors.append(
            ErrorItem(
                "hidden_character",
                f"name holds the control or invisible character {hidden}",
                row=row,
                column="name",
            )
        )
    elif garbled_reading(name) is not None:
        errors.append(
            ErrorItem(
                "garbled_text",
                "name has garbled letters (such as Ã© for é): the file was UTF-8 text opened as ANSI "
                "and saved again; correct the name, or save the original as CSV UTF-8",
                row=row,
                column="name",
            )
        )
    if not isinstance(nik, Nik):
        return None
    sex = SEXES.get(cells.get("sex", "").upper())
    if sex is None:
        errors.append(
            ErrorItem(
                "invalid_sex",
                "sex is not M/F, L/P or Laki-laki/Perempuan",
                row=row,
                column="sex",
            )
        )
    elif sex != nik.sex:
        errors.append(
            ErrorItem(
                "sex_mismatch_nik",
                f"sex {sex} disagrees with the NIK, which encodes {nik.sex}",
                row=row,
                column="sex",
            )
        )
    birth = day_cell(cells, "birth_date", row, errors)
    if birth is not None and not nik.birth_date_matches(birth):
        swapped = month_first_reading(cells.get("birth_date", ""))
        if swapped is not None and nik.birth_date_matches(swapped):
            # the NIK tells which reading is meant: the file's dates are written month first
            errors.append(
                ErrorItem(
                    MONTH_FIRST,
                    "birth_date agrees with the NIK's DDMMYY only when read as month/day/year, as a "
                    "US-English spreadsheet writes it; then every D/M/YYYY date of the file may have "
                    "been read the wrong way round: write the dates as YYYY-MM-DD",
                    row=row,
                    column="birth_date",
                )
            )
        else:
            errors.append(
                ErrorItem(
                    "birth_date_mismatch_nik",
                    f"birth_date disagrees with the NIK's DDMMYY {nik.value[6:12]}",
                    row=row,
                    column="birth_date",
                )
            )
    elif birth is not None and today is not None and birth > today:
        errors.append(ErrorItem("day_in_future", "birth_date is after today", row=row, column="birth_date"))
    return Person(nik.value, name, sex or nik.sex, birth)


def comparable_name(name: str) -> str:
    """A name as compared with a registration's: NFC, spaces (a non-breaking one too) run
    together, case left out (`roster_repository.comparable_name_sql` is the same in SQL)."""
    return " ".join(unicodedata.normalize("NFC", name).split()).lower()


def _dotted(code: str) -> str | None:
    """A code typed without its dots (167101, as in a NIK) in the list's form (16.71.01)."""
    if not (code.isascii() and code.isdigit() and len(code) in (4, 6, 10)):  # regency, district, village
        return None
    return ".".join(part for part in (code[:2], code[2:4], code[4:6], code[6:]) if part)


def region_cell(
    cells: Mapping[str, str],
    row: int,
    regions: Container[str],
    key_region_prefix: str | None,
    errors: list[ErrorItem],
) -> str:
    """A region code in force and inside the key's region, as `typed`. A code outside the key's
    region is `region_out_of_scope` whether the list holds it or not: the row errors tell another
    region's key no more of its codes than the API's 404 does (found by a scope probe)."""
    region = typed(cells, "region_code")
    dotted = _dotted(region)
    if not region:
        errors.append(ErrorItem("missing_value", "region_code is empty", row=row, column="region_code"))
    elif region_within(region, key_region_prefix) or (
        region not in regions and dotted is not None and region_within(dotted, key_region_prefix)
    ):
        if region not in regions:
            hint = f"; written with dots it is {dotted}" if dotted in regions else ""
            errors.append(
                ErrorItem(
                    "unknown_region",
                    f"region_code is not in the Kemendagri list{hint}",
                    row=row,
                    column="region_code",
                )
            )
    else:
        errors.append(
            ErrorItem(
                "region_out_of_scope",
                f"region {region} is outside this key's region {key_region_prefix}",
                row=row,
                column="region_code",
            )
        )
    return region


def first_month_first(found: ErrorItem | None, errors: Sequence[ErrorItem]) -> ErrorItem | None:
    """`found`, else the first of `errors` that a month-first date made."""
    return found or next((e for e in errors if e.code == MONTH_FIRST), None)


def refuse_month_first(found: ErrorItem | None) -> None:
    """Refuse the whole file when one of its dates reads month/day/year (only so, or so by its
    row's NIK), whatever the policy: its rows that did pass may hold days and months swapped."""
    if found is not None:
        raise FileRejected(
            "month_first_dates",
            f"row {found.row}, {found.column}: a date reads as month/day/year, so the file's other "
            "D/M/YYYY dates may have their day and month swapped; nothing was written: write every date "
            "as YYYY-MM-DD and upload again",
        )


def phone_cell(cells: Mapping[str, str], row: int, errors: list[ErrorItem]) -> str | None:
    """The optional phone cell, as `typed` (None when empty or wrong)."""
    phone = typed(cells, "phone") or None
    if phone is None or phone in NO_PHONE:
        return None
    if len(phone) > 32:
        errors.append(ErrorItem("too_long", "phone is longer than 32 characters", row=row, column="phone"))
    elif (hidden := hidden_character(phone)) is not None:
        errors.append(
            ErrorItem("hidden_character", f"phone holds the character {hidden}", row=row, column="phone")
        )
    elif (wrong := phone_problem(phone)) is not None:
        errors.append(ErrorItem(wrong[0], wrong[1], row=row, column="phone"))
    else:
        return phone
    return None
