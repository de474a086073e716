"""Field types shared by the event schemas.

Numbers and dates are taken only in their JSON form: pydantic's lax mode would read `true` as
1 rupiah, `"16800"` or `16800.0` as an amount and `0` as 1970-01-01, and a ledger that can
never be edited must not guess what a sender meant."""

from datetime import date, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer, Strict, StringConstraints
from pydantic_core import PydanticCustomError

from coverage_ledger.domain.months import MONTH_TEXT
from coverage_ledger.domain.names import (
    TEXT_MAX_CHARS,
    garbled_reading,
    hidden_character,
    hidden_character_in_text,
)
from coverage_ledger.domain.phones import NO_PHONE, phone_problem
from coverage_ledger.domain.region_codes import REGION_CODE_PATTERN
from coverage_ledger.domain.timeframes import (
    DATE_TEXT,
    INSTANT_TEXT,
    PLAUSIBLE_YEARS,
    format_instant,
    plausible_year,
)

EVENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@/-]*$"
"""An event id, and a claim id (the office's own number for a claim)."""
EventId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=EVENT_ID_PATTERN)]
RegionCode = Annotated[str, StringConstraints(pattern=REGION_CODE_PATTERN)]


def _refuse_hidden(value: str, hidden: str | None) -> str:
    """`value`, or the `hidden_character` refusal naming the character a check found in it."""
    if hidden is not None:
        raise PydanticCustomError(
            "hidden_character",
            "holds the control or invisible character {hidden}; send visible text only",
            {"hidden": hidden},
        )
    return value


def _laid_out(value: str) -> str:
    return _refuse_hidden(value, hidden_character_in_text(value))


Text = Annotated[
    str,
    StringConstraints(min_length=1, max_length=TEXT_MAX_CHARS, strip_whitespace=True),
    AfterValidator(_laid_out),
]
"""A committee, a reason, a rule's source: printed in reports and pages, so visible characters
only (a right-to-left override made a committee read as another's; found by a web probe), with
tabs and line breaks."""


def _visible(value: str) -> str:
    return _refuse_hidden(value, hidden_character(value))


PersonText = Annotated[
    str, StringConstraints(max_length=TEXT_MAX_CHARS, strip_whitespace=True), AfterValidator(_visible)
]
"""A name or phone: visible characters only (they are printed in reports and pages)."""


def _not_garbled(value: str) -> str:
    if garbled_reading(value) is not None:
        # the name is not echoed: problems are logged, and a name is personal data
        raise PydanticCustomError(
            "garbled_text",
            "has garbled letters (such as Ã© for é): UTF-8 text was read as Windows-1252 on its "
            "way here; send the name as it was written",
        )
    return value


def _a_phone_number(value: str) -> str:
    problem = phone_problem(value)
    if problem is not None:
        raise PydanticCustomError(*problem)
    return value


def _none_for_no_phone(value: object) -> object:
    return None if isinstance(value, str) and value.strip() in NO_PHONE else value


Phone = Annotated[PersonText, StringConstraints(max_length=32), AfterValidator(_a_phone_number)]
"""An Indonesian phone number (0…, +62…), as a roster's phone cell must be."""
OptionalPhone = Annotated[Phone | None, BeforeValidator(_none_for_no_phone)]
"""A phone, or none: null, or what a clerk writes for none (`""`, `-`), as in a roster."""
PersonName = Annotated[PersonText, StringConstraints(min_length=1), AfterValidator(_not_garbled)]
"""A person's name: as PersonText, not empty, and not UTF-8 read as Windows-1252 (`DÃ©sirÃ©`),
which a roster row is refused for too."""
Count = Annotated[int, Strict()]
"""A JSON integer: not a boolean, a string or a float."""
Rupiah = Annotated[int, Strict(), Field(ge=0, le=10**15, description="Whole rupiah.")]
PositiveRupiah = Annotated[int, Strict(), Field(gt=0, le=10**15, description="Whole rupiah, more than 0.")]
"""An amount that is nothing when 0: a wage, a bill, a payment."""


def _day_text(value: object) -> object:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and DATE_TEXT.match(value):
        return value
    raise PydanticCustomError("invalid_date", "a date is written as text, YYYY-MM-DD")


def _instant_text(value: object) -> object:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and INSTANT_TEXT.match(value):
        return value
    raise PydanticCustomError(
        "invalid_timestamp", "a timestamp is written as RFC 3339 text, e.g. 2024-02-20T09:00:00+07:00"
    )


def _plausible_day(value: date) -> date:
    if not plausible_year(value.year):
        raise PydanticCustomError("date_out_of_range", f"{value.isoformat()} is outside {PLAUSIBLE_YEARS}")
    return value


def _plausible_end(value: date) -> date:
    """An exclusive end: its last day (the day before) must lie in the years a date may name, so
    that a term a roster ends on 31 Dec 2099 can be written and restated here too."""
    if value == date.min or not plausible_year((value - timedelta(days=1)).year):
        raise PydanticCustomError("date_out_of_range", f"{value.isoformat()} is outside {PLAUSIBLE_YEARS}")
    return value


def _plausible_month(value: str) -> str:
    if not plausible_year(int(value[:4])):
        raise PydanticCustomError("date_out_of_range", f"{value} is outside {PLAUSIBLE_YEARS}")
    return value


MonthText = Annotated[str, StringConstraints(pattern=MONTH_TEXT), AfterValidator(_plausible_month)]
"""A calendar month, sent as `YYYY-MM`, in the years a date may name."""
Day = Annotated[date, BeforeValidator(_day_text), AfterValidator(_plausible_day)]
"""A calendar date, sent as `YYYY-MM-DD`."""
EndDay = Annotated[date, BeforeValidator(_day_text), AfterValidator(_plausible_end)]
"""The first day after a period (exclusive), sent as `YYYY-MM-DD`."""
Instant = Annotated[datetime, BeforeValidator(_instant_text)]
"""A timestamp, sent as RFC 3339 text."""
InstantOut = Annotated[datetime, PlainSerializer(format_instant, return_type=str)]
"""An instant in a response: the one text form of tx headers, UTC with microseconds and `Z`."""
