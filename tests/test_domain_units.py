"""Units of the domain core: NIK, known_at grammar, canonical JSON."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from coverage_ledger.canonical import NotCanonicalizable, canonical_json
from coverage_ledger.domain.contributions import base_contribution
from coverage_ledger.domain.coverage import CoverageStatus, officer_coverage
from coverage_ledger.domain.nik import Nik, parse_nik
from coverage_ledger.domain.officer import OfficerTerm
from coverage_ledger.domain.timeframes import (
    JAKARTA,
    InvalidKnownAt,
    KnownAtInstant,
    KnownAtTx,
    KnownNow,
    KnownOnDate,
    format_instant,
    jakarta_date,
    parse_known_at,
)
from coverage_ledger.errors import ErrorItem
from coverage_ledger.reference.rules import BPU_RATES

DISTRICTS = {"16.71.01", "32.01.01"}


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (None, "nik_missing"),
        ("", "nik_missing"),
        (1671014501900001, "nik_not_text"),
        (1.671014501900001e15, "nik_not_text"),
        ("1.67101E+15", "nik_scientific_notation"),
        ("3.27E+15", "nik_scientific_notation"),
        ("3,27E+15", "nik_scientific_notation"),  # a comma as decimal separator (id-ID spreadsheets)
        ("1671014501900001.0", "nik_decimal_number"),
        ("1671014501900001,00", "nik_decimal_number"),
        ("671014501900001", "nik_digit_missing"),
        ("1671 0145 0190 0001", "nik_with_separators"),
        ("1.671.014.501.900.000", "nik_decimal_number"),  # an id-ID spreadsheet number: digits lost
        ("1671.0145.0190.0001", "nik_with_separators"),
        ("167101-450190-0001", "nik_with_separators"),
        ("16710145019000", "nik_not_16_digits"),
        ("16710145019000AB", "nik_not_16_digits"),
        ("9999014501900001", "nik_unknown_district"),
        ("1671013202900001", "nik_invalid_birth_date"),  # 32 February
        ("1671017201900001", "nik_invalid_birth_date"),  # day 72 - 40 = 32
        ("1671010113900001", "nik_invalid_birth_date"),  # month 13
        ("1671014501900000", "nik_invalid_serial"),
    ],
)
def test_each_nik_failure_has_its_own_code(raw: object, code: str) -> None:
    result = parse_nik(raw, known_districts=DISTRICTS, field="nik")
    assert isinstance(result, ErrorItem)
    assert result.code == code
    assert result.field == "nik"


def test_nik_encodes_sex_and_birth_date() -> None:
    woman = parse_nik("1671014501900001", known_districts=DISTRICTS)
    man = parse_nik("1671010501900002", known_districts=DISTRICTS)
    assert isinstance(woman, Nik) and isinstance(man, Nik)
    assert (woman.sex, woman.birth_day, woman.birth_month, woman.district_code) == ("F", 5, 1, "16.71.01")
    assert man.sex == "M"
    assert woman.birth_date_matches(date(1990, 1, 5))
    assert not woman.birth_date_matches(date(1991, 1, 5))


def test_leap_day_in_a_leap_year_only() -> None:
    assert isinstance(parse_nik("1671012902000001", known_districts=DISTRICTS), Nik)  # 29 Feb 2000
    assert isinstance(parse_nik("1671012902010001", known_districts=DISTRICTS), ErrorItem)  # 29 Feb 2001


def test_known_at_grammar() -> None:
    assert parse_known_at(None) == KnownNow()
    assert parse_known_at("") == KnownNow()
    assert parse_known_at("tx:42") == KnownAtTx(42)
    assert parse_known_at("2024-02-20") == KnownOnDate(date(2024, 2, 20))
    instant = parse_known_at("2024-02-20T09:30:00+07:00")
    assert isinstance(instant, KnownAtInstant)
    assert instant.instant == datetime(2024, 2, 20, 2, 30, tzinfo=UTC)
    assert parse_known_at("2024-02-20T02:30:00Z") == instant


def test_a_date_means_the_end_of_that_day_in_jakarta() -> None:
    known = parse_known_at("2024-02-20")
    assert isinstance(known, KnownOnDate)
    assert known.recorded_before == datetime(2024, 2, 21, 0, 0, tzinfo=JAKARTA)
    assert known.recorded_before == datetime(2024, 2, 20, 17, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "text", ["yesterday", "tx:", "tx:-1", "2024-02-30", "2024-02-20T09:00:00", "20240220"]
)
def test_bad_known_at_is_refused(text: str) -> None:
    with pytest.raises(InvalidKnownAt):
        parse_known_at(text)


def test_an_offsets_plus_lost_in_a_url_is_named() -> None:
    """Found by a date probe: the README's known_at, pasted into a URL unencoded, was refused
    without a word about the `+` that arrived as a space."""
    with pytest.raises(InvalidKnownAt, match="%2B"):
        parse_known_at("2024-02-20T09:00:00 07:00")
    with pytest.raises(InvalidKnownAt) as refused:
        parse_known_at("yesterday")
    assert "%2B" not in str(refused.value)


def test_dates_are_named_in_jakarta() -> None:
    late_utc = datetime(2024, 2, 13, 18, 0, tzinfo=UTC)  # 14 Feb 01:00 in Jakarta
    assert jakarta_date(late_utc) == date(2024, 2, 14)
    with pytest.raises(ValueError, match="naive"):
        jakarta_date(datetime(2024, 2, 13, 18, 0))  # noqa: DTZ001 -- the naive value is the point
    assert format_instant(late_utc + timedelta(microseconds=5)) == "2024-02-13T18:00:00.000005Z"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1) | st.text(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=8),
            children,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@given(json_values)
def test_canonical_json_is_rfc8785(value: Any) -> None:
    assert canonical_json(value).encode("utf-8") == rfc8785.dumps(value)


def test_floats_are_refused() -> None:
    with pytest.raises(NotCanonicalizable):
        canonical_json({"amount": 1.5})


def test_unicode_digits_are_not_a_nik() -> None:
    arabic_indic = "١٦٧١٠١٤٥٠١٩٠٠٠٠١"  # 1671014501900001 in Arabic-Indic digits
    result = parse_nik(arabic_indic, known_districts=DISTRICTS, field="nik")
    assert isinstance(result, ErrorItem)
    assert result.code == "nik_not_16_digits"
    assert "another script or full-width" in result.message


def test_a_term_registered_late_says_cover_runs_from_the_registration() -> None:
    """Found by a probe: a PPS term of 17 Jan 2023 – 4 Apr 2024 registered on 10 Jan 2024 read
    "Covered … from 17 Jan 2023", though 2023 was never covered."""
    term = OfficerTerm(
        event_id="pps",
        nik="1671014501900001",
        role="PPS",
        committee="KPU-16.71",
        region_code="16.71.02",
        programs=("JKK", "JKM"),
        valid_from=date(2023, 1, 17),
        valid_to=date(2024, 4, 5),
        registered_on=date(2024, 1, 10),
    )
    answer = officer_coverage(terms=[term], valid_at=date(2024, 1, 10))
    assert answer.status is CoverageStatus.COVERED
    assert answer.reason == (
        "Covered as PPS of KPU-16.71 from 10 Jan to 4 Apr 2024; registered 10 Jan 2024, "
        "the term runs from 17 Jan 2023 to 4 Apr 2024"
    )


@pytest.mark.parametrize(
    ("income", "jht"), [(0, 20_000), (500_000, 20_000), (1_000_000, 20_000), (2_500_000, 50_000)]
)
def test_a_bpu_members_jht_is_never_less_than_that_of_the_lowest_income(income: int, jht: int) -> None:
    """Found by an audit against facts.md ('BPU minimum JKK+JKM Rp16,800; + JHT Rp20,000 =>
    Rp36,800'): JKK had its Rp10,000 floor, JHT none, so Rp500,000 declared paid Rp10,000."""
    (rates,) = BPU_RATES
    assert base_contribution(rates, "JHT", income) == jht
    assert base_contribution(rates, "JKK", income) + base_contribution(rates, "JKM", income) >= 16_800
