"""One row of a committee's officer roster, checked on its own (no SQL, no I/O). Checks that need
the ledger or the rest of the file (duplicates, overlaps) run set-based in SQL afterwards."""

import re
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from json.encoder import encode_basestring as json_string

from coverage_ledger.domain.access import region_within
from coverage_ledger.domain.nik import Nik, parse_nik
from coverage_ledger.domain.officer import OFFICER_ROLES
from coverage_ledger.errors import ErrorItem

REQUIRED_COLUMNS = ("nik", "name", "birth_date", "sex", "role", "region_code", "term_start", "term_end")
OPTIONAL_COLUMNS = ("phone", "registered_on")
_SEXES = {"M": "M", "L": "M", "F": "F", "P": "F"}
"""M/F, and L/P as Indonesian forms write them (laki-laki, perempuan)."""
_DAY_FIRST = re.compile(r"^([0-9]{1,2})[/.-]([0-9]{1,2})[/.-]([0-9]{4})$")
_MAX_NAME = 200


def parse_day(text: str) -> date | None:
    """`2024-01-25` or, as Indonesian spreadsheets write it, `25/01/2024` (also `-` or `.`)."""
    if len(text) == 10 and text[4] == "-":
        try:
            return date.fromisoformat(text)
        except ValueError:
            return None
    found = _DAY_FIRST.match(text)
    if found is None:
        return None
    try:
        return date(int(found.group(3)), int(found.group(2)), int(found.group(1)))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class RosterContext:
    """What every row is checked against, read once per upload."""

    committee: str
    key_region_prefix: str | None
    regions: Container[str]
    """Region codes in force."""
    districts: Container[str]
    """District codes (for the NIK prefix)."""
    event_prefix: str
    """Prefix of the event ids of this upload (unique per upload)."""
    committee_json: str = ""
    """`committee` as a JSON string (computed once)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "committee_json", json_string(self.committee))


@dataclass(frozen=True, slots=True)
class OfficerRow:
    """A roster row that passed its own checks."""

    row: int
    nik: str
    sex: str
    birth_date: date | None
    name: str
    phone: str | None
    role: str
    region_code: str
    valid_from: date
    valid_to: date
    """Exclusive: the day after `term_end`."""
    registered_on: date | None


def check_header(header: Sequence[str]) -> dict[str, int]:
    """Column positions by name; a wrong header is a file-level problem (ValueError)."""
    positions: dict[str, int] = {}
    for index, name in enumerate(header):
        if name in positions:
            raise ValueError(f"column {name!r} appears twice in the header")
        positions[name] = index
    missing = [c for c in REQUIRED_COLUMNS if c not in positions]
    unknown = [c for c in positions if c and c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"missing column(s): {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown column(s): {', '.join(unknown)}")
        expected = ",".join(REQUIRED_COLUMNS) + " (optional: " + ", ".join(OPTIONAL_COLUMNS) + ")"
        raise ValueError(f"wrong header: {'; '.join(parts)}; expected {expected}")
    return positions


def _day(cells: Mapping[str, str], column: str, row: int, errors: list[ErrorItem]) -> date | None:
    text = cells.get(column, "")
    if not text:
        errors.append(ErrorItem("missing_value", f"{column} is empty", row=row, column=column))
        return None
    day = parse_day(text)
    if day is None:
        errors.append(
            ErrorItem(
                "invalid_date",
                f"{column} {text!r} is not a date (YYYY-MM-DD or DD/MM/YYYY)",
                row=row,
                column=column,
            )
        )
    return day


def _identity(
    nik: Nik, cells: Mapping[str, str], row: int, errors: list[ErrorItem]
) -> tuple[str, date | None]:
    sex_text = cells.get("sex", "").upper()
    sex = _SEXES.get(sex_text)
    if sex is None:
        errors.append(
            ErrorItem(
                "invalid_sex", f"sex {cells.get('sex', '')!r} is not M/F (or L/P)", row=row, column="sex"
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
    birth = _day(cells, "birth_date", row, errors)
    if birth is not None and not nik.birth_date_matches(birth):
        errors.append(
            ErrorItem(
                "birth_date_mismatch_nik",
                f"birth date {birth.isoformat()} disagrees with the NIK's DDMMYY {nik.value[6:12]}",
                row=row,
                column="birth_date",
            )
        )
    return sex or nik.sex, birth


def check_officer_row(
    row: int, cells: Mapping[str, str], context: RosterContext
) -> OfficerRow | list[ErrorItem]:
    """The checked row, or every error found in it."""
    errors: list[ErrorItem] = []
    nik = parse_nik(cells.get("nik", ""), known_districts=context.districts)
    if isinstance(nik, ErrorItem):
        errors.append(ErrorItem(nik.code, nik.message, row=row, column="nik"))
    name = cells.get("name", "")
    if not name:
        errors.append(ErrorItem("missing_value", "name is empty", row=row, column="name"))
    elif len(name) > _MAX_NAME:
        errors.append(
            ErrorItem("too_long", f"name is longer than {_MAX_NAME} characters", row=row, column="name")
        )
    sex, birth = ("M", None)
    if isinstance(nik, Nik):
        sex, birth = _identity(nik, cells, row, errors)
    role = cells.get("role", "").upper()
    if role not in OFFICER_ROLES:
        errors.append(
            ErrorItem(
                "unknown_role",
                f"role {cells.get('role', '')!r} is not one of {', '.join(OFFICER_ROLES)}",
                row=row,
                column="role",
            )
        )
    region = cells.get("region_code", "")
    if region not in context.regions:
        errors.append(
            ErrorItem(
                "unknown_region",
                f"region code {region!r} is not in the Kemendagri list",
                row=row,
                column="region_code",
            )
        )
    elif not region_within(region, context.key_region_prefix):
        errors.append(
            ErrorItem(
                "region_out_of_scope",
                f"region {region} is outside this key's region {context.key_region_prefix}",
                row=row,
                column="region_code",
            )
        )
    start = _day(cells, "term_start", row, errors)
    end = _day(cells, "term_end", row, errors)
    if start is not None and end is not None and end < start:
        errors.append(
            ErrorItem(
                "term_end_before_start",
                f"term_end {end.isoformat()} is before term_start {start.isoformat()}",
                row=row,
                column="term_end",
            )
        )
    registered_on = None
    if cells.get("registered_on"):
        registered_on = _day(cells, "registered_on", row, errors)
    phone = cells.get("phone") or None
    if phone is not None and len(phone) > 32:
        errors.append(ErrorItem("too_long", "phone is longer than 32 characters", row=row, column="phone"))
    if errors or not isinstance(nik, Nik) or start is None or end is None:
        return errors
    return OfficerRow(
        row, nik.value, sex, birth, name, phone, role, region, start, end + timedelta(days=1), registered_on
    )
