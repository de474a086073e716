"""Service time of claims: a complete claim is paid within some working days (JKM 3, JKK 7 under
PP 44/2015 Pasal 37 and 40); each day of delay after that ("setiap hari keterlambatan": calendar
days, where the service time says "hari kerja") owes 1% of the benefit to the claimant."""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from coverage_ledger.domain.money import percent_of


def is_working_day(day: date, holidays: Collection[date]) -> bool:
    """Monday to Friday, not a public holiday."""
    return day.weekday() < 5 and day not in holidays


def working_days_after(start: date, count: int, holidays: Collection[date] = ()) -> date:
    """The `count`-th working day after `start` (the day the claim became complete)."""
    day = start
    while count > 0:
        day += timedelta(days=1)
        if is_working_day(day, holidays):
            count -= 1
    return day


def working_days_between(after: date, until: date, holidays: Collection[date] = ()) -> int:
    """Working days in (after, until]; 0 when `until` is not later. Whole weeks are counted at
    once: a claim unpaid for years is as quick to date as one a day late."""
    if until <= after:
        return 0
    weeks, rest = divmod((until - after).days, 7)
    count = 5 * weeks
    day = after + timedelta(days=7 * weeks)
    for _ in range(rest):
        day += timedelta(days=1)
        count += day.weekday() < 5
    return count - sum(1 for h in set(holidays) if after < h <= until and h.weekday() < 5)


def days_late(due_on: date, paid_on_or_today: date) -> int:
    """Days of delay: calendar days after the due date (0 when paid by it)."""
    return max((paid_on_or_today - due_on).days, 0)


@dataclass(frozen=True, slots=True)
class Lateness:
    """When a claim was due, and what its lateness owes."""

    due_on: date
    days_late: int
    """Calendar days from the due date to the payment (or to the asked day, while unpaid)."""
    penalty: int
    """Rupiah: `penalty_bp_per_day` of the benefit for each day late."""
    unpaid: bool = True
    """The amount stood unpaid on the day asked (the latest stretch still open)."""

    @property
    def late(self) -> bool:
        """Paid (or, unpaid, as of the asked day) after the due date."""
        return self.days_late > 0


def lateness_over_payments(
    *,
    due: date,
    payments: Sequence[tuple[date, int]],
    amount: int | None,
    today: date,
    benefit: int,
    penalty_bp_per_day: int,
) -> Lateness:
    """Lateness as of `today` of a claim due on `due` whose money moved on the days given (a
    payment `+amount`, a reversal `-amount`; later days not yet reached are left out): the days
    after the due date in every stretch the approved `amount` stood unpaid. A stretch reopened by
    a reversal is late from the later of `due` and the reversal, not while the money stood paid.
    The due date reported is that of the latest stretch."""
    if amount is None:  # not approved: owed from the due date on
        late = days_late(due, today)
        return Lateness(due, late, percent_of(benefit, penalty_bp_per_day * late))
    late, stretch_due, settled = 0, due, False
    for day, settled in _turns(payments, amount, until=today):
        if settled:
            late += days_late(stretch_due, day)
        else:
            stretch_due = max(due, day)
    if not settled:
        late += days_late(stretch_due, today)
    return Lateness(stretch_due, late, percent_of(benefit, penalty_bp_per_day * late), unpaid=not settled)


def reopened_on(moves: Sequence[tuple[date, int]], amount: int | None) -> date | None:
    """The day a reversal last made an `amount` that had been paid in full owed again, if it still
    is (`moves` as `lateness_over_payments` takes them); None otherwise."""
    if amount is None:
        return None
    turns = _turns(moves, amount)
    return turns[-1][0] if turns and not turns[-1][1] else None


def _turns(
    moves: Sequence[tuple[date, int]], amount: int, until: date | None = None
) -> list[tuple[date, bool]]:
    """The days on which the money moved (up to `until`) made `amount` paid in full (True) or owed
    again (False), in order."""
    by_day: dict[date, int] = {}
    for day, change in moves:
        if until is None or day <= until:
            by_day[day] = by_day.get(day, 0) + change
    paid, settled, turns = 0, False, []
    for day in sorted(by_day):
        paid += by_day[day]
        if settled != (paid >= amount):
            settled = paid >= amount
            turns.append((day, settled))
    return turns
