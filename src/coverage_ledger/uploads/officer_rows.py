"""One row of a committee's officer roster, checked on its own (no SQL, no I/O). Checks that need
the ledger or the rest of the file (duplicates, overlaps) run set-based in SQL afterwards."""

from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from json.encoder import encode_basestring as json_string

from coverage_ledger.domain.access import region_within
from coverage_ledger.domain.officer import (
    MIN_OFFICER_AGE,
    OFFICER_REGION_HINT,
    OFFICER_ROLES,
    TERM_TOO_LONG,
    age_on,
    lasts_too_long,
    serves_in_a_district_or_village,
    term_age_problem,
)
from coverage_ledger.errors import ErrorItem
from coverage_ledger.ledger.region_checks import not_in_force_reason
from coverage_ledger.ledger.snapshot import RegionDefinition
from coverage_ledger.uploads import cells as check
from coverage_ledger.uploads import row_layout
from coverage_ledger.uploads.row_layout import Columns

REQUIRED_COLUMNS = ("nik", "name", "birth_date", "sex", "role", "region_code", "term_start", "term_end")
OPTIONAL_COLUMNS = ("phone", "registered_on")


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
    recording_day: date | None = None
    """The day the upload is checked (Asia/Jakarta): no one is registered after it."""
    bounded_regions: Mapping[str, Sequence[RegionDefinition]] = field(default_factory=dict)
    """The definitions of the region codes whose decrees bound them in valid time (the rest are
    in force on every day): a term must lie within one."""

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


def check_header(header: Sequence[str]) -> Columns:
    """Column positions of an officer roster; a wrong header raises ValueError."""
    return row_layout.check_header(header, REQUIRED_COLUMNS, OPTIONAL_COLUMNS)


_POSTS = ("KETUA ", "ANGGOTA ")
"""Posts within a committee that rosters write before its name: the chair and the members of a
KPPS are KPPS officers alike."""


def officer_role(cell: str) -> str:
    """The role a roster cell names: `KPPS`, `kpps`, `Ketua KPPS` and `Anggota KPPS` are KPPS;
    `Sekretariat PPK` and `sekretariat-ppk` are SEKRETARIAT_PPK."""
    role = " ".join(cell.upper().split())
    for post in _POSTS:
        if role.startswith(post) and role[len(post) :] in OFFICER_ROLES:
            return role[len(post) :]
    joined = role.replace(" ", "_").replace("-", "_")
    return joined if joined in OFFICER_ROLES else role


def _before_birth(row: int, column: str, day: date | None, born: date | None, code: str) -> list[ErrorItem]:
    """The error of a day before the officer was born (none when either is unknown)."""
    if day is None or born is None or day >= born:
        return []
    return [
        ErrorItem(
            code,
            f"{column} is before birth_date",
            row=row,
            column=column,
        )
    ]


def check_officer_row(
    row: int, cells: Mapping[str, str], context: RosterContext
) -> OfficerRow | list[ErrorItem]:
    """The checked row, or every error found in it."""
    errors: list[ErrorItem] = []
    person = check.person_cells(cells, row, context.districts, errors, today=context.recording_day)
    role = officer_role(cells.get("role", ""))
    errors += _role_errors(role, row)
    region = check.region_cell(cells, row, context.regions, context.key_region_prefix, errors)
    errors += _region_level_errors(region, row, context)
    start = check.day_cell(cells, "term_start", row, errors)
    end = check.day_cell(cells, "term_end", row, errors)
    if start is not None and end is not None:
        errors += _term_errors(region, start, end, row, context)
    # a birth date already refused (not the NIK's, or to come) is no ground for another error
    born = None if any(e.column == "birth_date" for e in errors) or person is None else person.birth_date
    if born is not None and start is not None:
        errors += _age_errors(born, start, row)
    registered_on = check.day_cell(cells, "registered_on", row, errors, required=False)
    errors += _registered_on_errors(registered_on, born, row, context)
    phone = check.phone_cell(cells, row, errors)
    if errors or person is None or start is None or end is None:
        return errors
    return OfficerRow(
        row,
        person.nik,
        person.sex,
        person.birth_date,
        person.name,
        phone,
        role,
        region,
        start,
        end + timedelta(days=1),
        registered_on,
    )


def _role_errors(role: str, row: int) -> list[ErrorItem]:
    """An officer's role is given and one of the known roles."""
    if not role:
        return [ErrorItem("missing_value", "role is empty", row=row, column="role")]
    if role not in OFFICER_ROLES:
        return [
            ErrorItem(
                "unknown_role", f"role is not one of {', '.join(OFFICER_ROLES)}", row=row, column="role"
            )
        ]
    return []


def _region_level_errors(region: str, row: int, context: RosterContext) -> list[ErrorItem]:
    """An officer serves in a district or village, not a province or regency."""
    if (
        region in context.regions
        and region_within(region, context.key_region_prefix)
        and not serves_in_a_district_or_village(region)
    ):
        return [
            ErrorItem(
                "region_not_district_or_village",
                f"region {region}: {OFFICER_REGION_HINT}",
                row=row,
                column="region_code",
            )
        ]
    return []


def _term_errors(region: str, start: date, end: date, row: int, context: RosterContext) -> list[ErrorItem]:
    """A term ends on or after its start, lasts no longer than a term may, and lies in its
    region's time in force (`end`: the last day served)."""
    if end < start:
        return [
            ErrorItem("term_end_before_start", "term_end is before term_start", row=row, column="term_end")
        ]
    errors: list[ErrorItem] = []
    if lasts_too_long(start, end):
        errors.append(ErrorItem("term_too_long", TERM_TOO_LONG, row=row, column="term_end"))
    if region in context.bounded_regions and region_within(region, context.key_region_prefix):
        reason = not_in_force_reason(region, context.bounded_regions[region], start, end + timedelta(days=1))
        if reason is not None:
            errors.append(ErrorItem("region_not_in_force", reason, row=row, column="region_code"))
    return errors


def _age_errors(born: date, start: date, row: int) -> list[ErrorItem]:
    """An officer is born before the term and old enough when it starts."""
    age_problem = term_age_problem(born, start)
    if age_problem == "term_before_birth":
        return _before_birth(row, "term_start", start, born, "term_before_birth")
    if age_problem == "officer_too_young":
        return [
            ErrorItem(
                "officer_too_young",
                f"the officer is {age_on(born, start)} when the term starts; "
                f"election officers are at least {MIN_OFFICER_AGE} (UU 7/2017)",
                row=row,
                column="birth_date",
            )
        ]
    return []


def _registered_on_errors(
    registered_on: date | None, born: date | None, row: int, context: RosterContext
) -> list[ErrorItem]:
    """A registration day is neither after the upload's day nor before the person's birth."""
    errors: list[ErrorItem] = []
    if (
        registered_on is not None
        and context.recording_day is not None
        and registered_on > context.recording_day
    ):
        errors.append(
            ErrorItem(
                "day_in_future",
                f"registered_on is after today ({context.recording_day})",
                row=row,
                column="registered_on",
            )
        )
    return errors + _before_birth(row, "registered_on", registered_on, born, "registered_before_birth")
