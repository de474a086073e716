"""Coverage of informal (BPU) workers: membership, paid months, grace and lapse.

Protection ends after the last paid month L. Months L+1 … L+g (g from the rule table) may still
be paid while `paid_on` falls before the first day of month L+g+1; from that day the membership
is lapsed until a new enrolment or an office's reactivation, after which the grace window counts
again from the reactivation date. A month is paid at most once per program.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from coverage_ledger.domain.coverage import (
    MONTH_NAMES,
    CoverageAnswer,
    CoverageSource,
    CoverageStatus,
    human_date,
)
from coverage_ledger.domain.months import Month, month_range

PROTECTION_PROGRAMS = ("JKK", "JKM")
"""The programs that protect; JHT is savings and does not make a member covered."""


@dataclass(frozen=True, slots=True)
class InformalEnrolment:
    """One in-force `informal.enrolled`."""

    event_id: str
    programs: tuple[str, ...]
    declared_income: int
    region_code: str
    valid_from: date
    registered_on: date
    sector: str
    payer_budget: str | None

    @property
    def covers_from(self) -> date:
        """Membership starts when the form was received, never before valid_from."""
        return max(self.valid_from, self.registered_on)


@dataclass(frozen=True, slots=True)
class Payment:
    """One in-force `contribution.paid`."""

    event_id: str
    programs: tuple[str, ...]
    first: Month
    last: Month
    amount: int
    paid_on: date

    @property
    def months(self) -> list[Month]:
        """The months it pays for."""
        return month_range(self.first, self.last)

    @property
    def is_top_up(self) -> bool:
        """JHT alone, for months whose protection another payment pays: it pays no protection
        program, so it protects nothing."""
        return not set(self.programs) & set(PROTECTION_PROGRAMS)


@dataclass(frozen=True, slots=True)
class Reactivation:
    """One in-force `membership.reactivated`."""

    event_id: str
    reactivated_on: date


@dataclass(frozen=True, slots=True)
class InformalAnswer:
    """The informal side of a coverage answer on one date."""

    status: CoverageStatus
    enrolment: InformalEnrolment | None
    programs: tuple[str, ...]
    last_paid: Month | None
    payable_until: date | None
    """For in_arrears: the first day on which the arrears can no longer be paid."""
    evidence: tuple[str, ...]


def governing_enrolment(enrolments: Sequence[InformalEnrolment], day: date) -> InformalEnrolment | None:
    """The membership a day belongs to: the latest one started by then, else the first to come."""
    started = [e for e in enrolments if e.covers_from <= day]
    if started:
        return max(started, key=lambda e: (e.covers_from, e.event_id))
    upcoming = sorted(enrolments, key=lambda e: (e.covers_from, e.event_id))
    return upcoming[0] if upcoming else None


def paying_enrolment(enrolments: Sequence[InformalEnrolment], first: Month) -> InformalEnrolment | None:
    """The membership a payment starting in month `first` pays for: the one in force by the end of
    that month, so a membership started mid-month after a lapsed one can pay its first month."""
    return governing_enrolment(enrolments, first.last_day)


def payments_of(
    enrolment: InformalEnrolment, enrolments: Sequence[InformalEnrolment], payments: Sequence[Payment]
) -> list[Payment]:
    """The payments made to this membership (a later membership's first month, begun mid-month,
    is not paid to the lapsed one it follows)."""
    if len(enrolments) == 1:
        return list(payments)
    return [
        p
        for p in payments
        if (owner := paying_enrolment(enrolments, p.first)) and owner.event_id == enrolment.event_id
    ]


def paid_months(
    payments: Sequence[Payment], programs: Sequence[str] = PROTECTION_PROGRAMS
) -> dict[Month, set[str]]:
    """Protection programs paid per month."""
    paid: dict[Month, set[str]] = {}
    for payment in payments:
        for month in payment.months:
            paid.setdefault(month, set()).update(p for p in payment.programs if p in programs)
    return {m: p for m, p in paid.items() if p}


def unprotected_month(top_up: Payment, payments: Sequence[Payment]) -> Month | None:
    """The first month of a JHT top-up whose JKK and JKM no other payment had paid by its day
    (None: every month was): a top-up rests on protection paid first."""
    # (the top-up among them pays no protection, so it counts for nothing here)
    protected = paid_months([p for p in payments if p.paid_on <= top_up.paid_on])
    return next((m for m in top_up.months if not set(PROTECTION_PROGRAMS) <= protected.get(m, set())), None)


def months_contributed(payments: Sequence[Payment], *, by: date) -> int:
    """Months paid for up to the month of `by` (an incident), by that day: what "years of
    contributions" count. Months paid in advance for after the incident do not count, nor do
    arrears paid after it (heirs' late payment may restore the cover, as in the Sidoarjo case of
    facts.md, but it does not make up years of contributions the member had not paid)."""
    paid_by_then = [p for p in payments if p.paid_on <= by]
    return sum(1 for month in paid_months(paid_by_then) if month <= Month.of(by))


def _last_paid_before(paid: dict[Month, set[str]], start: Month, before: Month) -> Month | None:
    """The last month of the membership (from `start`) paid before `before`, if any."""
    return max((m for m in paid if start <= m < before), default=None)


def anchor_month(
    enrolment: InformalEnrolment,
    paid: dict[Month, set[str]],
    reactivations: Sequence[Reactivation],
    before: Month,
    day: date,
) -> tuple[Month, tuple[str, ...]]:
    """The month grace counts from on `day`: the last paid month before `before` (or the month
    before the membership started), moved up by a reactivation made by `day`."""
    start = Month.of(enrolment.covers_from)
    last_paid = _last_paid_before(paid, start, before)
    anchor = last_paid if last_paid is not None else start.plus(-1)
    evidence: tuple[str, ...] = ()
    for reactivation in reactivations:
        if enrolment.covers_from <= reactivation.reactivated_on <= day:
            reopened = Month.of(reactivation.reactivated_on).plus(-1)
            if reopened > anchor:
                anchor, evidence = reopened, (reactivation.event_id,)
    return anchor, evidence


def informal_status(
    *,
    enrolments: Sequence[InformalEnrolment],
    payments: Sequence[Payment],
    reactivations: Sequence[Reactivation],
    valid_at: date,
    grace_months: int,
) -> InformalAnswer | None:
    """The BPU status on `valid_at` from the events in force (None: never enrolled as BPU)."""
    enrolment = governing_enrolment(enrolments, valid_at)
    if enrolment is None:
        return None
    if valid_at < enrolment.covers_from:
        return InformalAnswer(CoverageStatus.NOT_STARTED, enrolment, (), None, None, (enrolment.event_id,))
    payments = payments_of(enrolment, enrolments, payments)
    paid = paid_months(payments)
    month = Month.of(valid_at)
    start = Month.of(enrolment.covers_from)
    covering = [
        p for p in payments if p.first <= month <= p.last and set(p.programs) & set(PROTECTION_PROGRAMS)
    ]
    if month in paid and month >= start:
        return InformalAnswer(
            CoverageStatus.COVERED,
            enrolment,
            tuple(sorted(paid[month])),
            month,
            None,
            (enrolment.event_id, *(p.event_id for p in covering)),
        )
    # lapsed or not is judged on what had been paid by that day: arrears paid after a
    # reactivation cover their months but do not undo the lapse it ended (the Sidoarjo case of
    # facts.md: lapsed from October, reactivated and paid in December)
    paid_then = paid_months([p for p in payments if p.paid_on <= valid_at])
    anchor_then, reopened_then = anchor_month(enrolment, paid_then, reactivations, month, valid_at)
    if month > anchor_then.plus(grace_months):
        return InformalAnswer(
            CoverageStatus.LAPSED,
            enrolment,
            (),
            _last_paid_before(paid_then, start, month),
            None,
            (enrolment.event_id, *reopened_then),
        )
    # in arrears: the deadline as it came to be, each month paid in time moving it on (a month
    # paid after it, once reactivated, does not: the membership lapsed first)
    anchor, reopened_by = anchor_then, reopened_then
    while True:
        lapse_day = anchor.plus(grace_months + 1).first_day
        in_time = paid_months([p for p in payments if p.paid_on < lapse_day])
        moved, moved_by = anchor_month(enrolment, in_time, reactivations, month, valid_at)
        if moved <= anchor:
            break
        anchor, reopened_by = moved, moved_by
    return InformalAnswer(
        CoverageStatus.IN_ARREARS,
        enrolment,
        (),
        # the last month paid, not the anchor: a reactivation moves the anchor to an unpaid month
        _last_paid_before(paid, start, month),
        lapse_day,
        (enrolment.event_id, *reopened_by),
    )


def lapsed_when_reactivated(
    reactivation: Reactivation,
    *,
    enrolments: Sequence[InformalEnrolment],
    payments: Sequence[Payment],
    reactivations: Sequence[Reactivation],
    grace_months: int,
) -> bool:
    """Whether the membership was lapsed on the reactivation's day, judged as when it was made:
    on the payments made before that day and the reactivations before it (a payment made later
    pays arrears, it does not undo the lapse)."""
    day = reactivation.reactivated_on
    answer = informal_status(
        enrolments=enrolments,
        payments=[p for p in payments if p.paid_on < day],
        reactivations=[r for r in reactivations if r.reactivated_on < day],
        valid_at=day,
        grace_months=grace_months,
    )
    return answer is not None and answer.status is CoverageStatus.LAPSED


def _month_name(month: Month) -> str:
    return f"{MONTH_NAMES[month.first_day.month - 1]} {month.year}"


def _paid_run(paid: dict[Month, set[str]], month: Month) -> tuple[Month, Month]:
    first = last = month
    while first.plus(-1) in paid:
        first = first.plus(-1)
    while last.plus(1) in paid:
        last = last.plus(1)
    return first, last


def informal_coverage(
    *,
    enrolments: Sequence[InformalEnrolment],
    payments: Sequence[Payment],
    reactivations: Sequence[Reactivation],
    valid_at: date,
    grace_months: int,
) -> CoverageAnswer | None:
    """The BPU side of the coverage answer, with its source and a sentence for the clerk."""
    answer = informal_status(
        enrolments=enrolments,
        payments=payments,
        reactivations=reactivations,
        valid_at=valid_at,
        grace_months=grace_months,
    )
    if answer is None or answer.enrolment is None:
        return None
    enrolment = answer.enrolment
    payments = payments_of(enrolment, enrolments, payments)
    paid = paid_months(payments)
    month = Month.of(valid_at)
    # not covered: the months of protection that ended last, else an empty period at the start
    period_from, period_to = enrolment.covers_from, enrolment.covers_from
    if answer.status is not CoverageStatus.COVERED and answer.last_paid in paid:
        first, last = _paid_run(paid, answer.last_paid)
        period_from = max(enrolment.covers_from, first.first_day)
        period_to = max(period_from, last.plus(1).first_day)
    if answer.status is CoverageStatus.COVERED:
        first, last = _paid_run(paid, month)
        period_from = max(enrolment.covers_from, first.first_day)
        period_to = last.plus(1).first_day
        # the payments of its protection (a JHT top-up paid on another day protects nothing)
        payers = [p for p in payments if p.first <= month <= p.last and not p.is_top_up]
        paid_on = min(p.paid_on for p in payers)
        reason = (
            f"Covered as BPU member ({', '.join(answer.programs)}) for {_month_name(month)}, "
            f"paid on {human_date(paid_on)}"
        )
    elif answer.status is CoverageStatus.IN_ARREARS:
        assert answer.payable_until is not None
        ended = f"after {_month_name(answer.last_paid)}" if answer.last_paid else "before any month was paid"
        reason = (
            f"In arrears: protection ended {ended}; the arrears can be paid until "
            f"{human_date(answer.payable_until - timedelta(days=1))}"
        )
    elif answer.status is CoverageStatus.LAPSED:
        paid_note = f"last paid month {_month_name(answer.last_paid)}" if answer.last_paid else "nothing paid"
        known_now = _last_paid_before(paid, Month.of(enrolment.covers_from), month)
        if known_now is not None and known_now != answer.last_paid:
            paid_note += f" by then; months up to {_month_name(known_now)} were paid later"
        reason = f"Lapsed ({paid_note}): the membership needs an office's reactivation or a new enrolment"
    else:
        reason = f"Enrolled as BPU member from {human_date(enrolment.covers_from)}"
        start = Month.of(enrolment.covers_from)
        if start in paid:  # not started yet: the months already paid from its start
            _, last = _paid_run(paid, start)
            period_to = last.plus(1).first_day
            reason += f", paid through {_month_name(last)}"
    source = CoverageSource(
        kind="informal",
        event_id=enrolment.event_id,
        programs=answer.programs or tuple(p for p in enrolment.programs if p in PROTECTION_PROGRAMS),
        valid_from=period_from,
        valid_to=period_to,
        covers_from=enrolment.covers_from,
        region_code=enrolment.region_code,
        status=answer.status,
    )
    return CoverageAnswer(
        status=answer.status,
        programs=answer.programs,
        sources=(source,),
        period=(period_from, period_to) if answer.status is CoverageStatus.COVERED else None,
        reason=reason,
        evidence=answer.evidence,
    )
