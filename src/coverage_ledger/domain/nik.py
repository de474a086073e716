"""The NIK, Indonesia's 16-digit national identity number (PP 37/2007 Pasal 37).

Layout: 6 digits of the issuing district (province, regency/city, district), 6 digits DDMMYY of
birth with 40 added to the day for women, 4 digits of serial number from 0001.
"""

import re
from collections.abc import Container
from dataclasses import dataclass
from datetime import date

from coverage_ledger.domain.names import hidden_character
from coverage_ledger.errors import ErrorItem

# [0-9], not \d: \d also matches Arabic-Indic and other Unicode digits
NIK_PATTERN = r"^[0-9]{16}$"
"""A NIK's shape in requests (its district and date are checked by `parse_nik`)."""
_DIGITS16 = re.compile(NIK_PATTERN)
# spreadsheets set to Indonesian write the decimal separator as a comma: 3,27E+15
_SCIENTIFIC = re.compile(r"^[0-9]([.,][0-9]+)?[eE]\+?[0-9]+$")
_DECIMAL_NUMBER = re.compile(r"^[0-9]+[.,]0+$")


@dataclass(frozen=True, slots=True)
class Nik:
    """A structurally valid NIK with what it encodes."""

    value: str
    district_code: str
    """Dotted Kemendagri district code, e.g. `16.71.01`."""
    birth_day: int
    birth_month: int
    birth_year_2digits: int
    sex: str
    """`M` or `F` (women have 40 added to the day)."""

    def birth_date_matches(self, birth_date: date) -> bool:
        """Whether a full birth date agrees with the DDMMYY the NIK carries."""
        return (
            birth_date.day == self.birth_day
            and birth_date.month == self.birth_month
            and birth_date.year % 100 == self.birth_year_2digits
        )


def district_code_of(value: str) -> str:
    """`1671011203840001` → `16.71.01`."""
    return f"{value[0:2]}.{value[2:4]}.{value[4:6]}"


def _could_be_a_date(day: int, month: int, yy: int) -> bool:
    # YY says nothing of the century; a date real in some century of 1900-2099 is accepted
    # (29 Feb needs a leap year: 00 is one in 2000).
    for century in (1900, 2000):
        try:
            date(century + yy, month, day)
        except ValueError:
            continue
        return True
    return False


_SEPARATORS = str.maketrans("", "", " .-\u00a0")
"""What people type between a NIK's digit groups (1671 0145 0190 0001, 1671.0145…)."""
_THOUSANDS = re.compile(r"^[0-9]{1,3}([.,][0-9]{3})+$")
"""A number as an Indonesian (1.671.014…) or English (1,671,014…) spreadsheet shows it."""


def nik_shape_problem(raw: object, *, field: str | None = None) -> ErrorItem | None:
    """Why `raw` is not 16 digits as text once the spaces around it are cut (a spreadsheet's
    number, a missing digit, separators, hidden characters), None when it is: the checks that
    need no district list."""
    if isinstance(raw, bool) or raw is None:
        return ErrorItem("nik_missing", "NIK is required: 16 digits as text", field=field)
    if isinstance(raw, int | float):
        return ErrorItem(
            "nik_not_text",
            "NIK arrived as a number; send it as a 16-digit text so no digit is lost",
            field=field,
        )
    text = str(raw).strip()
    if text == "":
        return ErrorItem("nik_missing", "NIK is required: 16 digits as text", field=field)
    if _SCIENTIFIC.match(text):
        return ErrorItem(
            "nik_scientific_notation",
            f"NIK {text!r} was turned into a number by a spreadsheet and its last digits are lost; "
            "format the column as text and type the NIK again",
            field=field,
        )
    if _DECIMAL_NUMBER.match(text):
        return ErrorItem(
            "nik_decimal_number",
            f"NIK {text!r} looks like a spreadsheet number; format the column as text",
            field=field,
        )
    if not _DIGITS16.match(text):
        if text.isascii() and text.isdigit() and len(text) == 15:
            return ErrorItem(
                "nik_digit_missing",
                # not a lost leading zero: every NIK starts with its province code, 11 to 9x
                "NIK has 15 digits: one is missing (no NIK starts with 0, so it is not a zero a "
                "spreadsheet dropped); check it against the KTP",
                field=field,
            )
        if _THOUSANDS.match(text):
            return ErrorItem(
                "nik_decimal_number",
                "NIK is shown as a number with thousands separators: a spreadsheet turned it into a "
                "number and its last digits are lost; format the column as text and type the NIK again",
                field=field,
            )
        if (hidden := hidden_character(text)) is not None:
            return ErrorItem(
                "hidden_character",
                f"NIK holds the invisible character {hidden} (copied along from a document or a "
                "chat): delete it and type the 16 digits",
                field=field,
            )
        bare = text.translate(_SEPARATORS)
        if bare != text and bare.isascii() and bare.isdigit() and len(bare) == 16:
            return ErrorItem(
                "nik_with_separators",
                "NIK has spaces, dots or dashes between its digits: write the 16 digits alone",
                field=field,
            )
        foreign = any(c.isdigit() and not c.isascii() for c in text)
        return ErrorItem(
            "nik_not_16_digits",
            f"NIK must be exactly 16 digits 0-9, got {len(text)} characters"
            + (" (some are digits of another script or full-width: type them as 0-9)" if foreign else ""),
            field=field,
        )
    return None


def nik_read_problem(raw: object, *, field: str | None = None) -> ErrorItem | None:
    """Why a NIK a read asks for (a path, a lookup) is not exactly 16 digits: its shape, or the
    spaces around it, which the writes cut but a read names as the mistake (a probe found them
    told that a real district did not exist)."""
    shape = nik_shape_problem(raw, field=field)
    if shape is not None or not isinstance(raw, str) or raw == raw.strip():
        return shape
    return ErrorItem(
        "nik_surrounding_space",
        "NIK has spaces, tabs or line breaks before or after its 16 digits: send the 16 digits alone",
        field=field,
    )


def parse_nik(raw: object, *, known_districts: Container[str], field: str | None = None) -> Nik | ErrorItem:
    """A `Nik` or the first error, each failure with its own code."""
    shape = nik_shape_problem(raw, field=field)
    if shape is not None:
        return shape
    text = str(raw).strip()
    district = district_code_of(text)
    if district not in known_districts:
        return ErrorItem(
            "nik_unknown_district",
            f"NIK district prefix {district} is not a Kemendagri district code",
            field=field,
        )
    day, month, yy = int(text[6:8]), int(text[8:10]), int(text[10:12])
    sex = "M"
    if day > 40:
        day -= 40
        sex = "F"
    if not _could_be_a_date(day, month, yy):
        return ErrorItem(
            "nik_invalid_birth_date",
            f"NIK digits 7-12 ({text[6:12]}) are not a birth date DDMMYY (day +40 for women)",
            field=field,
        )
    if text[12:16] == "0000":
        return ErrorItem("nik_invalid_serial", "NIK serial (last 4 digits) starts at 0001", field=field)
    return Nik(text, district, day, month, yy, sex)
