"""Calendar months (`YYYY-MM`), the unit of BPU contributions; month ranges are inclusive."""

import re
from dataclasses import dataclass
from datetime import date, timedelta

_MONTH = re.compile(r"^([0-9]{4})-([0-9]{2})$")
MONTH_TEXT = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
"""A month as a caller writes it: `YYYY-MM`, months 01 to 12."""


@dataclass(frozen=True, slots=True, order=True)
class Month:
    """A calendar month."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise ValueError(f"month {self.month} is not 1-12")

    @classmethod
    def parse(cls, text: str) -> "Month":
        """`2025-03` → Month(2025, 3)."""
        match = _MONTH.match(text.strip())
        if not match:
            raise ValueError(f"{text!r} is not a month (YYYY-MM)")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, day: date) -> "Month":
        """The month a date falls in."""
        return cls(day.year, day.month)

    def plus(self, months: int) -> "Month":
        """This month shifted by `months` (negative goes back)."""
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    def minus(self, other: "Month") -> int:
        """How many months `other` is before this one."""
        return (self.year - other.year) * 12 + self.month - other.month

    @property
    def first_day(self) -> date:
        """The first day of the month."""
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        """The last day of the month."""
        return self.plus(1).first_day - timedelta(days=1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def month_range(first: Month, last: Month) -> list[Month]:
    """Every month from `first` to `last`, both included."""
    if last < first:
        raise ValueError(f"{last} is before {first}")
    return [first.plus(i) for i in range(last.minus(first) + 1)]


def months_between(first: date, last: date) -> list[date]:
    """The first day of every month from `first`'s month to `last`'s (none if `last` is before)."""
    start, end = Month.of(first), Month.of(last)
    return [] if end < start else [month.first_day for month in month_range(start, end)]
