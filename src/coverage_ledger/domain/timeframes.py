"""Valid time and known time: Asia/Jakarta dates, instants, and the `known_at` grammar."""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

JAKARTA = ZoneInfo("Asia/Jakarta")
"""Every valid-time date and every date of knowledge is a calendar date in this zone."""

EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2099, 12, 31)
"""The dates an event or a roster may hold: a year like 0001 or 9999 is a typo (and 9999-12-31
has no next day to end a half-open period on)."""

PLAUSIBLE_YEARS = f"{EARLIEST_DAY.year}–{LATEST_DAY.year}"
"""The range of `EARLIEST_DAY`..`LATEST_DAY` as messages name it."""


def plausible_year(year: int) -> bool:
    """Whether a date of this year may stand in an event or a roster."""
    return EARLIEST_DAY.year <= year <= LATEST_DAY.year


GENESIS_RECORDED_AT = datetime(2000, 1, 1, 0, 0, 0, tzinfo=JAKARTA)
"""`recorded_at` of the first genesis tx: reference data shipped with a release (DESIGN.md)."""


def jakarta_date(instant: datetime) -> date:
    """The Asia/Jakarta calendar date of an aware instant."""
    if instant.tzinfo is None:
        raise ValueError("a naive datetime has no zone; refusing to guess one")
    return instant.astimezone(JAKARTA).date()


def start_of_jakarta_day(day: date) -> datetime:
    """00:00 Asia/Jakarta on `day`, as an aware instant."""
    return datetime.combine(day, time(0, 0), tzinfo=JAKARTA)


def format_instant(instant: datetime) -> str:
    """The one text form of an instant in tx headers and responses: UTC, microseconds, `Z`."""
    if instant.tzinfo is None:
        raise ValueError("a naive datetime has no zone; refusing to guess one")
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class KnownNow:
    """`known_at` absent or empty: the head of the ledger."""


@dataclass(frozen=True, slots=True)
class KnownAtInstant:
    """An RFC 3339 timestamp: the txs with `recorded_at <= instant`."""

    instant: datetime


@dataclass(frozen=True, slots=True)
class KnownOnDate:
    """A date D: the txs recorded before 00:00 Asia/Jakarta on D+1."""

    day: date

    @property
    def recorded_before(self) -> datetime:
        """The first instant no longer included."""
        return start_of_jakarta_day(self.day + timedelta(days=1))


@dataclass(frozen=True, slots=True)
class KnownAtTx:
    """`tx:N`: the txs with `tx_seq <= N`."""

    tx_seq: int


KnownAt = KnownNow | KnownAtInstant | KnownOnDate | KnownAtTx

_TX = re.compile(r"^tx:([0-9]{1,64})\Z")
LAST_TX_SEQ = 2**63 - 1
"""The largest tx_seq a bigint holds: any larger `tx:N` is beyond every head all the same."""
DATE_TEXT = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
"""A calendar date as text, `YYYY-MM-DD`, and nothing after it (not even a line break)."""
# RFC 3339's date-time (fractions past microseconds are cut: recorded_at keeps microseconds, so
# "recorded at or before T" selects the same txs)
INSTANT_TEXT = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}"
    r"(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})?\Z"
)
_LAST_COUNTABLE_DAY = date(9999, 12, 30)


class InvalidKnownAt(ValueError):
    """The text is none of: timestamp, date, `tx:N`."""


def parse_known_at(text: str | None) -> KnownAt:
    """Parse the `known_at` grammar of DESIGN.md; an empty value means now."""
    if text is None or text.strip() == "":
        return KnownNow()
    value = text.strip()
    tx = _TX.match(value)
    if tx:
        return KnownAtTx(min(int(tx.group(1)), LAST_TX_SEQ))
    if DATE_TEXT.match(value):
        try:
            day = date.fromisoformat(value)
        except ValueError as exc:
            raise InvalidKnownAt(f"{value!r} is not a real calendar date") from exc
        # the last days of year 9999 have no next midnight to count to: they are beyond any head
        return KnownNow() if day >= _LAST_COUNTABLE_DAY else KnownOnDate(day)
    if not INSTANT_TEXT.match(value):
        hint = ""
        if INSTANT_TEXT.match(value.replace(" ", "+")):
            # found by a date probe: a URL's unencoded `+` arrives as a space
            hint = " (a `+` in a URL reads as a space: write the offset's + as %2B)"
        raise InvalidKnownAt(f"{value!r} is not an RFC 3339 timestamp, a date (YYYY-MM-DD) or tx:N{hint}")
    try:
        instant = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError as exc:
        raise InvalidKnownAt(f"{value!r} is not a real calendar date and time") from exc
    if instant.tzinfo is None:
        raise InvalidKnownAt(f"{value!r} has no UTC offset; write e.g. 2024-02-20T09:00:00+07:00")
    try:
        instant.astimezone(UTC)
    except OverflowError:
        # past the last representable instant (9999-12-31T23:59:59-14:00): beyond any head; before
        # the first (0001-01-01T00:00:00+14:00): before the ledger's first tx
        return KnownAtTx(0) if instant.year == 1 else KnownNow()
    return KnownAtInstant(instant)


def parse_valid_at(text: str | None, *, today: date) -> date:
    """A `valid_at` date; empty means `today` (the caller passes today in Asia/Jakarta)."""
    if text is None or text.strip() == "":
        return today
    if not DATE_TEXT.match(text.strip()):
        raise ValueError(f"{text!r} is not a date (YYYY-MM-DD)")
    try:
        day = date.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a date (YYYY-MM-DD)") from exc
    if not plausible_year(day.year):  # the dates any event may hold
        raise DateOutOfRange(f"{text!r} is outside {PLAUSIBLE_YEARS}")
    return day


class DateOutOfRange(ValueError):
    """A real date outside the years a date may name (`date_out_of_range`, as in a request body)."""
