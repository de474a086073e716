"""Checks of the cells every roster has (header, NIK and identity, region, dates), shared by
officer and sponsor rosters; each failure an `ErrorItem` with its row and column."""

import re
import unicodedata
from collections.abc import Callable, Container, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from coverage_ledger.domain.access import region_within
from coverage_ledger.domain.names import garbled_reading, hidden_character
from coverage_ledger.domain.nik import Nik, parse_nik
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


_CELL_SEPARATOR = "\x1e"
SPREADSHEET_ERRORS = frozenset(
    {
        "#NULL!",
        "#DIV/0!",
        "#VALUE!",
        "#REF!",
        "#NAME?",
        "#NUM!",
        "#N/A",
        "#GETTING_DATA",
        "#SPILL!",
        "#CALC!",
        "#FIELD!",
        "#BLOCKED!",
        "#CONNECT!",
        "#BUSY!",
        "#UNKNOWN!",
    }
)
"""What Excel shows in a cell whose formula failed; pasted as values, or saved as CSV, it stays."""
UNNAMED = "\x00unnamed column "
"""Key of an unnamed header column in the positions (no header name holds a NUL)."""


SHOWN_CHARACTERS = 40


# Row errors repeat no cell's value, in any column: a row shifted by a name's unquoted comma holds
# the birth date and phone under other columns, and kept errors outlive an erasure.


NAME_SPLIT = (
    "name_split",
    "the name seems cut in two by a comma (or semicolon) that is not inside quotes, and every cell "
    "after it is read one column to the right: put the name in double quotes, or remove the comma",
)


def blame_a_cut_name(
    row: int,
    cells: Sequence[str],
    positions: Mapping[str, int],
    errors: list[ErrorItem],
    passes: Callable[[dict[str, str]], bool],
) -> list[ErrorItem]:
    """One `name_split` error when the row `passes` with its name's cell and the next joined (a
    name cut at an unquoted comma moves every later cell one column right: several errors a clerk
    cannot see in the sheet, where each cell stands right, and no value may be repeated to show
    the shift), else `errors`."""
    at = positions.get("name")
    width = len(positions)
    if at is None or at + 1 >= len(cells) or len(cells) > width + 1:
        return errors
    joined = [*cells[:at], f"{cells[at]},{cells[at + 1]}", *cells[at + 2 :]]
    values = row_values(row, joined + [""] * (width - len(joined)), positions)
    if isinstance(values, dict) and passes(values):
        return [ErrorItem(*NAME_SPLIT, row=row, column="name")]
    return errors


def shown(text: str) -> str:
    """A cell quoted in a message: a cell of a megabyte is shown by its first characters."""
    return repr(text) if len(text) <= SHOWN_CHARACTERS else repr(text[:SHOWN_CHARACTERS]) + "…"


_SCIENTIFIC = re.compile(r"[0-9](?:[.,][0-9]+)?E\+?[0-9]+", re.IGNORECASE)


def _looks_like_data(cell: str) -> bool:
    """A NIK-like run of digits (or one a spreadsheet wrote as 1.67101E+15), a phone's run of
    digits, or a date: a header cell never is one."""
    bare = cell.strip()
    digits = bare.replace(" ", "").replace("-", "").removeprefix("+")
    return (
        (digits.isascii() and digits.isdigit() and len(digits) >= 9)
        or _SCIENTIFIC.fullmatch(bare) is not None
        or parse_day(bare) is not None
    )


def _split_by_another_delimiter(cell: str, required: Sequence[str]) -> str | None:
    """The delimiter that splits one header cell into the roster's columns (a file read with `;`
    whose header is written with `,`), if any."""
    for delimiter in (",", ";", "|"):
        names = {name.strip().lower() for name in cell.split(delimiter)}
        if len(names) > 1 and sum(name in names for name in required) >= 2:
            return delimiter
    return None


class Columns(dict[str, int]):
    """Column positions by name, as `check_header` read them, with the unnamed ones' positions
    listed once (the row loop runs a million times: it does not look for them in every row)."""

    unnamed: tuple[int, ...] = ()


def check_header(header: Sequence[str], required: Sequence[str], optional: Sequence[str]) -> Columns:
    """Column positions by name; a wrong header is a file-level problem (ValueError)."""
    if not any(header):
        raise ValueError(
            "the first row is empty: the header (" + ",".join(required) + ") must be the file's first row"
        )
    titled = [name for name in header if name]
    if len(titled) == 1 and "\t" in titled[0]:
        raise ValueError("the columns are separated by tabs: save the file as CSV, with , or ;")
    if any(_looks_like_data(name) for name in titled):
        # not repeated: a data row holds a person's NIK, name and birth date
        raise ValueError(
            "the first row holds data, not the header: add the header row ("
            + ",".join(required)
            + ") above it"
        )
    if len(titled) == 1 and (other := _split_by_another_delimiter(titled[0], required)):
        raise ValueError(
            f"the header's columns are separated by {other!r}, but the file was read with another "
            f"delimiter (its `sep=` first line, or the first line's own): make them agree, with , or ;"
        )
    if len(titled) == 1 and titled[0] not in (*required, *optional):
        # a sheet's title ("Daftar Anggota KPPS …") above the header
        raise ValueError(
            f"the first row holds only {shown(titled[0])}, a title: the header ("
            + ",".join(required)
            + ") must be the file's first row; delete the rows above it"
        )
    positions = Columns()
    named = max(index for index, name in enumerate(header) if name) + 1
    for index, name in enumerate(header[:named]):  # trailing unnamed columns: the rows' extra cells
        if not name:  # an unnamed column (spreadsheets export formatted but empty ones): read, unused
            positions[f"{UNNAMED}{index + 1}"] = index
            continue
        if name in positions:
            raise ValueError(f"column {shown(name)} appears twice in the header")
        positions[name] = index
    missing = [c for c in required if c not in positions]
    unknown = [c for c in positions if not c.startswith(UNNAMED) and c not in (*required, *optional)]
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"missing column(s): {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown column(s): {', '.join(shown(c) for c in unknown)}")
        expected = ",".join(required) + " (optional: " + ", ".join(optional) + ")"
        raise ValueError(f"wrong header: {'; '.join(parts)}; expected {expected}")
    positions.unnamed = tuple(index for name, index in positions.items() if name.startswith(UNNAMED))
    return positions


def _placed(index: int, positions: Mapping[str, int]) -> str:
    """Where an unnamed column lies, told by its named neighbour (a sheet's letters are not the
    CSV's when the data starts further right)."""
    before = [(i, n) for n, i in positions.items() if i < index and not n.startswith(UNNAMED)]
    if before:
        return f"after {max(before)[1]}"
    return "before " + min((i, n) for n, i in positions.items() if not n.startswith(UNNAMED))[1]


def row_values(row: int, cells: Sequence[str], positions: Mapping[str, int]) -> dict[str, str] | ErrorItem:
    """The row's cells by column name, stripped; extra cells are fine when empty (spreadsheets
    export formatted but empty columns), missing ones are not."""
    width = len(positions)
    # substring scans of the joined row (this runs for every row of a million-row roster) find
    # a NUL or a cell starting with `=`; only then is the cell looked for (a separator inside a
    # cell may raise a false alarm, which the search then clears)
    odd = None
    joined = _CELL_SEPARATOR.join(cells)
    if "\x00" in joined or joined.startswith("=") or _CELL_SEPARATOR + "=" in joined:
        odd = next(
            (
                (name, cells[index])
                for name, index in positions.items()
                if not name.startswith(UNNAMED)  # what is not read cannot be wrong
                and index < len(cells)
                and ("\x00" in cells[index] or cells[index].startswith("="))
            ),
            None,
        )
    if odd is not None:
        column, cell = odd
        if "\x00" in cell:  # PostgreSQL text cannot hold it
            return ErrorItem(
                "invalid_character",
                "a cell holds a NUL character: binary data, not text",
                row=row,
                column=column,
            )
        # the formula is not repeated: `="0812…"` keeps a phone as text
        return ErrorItem(
            "formula_cell",
            "the cell holds a formula, not its value; save the sheet with values only",
            row=row,
            column=column,
        )
    if "#" in joined:
        failed = next(
            (
                (name, cells[index].strip())
                for name, index in positions.items()
                if not name.startswith(UNNAMED)
                and index < len(cells)
                and cells[index].strip().upper() in SPREADSHEET_ERRORS
            ),
            None,
        )
        if failed is not None:
            return ErrorItem(
                "error_cell",
                f"the cell shows {failed[1]}, a spreadsheet error where a value should be (a formula "
                "that failed, kept as its value): put the value in",
                row=row,
                column=failed[0],
            )
    unnamed = (
        positions.unnamed
        if isinstance(positions, Columns)
        else tuple(i for n, i in positions.items() if n.startswith(UNNAMED))
    )
    for index in unnamed:
        if index < len(cells) and cells[index].strip():
            # a value under a blank header cell (a note, "BATAL", the second half of a merged
            # header) is not read: the row must not be taken as if it were not there
            return ErrorItem(
                "value_without_header",
                # the value is not repeated: what an unnamed column holds may be personal data
                # (a phone, an address), and kept errors outlive an erasure
                f"the column {_placed(index, positions)} has no name in the header but holds a "
                "value: name the column, or move or delete what it holds",
                row=row,
            )
    if len(cells) != width and (len(cells) < width or any(cell.strip() for cell in cells[width:])):
        # the stray value is not repeated (a name cut at an unquoted comma pushes the birth date
        # and phone past the header); its place is, after the header's last column (a sheet's
        # letters are not the CSV's when the data starts further right)
        extra = next((i for i in range(width, len(cells)) if cells[i].strip()), None)
        last = max((i, n) for n, i in positions.items() if not n.startswith(UNNAMED))[1]
        beyond = (
            f": a value stands {extra - width + 1} cell(s) after the header's last column "
            f"({last}); delete it or name its column (in a CSV, a comma or semicolon inside a cell "
            "that is not in quotes splits the cell in two)"
            if extra is not None
            else ""
        )
        if len(cells) == 1 and (other := next((d for d in ",;" if cells[0].count(d) >= width - 1), None)):
            beyond = f": its cells are separated by {other!r}, not by the header's delimiter"
        return ErrorItem(
            "wrong_column_count", f"the row has {len(cells)} cells, the header {width}{beyond}", row=row
        )
    return {name: cells[index].strip() for name, index in positions.items()}


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
    together, case left out (`staged_writes.comparable_name_sql` is the same in SQL)."""
    return " ".join(unicodedata.normalize("NFC", name).split()).lower()


def _dotted(code: str) -> str | None:
    """A code typed without its dots (167101, as in a NIK) in the list's form (16.71.01)."""
    if not (code.isascii() and code.isdigit() and len(code) in (6, 10)):  # a district's, a village's
        return None
    return ".".join(part for part in (code[:2], code[2:4], code[4:6], code[6:]) if part)


def region_cell(
    cells: Mapping[str, str],
    row: int,
    regions: Container[str],
    key_region_prefix: str | None,
    errors: list[ErrorItem],
) -> str:
    """A region code in force and inside the key's region, as `typed`."""
    region = typed(cells, "region_code")
    if not region:
        errors.append(ErrorItem("missing_value", "region_code is empty", row=row, column="region_code"))
    elif region not in regions:
        dotted = _dotted(region)
        hint = f"; written with dots it is {dotted}" if dotted in regions else ""
        errors.append(
            ErrorItem(
                "unknown_region",
                f"region_code is not in the Kemendagri list{hint}",
                row=row,
                column="region_code",
            )
        )
    elif not region_within(region, key_region_prefix):
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


_PHONE_SEPARATORS = str.maketrans("", "", " -.()")
NO_PHONE = frozenset({"-", "–", "—", "--"})
"""What a clerk types in a phone cell for "none"."""


def phone_problem(text: str) -> tuple[str, str] | None:
    """(code, message) when a phone cell is not an Indonesian phone number; the number itself is
    not repeated (kept errors must not hold personal data)."""
    digits = text.translate(_PHONE_SEPARATORS)
    if digits.startswith("+"):
        digits = digits[1:]
        if not digits.startswith("62"):
            return "invalid_phone", "phone has a country code other than +62"
    if digits.startswith("620"):
        return "invalid_phone", "phone has both +62 and the leading 0: write 08… or +628…"
    if not digits.isdigit():
        return "invalid_phone", "phone is not a phone number: digits, spaces and dashes, 08… or +62…"
    if digits.startswith("8") and 9 <= len(digits) <= 12:
        return (
            "phone_leading_zero_lost",
            "phone starts with 8: a spreadsheet probably dropped its leading 0; format the column as text",
        )
    if digits.startswith("62"):
        digits = "0" + digits[2:]
    if not digits.startswith("0") or not 9 <= len(digits) <= 14:
        return "invalid_phone", "phone is not a phone number: 08… or +62…, 9 to 14 digits"
    return None


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
