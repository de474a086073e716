"""Stored event payloads turned into the domain's terms (officer terms, BPU memberships,
payments, reactivations); one place, used by the append checks and by the coverage reads."""

from collections.abc import Container, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from coverage_ledger.domain.informal import (
    InformalEnrolment,
    Payment,
    Reactivation,
    governing_enrolment,
    paying_enrolment,
)
from coverage_ledger.domain.months import Month
from coverage_ledger.domain.officer import OfficerTerm
from coverage_ledger.domain.timeframes import jakarta_date


def _registered_on(payload: Mapping[str, Any], recorded_at: datetime | None, fallback: date) -> date:
    value = payload.get("registered_on")
    if isinstance(value, str):
        return date.fromisoformat(value)
    # not stated: the recording date in Asia/Jakarta (unknown yet for the tx being appended,
    # where only the term matters)
    return jakarta_date(recorded_at) if recorded_at is not None else fallback


def officer_term(event_id: str, payload: Mapping[str, Any], recorded_at: datetime | None) -> OfficerTerm:
    """An `officer.enrolled` payload as a term of duty."""
    valid_from = date.fromisoformat(payload["valid_from"])
    return OfficerTerm(
        event_id=event_id,
        nik=payload["nik"],
        role=payload["role"],
        committee=payload["committee"],
        region_code=payload["region_code"],
        programs=tuple(payload["programs"]),
        valid_from=valid_from,
        valid_to=date.fromisoformat(payload["valid_to"]),
        registered_on=_registered_on(payload, recorded_at, valid_from),
    )


def informal_enrolment(
    event_id: str, payload: Mapping[str, Any], recorded_at: datetime | None
) -> InformalEnrolment:
    """An `informal.enrolled` payload as a BPU membership."""
    valid_from = date.fromisoformat(payload["valid_from"])
    return InformalEnrolment(
        event_id=event_id,
        programs=tuple(payload["programs"]),
        declared_income=int(payload["declared_income"]),
        region_code=payload["region_code"],
        valid_from=valid_from,
        registered_on=_registered_on(payload, recorded_at, valid_from),
        sector=payload.get("sector", "other"),
        payer_budget=(payload.get("payer") or {}).get("budget"),
    )


def memberships_by_person(
    events: Iterable[tuple[str, str, Mapping[str, Any], datetime | None]],
) -> dict[str, list[InformalEnrolment]]:
    """The BPU memberships among (event_id, type, payload, recorded_at) events, per NIK."""
    memberships: dict[str, list[InformalEnrolment]] = {}
    for event_id, event_type, payload, recorded_at in events:
        if event_type == "informal.enrolled":
            memberships.setdefault(payload["nik"], []).append(
                informal_enrolment(event_id, payload, recorded_at)
            )
    return memberships


def payment(event_id: str, payload: Mapping[str, Any]) -> Payment:
    """A `contribution.paid` payload."""
    return Payment(
        event_id=event_id,
        programs=tuple(payload["programs"]),
        first=Month.parse(payload["months_from"]),
        last=Month.parse(payload["months_to"]),
        amount=int(payload["amount"]),
        paid_on=date.fromisoformat(payload["paid_on"]),
    )


def reactivation(event_id: str, payload: Mapping[str, Any]) -> Reactivation:
    """A `membership.reactivated` payload."""
    return Reactivation(event_id=event_id, reactivated_on=date.fromisoformat(payload["reactivated_on"]))


def owning_membership(
    enrolments: Sequence[InformalEnrolment], event_type: str, payload: Mapping[str, Any]
) -> InformalEnrolment | None:
    """The membership a payment pays for, or whose day a reactivation falls on (None for another
    type, or without memberships): whose, and so whose region's, event it is."""
    if event_type == "contribution.paid":
        return paying_enrolment(enrolments, Month.parse(payload["months_from"]))
    if event_type == "membership.reactivated":
        return governing_enrolment(enrolments, date.fromisoformat(payload["reactivated_on"]))
    return None


def recorded_membership(
    event_type: str,
    payload: Mapping[str, Any],
    *,
    then: Sequence[InformalEnrolment],
    held: Sequence[InformalEnrolment],
) -> InformalEnrolment | None:
    """The membership a payment or reactivation was recorded for: the one it paid for, or whose
    day it fell on, among those in force when it was recorded (`then`), else among any the person
    held. The append checks, the history and the coverage diff place it so."""
    return owning_membership(then, event_type, payload) or owning_membership(held, event_type, payload)


def in_force_at(spans: Iterable[tuple[int, int | None]], tx_seq: int) -> bool:
    """Whether one of the known-time intervals `[tx_from, tx_to)` (None: open) holds the tx."""
    return any(lo <= tx_seq and (hi is None or hi > tx_seq) for lo, hi in spans)


def replacements(
    *, carried_by: Mapping[str, str | None], ended_by: Mapping[str, str | None]
) -> dict[str, str]:
    """Which of these events replaced which: an event whose last leaving force was a correction
    that carried another of them in maps to that other (`carried_by`: the correction that carried
    each event in; `ended_by`: the correction that last took each out of force)."""
    carrier = {correction: event_id for event_id, correction in carried_by.items() if correction}
    return {event_id: carrier[by] for event_id, by in ended_by.items() if by is not None and by in carrier}


def current_form(event_id: str, replaced_by: Mapping[str, str], in_force: Container[str]) -> str:
    """What an event stands for now: itself while in force, else the replacement that superseded
    it, followed through later replacements (itself, or the last replacement, when the chain ends
    retracted). A payment belongs to the membership it was recorded for as that membership now
    stands: one moved to another region takes its payments, retracted or not, along."""
    seen = {event_id}
    current = event_id
    while current not in in_force and (following := replaced_by.get(current)) is not None:
        if following in seen:
            break
        seen.add(following)
        current = following
    return current
