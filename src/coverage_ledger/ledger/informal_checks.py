"""Append rules of BPU events: payments against the membership (grace, lapse, once per month),
amounts against the rule in force for their months, reactivations of lapsed memberships only."""

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date

from coverage_ledger.domain.access import Principal
from coverage_ledger.domain.contributions import NoRateInForce, contribution_due
from coverage_ledger.domain.coverage import CoverageStatus
from coverage_ledger.domain.informal import (
    InformalEnrolment,
    Payment,
    Reactivation,
    governing_enrolment,
    informal_status,
    lapsed_when_reactivated,
    paid_months,
    paying_enrolment,
)
from coverage_ledger.domain.informal_payments import PaymentRefusal, refuse_payment
from coverage_ledger.domain.months import Month
from coverage_ledger.domain.rule_table import RuleTable, rule_table
from coverage_ledger.errors import Conflict, ErrorItem, InvalidInput
from coverage_ledger.ledger import person_events
from coverage_ledger.ledger.preparation import PreparedEvent
from coverage_ledger.ledger.schemas import ContributionPaid, InformalEnrolled, MembershipReactivated
from coverage_ledger.ledger.snapshot import Snapshot


@dataclass
class _Member:
    enrolments: list[InformalEnrolment] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    reactivations: list[Reactivation] = field(default_factory=list)
    replaced: list[InformalEnrolment] = field(default_factory=list)
    """Memberships this batch supersedes: their reactivations pass to their replacements."""


def _members(snapshot: Snapshot, leaving: Collection[str]) -> dict[str, _Member]:
    members: dict[str, _Member] = {}
    for event in snapshot.informal_events:
        member = members.setdefault(event.payload["nik"], _Member())
        if event.event_id in leaving:  # superseded by this batch: its months are free again
            if event.type == "informal.enrolled":
                member.replaced.append(
                    person_events.informal_enrolment(event.event_id, event.payload, event.recorded_at)
                )
            continue
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
    # the members as stored, for whether a stored reactivation held before the batch: only a
    # stored reactivation asks (a batch of payments, a sponsor roster's chunk, builds no copy)
    reactivated = any(e.type == "membership.reactivated" for e in snapshot.informal_events)
    stored = _members(snapshot, ()) if reactivated else {}
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
            conflicts += _reactivations_undone(item, payment, member, stored.get(event.nik), rules)
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
    current = status.enrolment if status is not None else None
    if status is not None and status.status is CoverageStatus.LAPSED:
        # lapsed on that day, but reactivated later: the new one would take the months of a
        # membership that comes back into force (found by a probe: another region's office
        # backdated a membership over one Bandung had reactivated, and took its payments)
        current = _revived_after(started, member, day)
    if current is None:
        return None
    if not principal.sees(current.region_code):
        return ErrorItem(
            "membership_outside_region",
            "the worker has a BPU membership outside your region: the regional office that holds "
            "it must end it before the worker can be enrolled here",
            field=f"{item.path}.nik",
        )
    state = (
        "lapsed then, but in force again later"
        if status is None or status.status is CoverageStatus.LAPSED
        else f"{status.status.value}, not lapsed"
    )
    return ErrorItem(
        "membership_in_force",
        f"on {day} the worker's BPU membership {current.event_id} (from {current.covers_from}) is "
        f"{state}: change it by correcting it (event.corrected with its replacement), or enrol "
        "again once it has lapsed for good",
        field=f"{item.path}.valid_from",
    )


def _reactivations_undone(
    item: PreparedEvent, payment: Payment, member: _Member, stored: _Member | None, rules: RuleTable
) -> list[ErrorItem]:
    """A payment (new, or a correction's replacement) made before the day of a reactivation that
    shows the membership had not lapsed then: the reactivation would be left reopening a grace
    window that never closed (found by a date probe). `stored`: the member's events before the
    batch; a reactivation that did not hold with them already does not hold the batch up."""

    def lapsed(reactivation: Reactivation, of: _Member, paid: list[Payment]) -> bool:
        return lapsed_when_reactivated(
            reactivation,
            enrolments=of.enrolments,
            payments=paid,
            reactivations=of.reactivations,
            grace_months=rules.grace_months,
        )

    errors = []
    for reactivation in member.reactivations:
        if payment.paid_on >= reactivation.reactivated_on:
            continue
        held_before = (
            stored is None
            or reactivation not in stored.reactivations
            or lapsed(reactivation, stored, stored.payments)
        )
        if (
            held_before
            and lapsed(reactivation, member, member.payments)
            and not lapsed(reactivation, member, [*member.payments, payment])
        ):
            errors.append(
                ErrorItem(
                    "reactivation_no_longer_valid",
                    f"paid on {payment.paid_on}, this payment means the membership had not lapsed on "
                    f"{reactivation.reactivated_on}, when it was reactivated; correct or retract the "
                    "reactivation in the same batch",
                    field=f"{item.path}.paid_on",
                )
            )
    return errors


def _revived_after(started: list[InformalEnrolment], member: _Member, day: date) -> InformalEnrolment | None:
    """The membership begun by `day` that a reactivation on or after it brings back into force
    (None: none does; a lapsed membership is paid again only once reactivated). A reactivation is
    the membership's whose day it falls on among those recorded, the ones this batch supersedes
    included: a reactivation of a membership being corrected passes to its replacement, so it
    revives nothing else (found by a probe: an office could no longer correct its own reactivated
    membership once the worker had held an earlier one)."""
    recorded = [*member.enrolments, *member.replaced]
    for reactivation in member.reactivations:
        if reactivation.reactivated_on >= day:
            owner = governing_enrolment(recorded, reactivation.reactivated_on)
            if owner is not None and owner in started:
                return owner
    return None


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
