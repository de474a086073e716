"""Append rules on the BPU events a correction moves in or out of force (a new event is checked
with its batch, `informal_checks`): no payment left for months no membership covers, none the
payment rules would now refuse, no month of a program paid twice by a restored payment, no
reactivation left of a membership that a corrected payment shows had not lapsed; a payment held
outside the key's region refused without its id, months or day."""

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.domain.access import Principal
from coverage_ledger.domain.informal import (
    InformalEnrolment,
    Payment,
    Reactivation,
    lapsed_when_reactivated,
    paying_enrolment,
    unprotected_month,
)
from coverage_ledger.domain.informal_payments import PaymentRefusal, refuse_payment
from coverage_ledger.domain.months import Month
from coverage_ledger.errors import Conflict, ErrorItem
from coverage_ledger.ledger import person_events, projections_repository, repository
from coverage_ledger.ledger.rule_table_cache import rule_table_at


async def check_bpu_moves(
    session: AsyncSession,
    *,
    entering: Sequence[str],
    leaving: Sequence[tuple[str, str | None]],
    kinds: dict[str, tuple[str, str | None]],
    payloads: dict[str, dict[str, Any]],
    paths: dict[str, str],
    recording_day: date,
    rules_at: int,
    principal: Principal,
) -> set[str]:
    """The BPU rules on events a batch moves in or out of force (a new event is checked with the
    batch, check_informal), read in one go: no payment may be left for months no membership
    covers (a membership corrected away from its payments or retracted under them, a payment
    restored without its membership; a payment already outside one before the batch does not
    hold it up), no stored payment may be left that the payment rules would now refuse (a
    reactivation withdrawn from under the payments it allowed), and a payment restored by
    superseding its retraction may not pay a month of a program twice. 409 for any; returns the
    persons concerned, for the recheck under the append lock. A payment held outside the key's
    region is refused without its id, months or day."""
    bpu = ("informal.enrolled", "contribution.paid", "membership.reactivated")
    left = {e: cause for e, cause in leaving if kinds[e][0] == "informal.enrolled"}
    replaced_niks = {kinds[e][1] for e in left}
    restored = [e for e in entering if e not in payloads and kinds[e][0] in bpu]
    # the event of the batch to blame per person: a replacement, else the correction
    blame: dict[str, str] = {}
    for event_id, cause in left.items():
        blame.setdefault(kinds[event_id][1] or "", paths.get(cause or "", "events"))
    for event_id in entering:
        if (
            event_id in payloads
            and kinds[event_id][0] == "informal.enrolled"
            and kinds[event_id][1] in replaced_niks
        ):
            blame[kinds[event_id][1] or ""] = paths.get(event_id, "events")
    for event_id, cause in leaving:
        if kinds[event_id][0] == "membership.reactivated":
            blame.setdefault(kinds[event_id][1] or "", paths.get(cause or "", "events"))
    for event_id in entering:
        if event_id in payloads and kinds[event_id][0] == "membership.reactivated":
            blame[kinds[event_id][1] or ""] = paths.get(event_id, "events")
    for event_id in restored:
        blame.setdefault(kinds[event_id][1] or "", next(iter(paths.values()), "events"))
    niks = {nik for nik in blame if nik}
    if not niks:
        return set()
    gone = {e for e, _ in leaving}
    before = {
        event.event_id: (event.type, event.payload, event.recorded_at)
        for event in await projections_repository.in_force_events_of(session, niks=niks, types=list(bpu))
    }
    after = {e: v for e, v in before.items() if e not in gone}
    for event_id, stored in (await repository.events_by_id(session, restored)).items():
        after[event_id] = (kinds[event_id][0], stored.payload, stored.recorded_at)
    for event_id in entering:
        if event_id in payloads and kinds[event_id][0] in bpu:
            payload = payloads[event_id]
            day = payload.get("registered_on") or recording_day.isoformat()
            after[event_id] = (kinds[event_id][0], payload | {"registered_on": day}, None)
    # (the events the batch moves passed the key's scope check: it may hear of them)
    outside = _held_outside(principal, before, after) - set(entering) - gone
    _refuse_payments_outside(niks, before, after, set(entering), blame, outside)
    payers = {kinds[e][1] for e in restored if kinds[e][0] == "contribution.paid"}
    _refuse_months_paid_twice(
        {
            e: payload
            for e, (kind, payload, _) in after.items()
            if kind == "contribution.paid" and payload["nik"] in payers
        },
        paths,
        outside,
    )
    _refuse_top_ups_restored_alone([e for e in restored if e not in gone], after, blame)
    grace_months = (await rule_table_at(session, tx_seq=rules_at)).grace_months
    _refuse_payments_no_longer_accepted(niks, before, after, set(payloads), blame, grace_months, outside)
    _refuse_reactivations_no_longer_valid(niks, before, after, set(payloads), blame, grace_months)
    return niks


_InForce = dict[str, tuple[str, dict[str, Any], datetime | None]]
"""event_id -> (type, payload, recorded_at) of BPU events in force."""

HELD_OUTSIDE = "a payment held outside your region"
"""How a refusal names a payment whose membership lies outside the key's region."""


def _held_outside(principal: Principal, before: _InForce, after: _InForce) -> set[str]:
    """The payments, before or after the batch, that pay for a membership outside the key's region."""
    outside: set[str] = set()
    if principal.region_prefix is None:
        return outside
    for state in (before, after):
        memberships = person_events.memberships_by_person(
            (e, kind, p, at) for e, (kind, p, at) in state.items()
        )
        for event_id, (kind, payload, _) in state.items():
            if kind != "contribution.paid":
                continue
            owner = person_events.owning_membership(memberships.get(payload["nik"], []), kind, payload)
            if owner is not None and not principal.sees(owner.region_code):
                outside.add(event_id)
    return outside


def _refuse_top_ups_restored_alone(restored: Sequence[str], after: _InForce, blame: dict[str, str]) -> None:
    """409 `protection_unpaid` for a JHT top-up brought back by a correction for months whose JKK
    and JKM were not paid by its day (a new one is refused so with its batch, `refuse_payment`)."""
    errors = []
    for event_id in restored:
        kind, payload, _ = after[event_id]
        if kind != "contribution.paid":
            continue
        top_up = person_events.payment(event_id, payload)
        if top_up.is_top_up and unprotected_month(top_up, _payments(after, payload["nik"])) is not None:
            errors.append(
                ErrorItem(
                    "protection_unpaid",
                    f"JHT top-up {event_id} would be back for months whose JKK and JKM were not paid by "
                    "its day; bring their payment back too, or leave it out",
                    field=blame.get(payload["nik"], "events"),
                )
            )
    if errors:
        raise Conflict(
            f"{len(errors)} JHT top-up(s) without their protection; nothing was written", errors[:20]
        )


def _refuse_payments_outside(
    niks: set[str],
    before: _InForce,
    after: _InForce,
    entering: set[str],
    blame: dict[str, str],
    outside: set[str],
) -> None:
    """409 for a payment the batch brings in, or moves its membership away from, that no
    membership covers after it."""
    errors = []
    for nik in sorted(niks):
        covers_before = _memberships(before, nik)
        covers_after = _memberships(after, nik)
        for event_id, (kind, payload, _) in sorted(after.items()):
            if kind != "contribution.paid" or payload.get("nik") != nik:
                continue
            paid = person_events.payment(event_id, payload)
            if _covered(covers_after, paid) or (
                event_id not in entering and not _covered(covers_before, paid)
            ):
                continue
            named = HELD_OUTSIDE if event_id in outside else f"payment {event_id} ({paid.first}…{paid.last})"
            errors.append(
                ErrorItem(
                    "payment_outside_membership",
                    f"{named} would be left for months no membership covers; correct or retract it in "
                    "the same batch (a replacing membership without registered_on starts on the day it "
                    "is recorded)",
                    field=blame[nik],
                )
            )
    if errors:
        raise Conflict(
            f"{len(errors)} payment(s) would be left outside a membership; nothing was written", errors[:20]
        )


def _refuse_payments_no_longer_accepted(
    niks: set[str],
    before: _InForce,
    after: _InForce,
    batch: set[str],
    blame: dict[str, str],
    grace_months: int,
    outside: set[str],
) -> None:
    """409 for a stored payment the payment rules accept with the events in force before the
    batch but refuse with those after it (its months judged in the order they were paid); the
    batch's own payments are checked with the batch, and one refused already before does not
    hold the batch up."""
    errors = []
    for nik in sorted(niks):
        accepted_before = _refusals(before, nik, grace_months)
        for event_id, refusal in _refusals(after, nik, grace_months).items():
            if refusal is None or event_id in batch or accepted_before.get(event_id, refusal) is not None:
                continue
            why = (
                f"{HELD_OUTSIDE} would no longer be accepted"
                if event_id in outside
                else f"payment {event_id} would no longer be accepted: {refusal.message}"
            )
            errors.append(
                ErrorItem(
                    "payment_no_longer_accepted",
                    f"{why}; correct or retract it in the same batch",
                    field=blame[nik],
                )
            )
    if errors:
        raise Conflict(
            f"{len(errors)} payment(s) would be left that the payment rules refuse; nothing was written",
            errors[:20],
        )


def _refuse_reactivations_no_longer_valid(
    niks: set[str],
    before: _InForce,
    after: _InForce,
    batch: set[str],
    blame: dict[str, str],
    grace_months: int,
) -> None:
    """409 for a stored reactivation of a membership lapsed on its day before the batch but not
    after it (a payment brought back by superseding its retraction; a new or replacing payment is
    checked with the batch, `informal_checks`): left in force, it would reopen the grace
    window of a membership that never lapsed. Judged, as when it was recorded, on what had been
    paid before its day; the batch's own reactivations are checked with the batch."""
    errors = []
    for nik in sorted(niks):
        lapsed_before = _reactivated_lapsed(before, nik, grace_months)
        for event_id, lapsed in _reactivated_lapsed(after, nik, grace_months).items():
            if lapsed or event_id in batch or not lapsed_before.get(event_id, False):
                continue
            day = after[event_id][1]["reactivated_on"]
            errors.append(
                ErrorItem(
                    "reactivation_no_longer_valid",
                    f"the membership's reactivation of {day} would no longer be of a lapsed membership; "
                    "correct or retract it in the same batch",
                    field=blame[nik],
                )
            )
    if errors:
        raise Conflict(
            f"{len(errors)} reactivation(s) would be left of a membership that had not lapsed; "
            "nothing was written",
            errors[:20],
        )


def _reactivated_lapsed(events: _InForce, nik: str, grace_months: int) -> dict[str, bool]:
    """Each in-force reactivation of a person, and whether the membership was lapsed on its day
    by the payments made before that day and the reactivations before it."""
    enrolments, reactivations, payments = (
        _memberships(events, nik),
        _reactivations(events, nik),
        _payments(events, nik),
    )
    judged = {}
    for reactivation in reactivations:
        judged[reactivation.event_id] = lapsed_when_reactivated(
            reactivation,
            enrolments=enrolments,
            payments=payments,
            reactivations=reactivations,
            grace_months=grace_months,
        )
    return judged


def _refusals(events: _InForce, nik: str, grace_months: int) -> dict[str, PaymentRefusal | None]:
    """Each in-force payment of a person with the refusal it would get after those paid before it
    (on an earlier day, or the same day for earlier months)."""
    enrolments, reactivations = _memberships(events, nik), _reactivations(events, nik)
    payments = sorted(
        _payments(events, nik),
        # in the order they would have been accepted: by day paid, then by the months they pay
        # (a payment for April is judged after one for February paid the same day)
        key=lambda p: (p.paid_on, p.first, p.last, p.event_id),
    )
    return {
        payment.event_id: refuse_payment(
            payment=payment,
            enrolments=enrolments,
            payments=payments[:position],
            reactivations=reactivations,
            grace_months=grace_months,
        )
        for position, payment in enumerate(payments)
    }


def _refuse_months_paid_twice(
    payments: dict[str, dict[str, Any]], paths: dict[str, str], outside: set[str]
) -> None:
    """409 when two payments in force would pay one month of a program of one person."""
    paid_by: dict[tuple[str, Month, str], str] = {}
    errors = []
    for event_id, payload in sorted(payments.items()):
        payment = person_events.payment(event_id, payload)
        for month in payment.months:
            for program in payment.programs:
                other = paid_by.setdefault((payload["nik"], month, program), event_id)
                if other != event_id:
                    first, second = (HELD_OUTSIDE if e in outside else e for e in (other, event_id))
                    errors.append(
                        ErrorItem(
                            "month_already_paid",
                            f"{month} {program} of NIK {payload['nik']} is paid by {first} and {second}; "
                            "only one of them may be in force",
                            field=next((f"{path}.supersedes" for path in paths.values()), "events"),
                        )
                    )
    if errors:
        raise Conflict(f"{len(errors)} month(s) would be paid twice; nothing was written", errors[:20])


def _memberships(
    events: dict[str, tuple[str, dict[str, Any], datetime | None]], nik: str
) -> list[InformalEnrolment]:
    return [
        person_events.informal_enrolment(e, payload, at)
        for e, (kind, payload, at) in events.items()
        if kind == "informal.enrolled" and payload.get("nik") == nik
    ]


def _reactivations(events: _InForce, nik: str) -> list[Reactivation]:
    return [
        person_events.reactivation(e, payload)
        for e, (kind, payload, _) in events.items()
        if kind == "membership.reactivated" and payload.get("nik") == nik
    ]


def _payments(events: _InForce, nik: str) -> list[Payment]:
    return [
        person_events.payment(e, payload)
        for e, (kind, payload, _) in events.items()
        if kind == "contribution.paid" and payload.get("nik") == nik
    ]


def _covered(enrolments: Sequence[InformalEnrolment], paid: Payment) -> bool:
    """Whether a membership covers the first month a payment pays for."""
    enrolment = paying_enrolment(enrolments, paid.first)
    return enrolment is not None and paid.first >= Month.of(enrolment.covers_from)
