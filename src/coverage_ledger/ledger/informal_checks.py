"""Append rules of BPU events: payments against the membership (grace, lapse, once per month),
amounts against the rule in force for their months, reactivations of lapsed memberships only."""

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.domain.access import Principal
from coverage_ledger.domain.contributions import NoRateInForce, contribution_due
from coverage_ledger.domain.coverage import CoverageStatus
from coverage_ledger.domain.informal import (
    InformalEnrolment,
    Payment,
    PaymentRefusal,
    Reactivation,
    informal_status,
    paid_months,
    paying_enrolment,
    refuse_payment,
)
from coverage_ledger.domain.months import Month
from coverage_ledger.domain.rule_table import RuleTable, rule_table
from coverage_ledger.errors import Conflict, ErrorItem, InvalidInput
from coverage_ledger.ledger import person_events, projections, repository
from coverage_ledger.ledger.preparation import PreparedEvent
from coverage_ledger.ledger.schemas import ContributionPaid, InformalEnrolled, MembershipReactivated
from coverage_ledger.ledger.snapshot import Snapshot


@dataclass
class _Member:
    enrolments: list[InformalEnrolment] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    reactivations: list[Reactivation] = field(default_factory=list)


def _members(snapshot: Snapshot, leaving: Collection[str]) -> dict[str, _Member]:
    members: dict[str, _Member] = {}
    for event in snapshot.informal_events:
        if event.event_id in leaving:  # superseded by this batch: its months are free again
            continue
        member = members.setdefault(event.payload["nik"], _Member())
        if event.type == "informal.enrolled":
            member.enrolments.append(
                person_events.informal_enrolment(event.event_id, event.payload, event.recorded_at)
            )
        elif event.type == "contribution.paid":
            member.payments.append(person_events.payment(event.event_id, event.payload))
        else:
            member.reactivations.append(person_events.reactivation(event.event_id, event.payload))
    return members


def check_informal(
    *,
    principal: Principal,
    prepared: Sequence[PreparedEvent],
    snapshot: Snapshot,
    recording_day: date,
    leaving: Collection[str],
) -> None:
    """Every BPU rule of the batch, events taken in order, against the stored events it leaves
    in force (`leaving`: those it supersedes); refusals are 409, bad amounts 422."""
    bpu = [
        p
        for p in prepared
        if isinstance(p.source, InformalEnrolled | ContributionPaid | MembershipReactivated)
    ]
    if not bpu:
        return
    members = _members(snapshot, leaving)
    rules = rule_table(snapshot.rules)
    conflicts: list[ErrorItem] = []
    invalid: list[ErrorItem] = []
    for item in bpu:
        event = item.source
        assert isinstance(event, InformalEnrolled | ContributionPaid | MembershipReactivated)
        member = members.setdefault(event.nik, _Member())
        if isinstance(event, InformalEnrolled):
            payload = dict(item.row.payload)
            payload.setdefault("registered_on", recording_day.isoformat())
            joining = person_events.informal_enrolment(item.row.event_id, payload, None)
            refused = _membership_in_the_way(principal, item, joining, member, rules)
            if refused is not None:
                conflicts.append(refused)
                continue
            member.enrolments.append(joining)
            continue
        # whose region's event it is: the membership it pays for, or whose day it falls on, as
        # the history places them (judged by the membership of the recording day, a key of the
        # region a member moved to paid into the one left behind and read its months and income)
        owner = person_events.owning_membership(member.enrolments, item.row.type, item.row.payload)
        if owner is not None and not principal.sees(owner.region_code):
            # a membership outside the key's region is answered as one that does not exist: a
            # 403 here would tell another region's clerk that this NIK holds one
            conflicts += _as_for_a_stranger(item, event, rules)
            continue
        if isinstance(event, MembershipReactivated):
            conflicts += _reactivation_errors(item, event, member, rules)
            member.reactivations.append(person_events.reactivation(item.row.event_id, item.row.payload))
            continue
        assert isinstance(event, ContributionPaid)
        payment = person_events.payment(item.row.event_id, item.row.payload)
        refusal = refuse_payment(
            payment=payment,
            enrolments=member.enrolments,
            payments=member.payments,
            reactivations=member.reactivations,
            grace_months=rules.grace_months,
        )
        if refusal is not None:
            conflicts.append(_refused(item, refusal))
            continue
        wrong_amount = _amount_errors(item, event, payment, member, rules)
        invalid += wrong_amount
        if not wrong_amount:  # a refused payment pays nothing: later ones may pay its months
            member.payments.append(payment)
    if conflicts:
        raise Conflict(
            f"{len(conflicts)} BPU event(s) contradict the membership; nothing was written", conflicts
        )
    if invalid:
        raise InvalidInput(f"{len(invalid)} payment(s) with a wrong amount; nothing was written", invalid)


def _membership_in_the_way(
    principal: Principal,
    item: PreparedEvent,
    enrolment: InformalEnrolment,
    member: _Member,
    rules: RuleTable,
) -> ErrorItem | None:
    """Why a new membership cannot start: a membership begun by the day it would cover from has
    not lapsed by then, as the payments made for months before that day have it. The new one
    would take the months that one paid for (a new membership is paid from nothing), so a change
    of membership is a correction of it, and a new one starts only after a lapse. (A membership
    beginning later is no obstacle: the earlier one owns only the months before it. Payments for
    later months are left out, as a superseded membership's stay in force without it.) Another
    region's membership is named without its details."""
    day = enrolment.covers_from
    started = [e for e in member.enrolments if e.covers_from <= day]
    status = informal_status(
        enrolments=started,
        payments=[p for p in member.payments if p.first < Month.of(day)],
        reactivations=member.reactivations,
        valid_at=day,
        grace_months=rules.grace_months,
    )
    if status is None or status.status is CoverageStatus.LAPSED:
        return None
    current = status.enrolment
    assert current is not None
    if not principal.sees(current.region_code):
        return ErrorItem(
            "membership_outside_region",
            "the worker has a BPU membership outside your region: the regional office that holds "
            "it must end it before the worker can be enrolled here",
            field=f"{item.path}.nik",
        )
    return ErrorItem(
        "membership_in_force",
        f"on {day} the worker's BPU membership {current.event_id} (from {current.covers_from}) is "
        f"{status.status.value}, not lapsed: change it by correcting it (event.corrected with its "
        "replacement), or enrol again once it has lapsed",
        field=f"{item.path}.valid_from",
    )


def _as_for_a_stranger(
    item: PreparedEvent, event: ContributionPaid | MembershipReactivated, rules: RuleTable
) -> list[ErrorItem]:
    """The refusal a payment or reactivation gets for a person with no membership at all."""
    if isinstance(event, MembershipReactivated):
        return _reactivation_errors(item, event, _Member(), rules)
    refusal = refuse_payment(
        payment=person_events.payment(item.row.event_id, item.row.payload),
        enrolments=[],
        payments=[],
        reactivations=[],
        grace_months=rules.grace_months,
    )
    assert refusal is not None  # nothing is paid without a membership
    return [_refused(item, refusal)]


REFUSED_FIELD = {"membership_lapsed": "paid_on", "no_membership": "nik", "program_not_enrolled": "programs"}
"""The field a payment refusal points at (the months paid, unless named here): a sponsor
roster's error file names it as the column."""


def _refused(item: PreparedEvent, refusal: PaymentRefusal) -> ErrorItem:
    return ErrorItem(
        refusal.code, refusal.message, field=f"{item.path}.{REFUSED_FIELD.get(refusal.code, 'months_from')}"
    )


def _reactivation_errors(
    item: PreparedEvent, event: MembershipReactivated, member: _Member, rules: RuleTable
) -> list[ErrorItem]:
    answer = informal_status(
        enrolments=member.enrolments,
        payments=member.payments,
        reactivations=member.reactivations,
        valid_at=event.reactivated_on,
        grace_months=rules.grace_months,
    )
    if answer is None:
        return [ErrorItem("no_membership", "the person has no BPU membership to reactivate", field=item.path)]
    if answer.status is not CoverageStatus.LAPSED:
        return [
            ErrorItem(
                "not_lapsed",
                f"the membership is {answer.status.value} on {event.reactivated_on}; "
                "only a lapsed one is reactivated",
                field=f"{item.path}.reactivated_on",
            )
        ]
    return []


def _amount_errors(
    item: PreparedEvent, event: ContributionPaid, payment: Payment, member: _Member, rules: RuleTable
) -> list[ErrorItem]:
    enrolment = paying_enrolment(member.enrolments, payment.first)
    assert enrolment is not None  # refuse_payment checked the membership
    try:
        due = contribution_due(
            months=payment.months,
            programs=list(payment.programs),
            declared_income=enrolment.declared_income,
            sector=enrolment.sector,
            budget=event.payer.budget,
            joined=Month.of(enrolment.covers_from),
            paid_before=frozenset(paid_months(member.payments)),
            rates=rules.rates,
            reliefs=rules.reliefs,
        )
    except NoRateInForce as exc:
        return [ErrorItem("no_rate_in_force", str(exc), field=f"{item.path}.months_from")]
    if due.amount != event.amount:
        return [
            ErrorItem(
                "amount_mismatch",
                f"amount Rp{event.amount:,} does not match the rule in force: expected {due.explain()}",
                field=f"{item.path}.amount",
            )
        ]
    return []


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
        for event in await projections.in_force_events_of(session, niks=niks, types=list(bpu))
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
    grace_months = rule_table(await projections.rule_definitions(session, tx_seq=rules_at)).grace_months
    _refuse_payments_no_longer_accepted(niks, before, after, set(payloads), blame, grace_months, outside)
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


def _refusals(events: _InForce, nik: str, grace_months: int) -> dict[str, PaymentRefusal | None]:
    """Each in-force payment of a person with the refusal it would get after those paid before it
    (on an earlier day, or the same day for earlier months)."""
    enrolments = _memberships(events, nik)
    reactivations = [
        person_events.reactivation(e, payload)
        for e, (kind, payload, _) in events.items()
        if kind == "membership.reactivated" and payload.get("nik") == nik
    ]
    payments = sorted(
        (
            person_events.payment(e, payload)
            for e, (kind, payload, _) in events.items()
            if kind == "contribution.paid" and payload.get("nik") == nik
        ),
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


def _covered(enrolments: Sequence[InformalEnrolment], paid: Payment) -> bool:
    """Whether a membership covers the first month a payment pays for."""
    enrolment = paying_enrolment(enrolments, paid.first)
    return enrolment is not None and paid.first >= Month.of(enrolment.covers_from)
