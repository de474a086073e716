"""How roster dates are written: the readings of a date cell's text (ISO, day first as
Indonesian spreadsheets write it, with the month's name, a spreadsheet's day number) and the
month-first reading a US-English spreadsheet gives the same text."""

import re
from datetime import date, timedelta

from coverage_ledger.domain.timeframes import DATE_TEXT, plausible_year

_DAY_FIRST = re.compile(r"^([0-9]{1,2})[/.-]([0-9]{1,2})[/.-]([0-9]{4})$")
_YEAR_FIRST_SLASHED = re.compile(r"^([0-9]{4})/([0-9]{1,2})/([0-9]{1,2})$")
_DAY_MONTH_NAME = re.compile(r"^([0-9]{1,2})[ -]([A-Za-z]+)[ -]([0-9]{4})$")
MONTH_NAMES = {
    name: number
    for number, names in enumerate(
        [
            ("januari", "january", "jan"),
            ("februari", "february", "feb", "pebruari"),
            ("maret", "march", "mar"),
            ("april", "apr"),
            ("mei", "may"),
            ("juni", "june", "jun"),
            ("juli", "july", "jul"),
            ("agustus", "august", "agu", "agt", "aug"),
            ("september", "sep", "sept"),
            ("oktober", "october", "okt", "oct"),
            ("november", "nopember", "nov", "nop"),
            ("desember", "december", "des", "dec"),
        ],
        start=1,
    )
    for name in names
}
"""Month names as Indonesian and English spreadsheets write them, in full or in short."""


def parse_day(text: str) -> date | None:
    """`2024-01-25` or, as Indonesian spreadsheets write it, `25/01/2024` (also `-` or `.`),
    `2024/01/25`, or with the month's name: `25 Januari 2024`, `25-Jan-2024`."""
    if DATE_TEXT.match(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            return None
    found = _DAY_FIRST.match(text)
    try:
        if found is not None:
            return date(int(found.group(3)), int(found.group(2)), int(found.group(1)))
        if (found := _YEAR_FIRST_SLASHED.match(text)) is not None:  # 2024/01/25: only one reading
            return date(int(found.group(1)), int(found.group(2)), int(found.group(3)))
        if (found := _DAY_MONTH_NAME.match(text)) is not None:  # 25 Januari 2024, 25-Jan-2024
            month = MONTH_NAMES.get(found.group(2).lower())
            return date(int(found.group(3)), month, int(found.group(1))) if month else None
    except ValueError:
        return None
    return None


def spreadsheet_day(text: str) -> date | None:
    """The day a spreadsheet's day number stands for (days since 30 Dec 1899, as Excel, LibreOffice
    and Google Sheets count them), for numbers in 1900–2099; else None."""
    if not text.isascii() or not text.isdigit() or len(text) != 5:
        return None
    day = _SPREADSHEET_EPOCH + timedelta(days=int(text))
    return day if plausible_year(day.year) else None


_SPREADSHEET_EPOCH = date(1899, 12, 30)


def _read_month_first(text: str) -> date | None:
    """A D/M/YYYY-shaped date read as month/day/year, when it is a date so read."""
    found = _DAY_FIRST.match(text)
    if found is None:
        return None
    first, second, year = (int(part) for part in found.groups())
    try:
        return date(year, first, second)
    except ValueError:
        return None


def month_first(text: str) -> bool:
    """Whether a date that is wrong as day/month/year is right as month/day/year (`1/25/2024`)."""
    read = _read_month_first(text)
    return read is not None and read.day > 12


def month_first_reading(text: str) -> date | None:
    """The other reading of a D/M/YYYY date whose day and month could be swapped (`3/4/1988`:
    4 March as month/day/year), or None when only one reading exists."""
    read = _read_month_first(text)
    return read if read is not None and read.day <= 12 and read.day != read.month else None


_WITH_TIME = re.compile(r"(\S+)[ T]\d{1,2}[:.]\d{2}(?:[:.]\d{2}(?:\.\d+)?)?(?: ?[AaPp][Mm])?")


def date_with_time(text: str) -> bool:
    """Whether the text is a date followed by a time of day, as a spreadsheet's date-time cell
    is written out (`25/01/2024 00:00`)."""
    timed = _WITH_TIME.fullmatch(text)
    return timed is not None and parse_day(timed.group(1)) is not None
