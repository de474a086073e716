"""Coverage of ad hoc election officers (Inpres 2/2021): a committee's roster row covers its
person for JKK and JKM from max(valid_from, registered_on) until the end of the term."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

OFFICER_ROLES = {
    "KPPS": "Kelompok Penyelenggara Pemungutan Suara",
    "PPS": "Panitia Pemungutan Suara",
    "PPK": "Panitia Pemilihan Kecamatan",
    "PANTARLIH": "Petugas Pemutakhiran Data Pemilih",
    "PTPS": "Pengawas Tempat Pemungutan Suara",
    "LINMAS": "Perlindungan Masyarakat (petugas ketertiban TPS)",
    "SEKRETARIAT_PPK": "Sekretariat PPK",
    "SEKRETARIAT_PPS": "Sekretariat PPS",
    "PANWASCAM": "Panitia Pengawas Kecamatan",
    "PKD": "Pengawas Kelurahan/Desa",
}
"""Roles of ad hoc election bodies (PKPU 8/2022) that committees enrol."""

OFFICER_PROGRAMS = ("JKK", "JKM")


def serves_in_a_district_or_village(region_code: str) -> bool:
    """Whether an officer's region is one an ad hoc body sits in: a district (PPK, Panwascam:
    16.71.01) or a village (PPS, KPPS, Pantarlih, PKD: 16.71.01.1001). A regency's or province's
    code names no ad hoc body, and would count the officer nowhere below it (and make a
    `replace_roster` file reach every district of the regency)."""
    return region_code.count(".") >= 2


MAX_TERM_YEARS = 3
"""The longest term a roster row may give: the longest ad hoc terms run some 15 months (PPK and
PPS, Pemilu 2024, facts.md) to 28 (Panwaslu Kecamatan, from late 2022 to January 2025 across
Pemilu and Pilkada 2024), so a longer one is a mistyped year (2042 for 2024)."""


TERM_TOO_LONG = (
    "the term lasts over three years; ad hoc terms last months (PPK 15 for Pemilu 2024, Panwascam "
    "some 28 across Pemilu and Pilkada): is a year mistyped?"
)
"""What a roster row or an API enrolment is told when its term `lasts_too_long`."""


def lasts_too_long(first_day: date, last_day: date) -> bool:
    """Whether a term from `first_day` to `last_day` (inclusive) lasts over MAX_TERM_YEARS."""
    try:
        limit = first_day.replace(year=first_day.year + MAX_TERM_YEARS)
    except ValueError:  # 29 February
        limit = date(first_day.year + MAX_TERM_YEARS, 3, 1)
    return last_day >= limit


MIN_OFFICER_AGE = 17
"""Election law (UU 7/2017) sets 17 as the lowest age of PPK, PPS and KPPS members."""


def age_on(born: date, day: date) -> int:
    """Whole years of age on `day`."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def term_age_problem(born: date, term_start: date) -> str | None:
    """Why a term starting on `term_start` cannot be an officer's born on `born`:
    `term_before_birth`, `officer_too_young` (under MIN_OFFICER_AGE), or None."""
    if term_start < born:
        return "term_before_birth"
    if age_on(born, term_start) < MIN_OFFICER_AGE:
        return "officer_too_young"
    return None


OFFICER_REGION_HINT = (
    "an officer serves in a district (kecamatan, as 16.71.01) or a village (16.71.01.1001): give "
    "that code, not a regency's or a province's"
)


@dataclass(frozen=True, slots=True)
class OfficerTerm:
    """One in-force `officer.enrolled` event: a term of duty with its registration date."""

    event_id: str
    nik: str
    role: str
    committee: str
    region_code: str
    programs: tuple[str, ...]
    valid_from: date
    valid_to: date
    """Exclusive: the day after the last day of duty."""
    registered_on: date

    @property
    def covers_from(self) -> date:
        """Coverage cannot start before the registration was received."""
        return max(self.valid_from, self.registered_on)

    def overlaps(self, other: "OfficerTerm") -> bool:
        """Whether both terms share a day and a program."""
        shares_program = bool(set(self.programs) & set(other.programs))
        return shares_program and self.valid_from < other.valid_to and other.valid_from < self.valid_to


def find_overlaps(terms: Sequence[OfficerTerm]) -> list[tuple[OfficerTerm, OfficerTerm]]:
    """Pairs of terms of one person that overlap for a program."""
    ordered = sorted(terms, key=lambda t: (t.nik, t.valid_from, t.event_id))
    pairs: list[tuple[OfficerTerm, OfficerTerm]] = []
    for i, first in enumerate(ordered):
        for second in ordered[i + 1 :]:
            if second.nik != first.nik or second.valid_from >= first.valid_to:
                break
            if first.overlaps(second):
                pairs.append((first, second))
    return pairs


def last_day(term: OfficerTerm) -> date:
    """The last day of duty (the inclusive end a clerk reads)."""
    return term.valid_to - timedelta(days=1)


PRORATIONS = ("calendar_month_started", "per_term")
"""How an officer rate is applied to a term (`OfficerRate.proration`); the first is the default."""


@dataclass(frozen=True, slots=True)
class OfficerRate:
    """The contribution a committee owes per officer (rule table): per calendar month of cover,
    or once per term."""

    rule_id: str
    first_day: date
    """The rule applies to terms whose cover starts on or after this day..."""
    last_day: date | None
    """...and on or before this one (None: open)."""
    monthly_rate: int
    """Rupiah per officer per calendar month the cover touches (`per_term`: per officer and term)."""
    regulation: str
    proration: str = PRORATIONS[0]
    """`calendar_month_started`: each calendar month the cover touches costs the rate in full;
    `per_term`: a term costs the rate once, however long (facts.md: a regency paid Rp5,939 per
    officer for a short term)."""

    def amount(self, *, officers: int, months: int) -> int:
        """Rupiah for `officers` terms touching `months` calendar months in all (negative: a credit)."""
        return (officers if self.proration == "per_term" else months) * self.monthly_rate

    def applies_on(self, day: date) -> bool:
        """Whether a cover starting on `day` is priced by this rule."""
        return self.first_day <= day and (self.last_day is None or day <= self.last_day)


def months_touched(cover_from: date, valid_to: date) -> int:
    """Calendar months that the half-open cover [cover_from, valid_to) touches (0 when empty)."""
    if cover_from >= valid_to:
        return 0
    last = valid_to - timedelta(days=1)
    return (last.year * 12 + last.month) - (cover_from.year * 12 + cover_from.month) + 1
