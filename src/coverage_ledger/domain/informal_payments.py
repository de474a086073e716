"""A BPU payment judged against the memberships, payments and reactivations in force: accepted,
or refused with the reason a payer can act on (paid already, before the membership, after the
grace ran out, leaving unpaid months behind)."""

from collections.abc import Sequence
from dataclasses import dataclass

from coverage_ledger.domain.coverage import CoverageStatus
from coverage_ledger.domain.informal import (
    InformalEnrolment,
    Payment,
    Reactivation,
    anchor_month,
    informal_status,
    paid_months,
    paying_enrolment,
    unprotected_month,
)
from coverage_ledger.domain.months import Month


@dataclass(frozen=True, slots=True)
class PaymentRefusal:
    """Why a payment cannot be accepted."""

    code: str
    message: str


def refuse_payment(
    *,
    payment: Payment,
    enrolments: Sequence[InformalEnrolment],
    payments: Sequence[Payment],
    reactivations: Sequence[Reactivation],
    grace_months: int,
) -> PaymentRefusal | None:
    """Why this payment must be refused given what is in force, or None when it is acceptable."""
    enrolment = paying_enrolment(enrolments, payment.first)
    if enrolment is None or payment.last < Month.of(enrolment.covers_from):
        later = sorted(e.covers_from for e in enrolments if Month.of(e.covers_from) > payment.last)
        if later:
            # typically a membership recorded today, for months paid before it was recorded
            return PaymentRefusal(
                "before_membership",
                f"the membership starts {later[0]}, after these months; for a membership that began "
                "earlier, give the enrolment its registered_on",
            )
        return PaymentRefusal("no_membership", "no BPU membership covers these months; enrol first")
    if payment.first < Month.of(enrolment.covers_from):
        return PaymentRefusal(
            "before_membership",
            f"the membership starts {enrolment.covers_from}; months before it cannot be paid",
        )
    outside = sorted(set(payment.programs) - set(enrolment.programs))
    if outside:
        return PaymentRefusal(
            "program_not_enrolled",
            f"the membership has {', '.join(enrolment.programs)}; {', '.join(outside)} is not one of its "
            "programs",
        )
    if payment.is_top_up and (unpaid := unprotected_month(payment, payments)) is not None:
        return PaymentRefusal(
            "protection_unpaid",
            f"JHT alone is paid only for months whose JKK and JKM were paid by its paid_on; "
            f"{unpaid} was not: pay JKK, JKM and JHT together",
        )
    already: list[str] = []
    for other in payments:
        shared_programs = set(other.programs) & set(payment.programs)
        shared_months = set(other.months) & set(payment.months)
        if shared_programs and shared_months:
            already.append(f"{min(shared_months)}…{max(shared_months)} {'+'.join(sorted(shared_programs))}")
    if already:
        return PaymentRefusal("month_already_paid", "already paid: " + ", ".join(already))
    status = informal_status(
        enrolments=enrolments,
        payments=payments,
        reactivations=reactivations,
        valid_at=payment.paid_on,
        grace_months=grace_months,
    )
    if status is not None and status.status is CoverageStatus.LAPSED:
        return PaymentRefusal(
            "membership_lapsed",
            f"on {payment.paid_on} (paid_on) the membership had lapsed (last paid month "
            f"{status.last_paid or 'none'}); if the money was paid earlier, give that day, else an "
            "office must reactivate it (membership.reactivated) or the worker must enrol again",
        )
    if payment.is_top_up:
        return None  # a JHT top-up of protected months: the grace of protection is not its to keep
    paid = paid_months(payments)
    anchor, reopened_by = anchor_month(enrolment, paid, reactivations, payment.first, payment.paid_on)
    lapse_day = anchor.plus(grace_months + 1).first_day
    if payment.paid_on >= lapse_day:
        # the months after the last paid one could be paid only before the grace ran out, also
        # when later months were paid meanwhile (a gap stays unpaid)
        if any(month > payment.last for month in paid):
            return PaymentRefusal(
                "grace_over",
                f"{payment.first} could be paid only before {lapse_day} ({grace_months} months after "
                f"the last month paid before it, {anchor}); it stays unpaid",
            )
        return PaymentRefusal(
            "membership_lapsed",
            f"months after {anchor} were not paid in time; the membership lapsed on {lapse_day}",
        )
    if payment.first > anchor.plus(grace_months):
        return PaymentRefusal(
            "months_unpaid_before",
            f"{anchor.plus(1)}…{payment.first.plus(-1)} are unpaid: pay them first ({payment.first} "
            f"lies past the {grace_months} months of grace after {anchor}, "
            + (
                "the month before the membership's reactivation"
                if reopened_by
                else "the last month paid before it"
                if anchor in paid
                else "the month before the membership began"
            )
            + ": a month is paid only while the membership has not lapsed in it)",
        )
    return None
