"""What a sponsor roster's outcome points out beside its errors: rows restating a payment the
sponsor already recorded (duplicates), and rows that say otherwise than the worker's membership or
registration in force (paid all the same, and counted for a regional office to look at)."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.domain.access import Principal
from coverage_ledger.ledger import person_events, projections_repository
from coverage_ledger.uploads.cells import comparable_name
from coverage_ledger.uploads.repository import UploadRecord
from coverage_ledger.uploads.sponsor_rows import SponsorRow


def _payments_seen(
    paid: dict[str, list[dict[str, Any]]],
    known: Sequence[projections_repository.InForceEvent],
    principal: Principal,
) -> dict[str, list[dict[str, Any]]]:
    """Each worker's payments for a membership in the key's region."""
    if principal.region_prefix is None:
        return paid
    memberships = person_events.memberships_by_person(
        (e.event_id, e.type, e.payload, e.recorded_at) for e in known
    )
    return {
        nik: [
            payment
            for payment in payments
            if (
                owner := person_events.owning_membership(
                    memberships.get(nik, []), "contribution.paid", payment
                )
            )
            is not None
            and principal.sees(owner.region_code)
        ]
        for nik, payments in paid.items()
    }


def _restates(item: SponsorRow, payment: dict[str, Any], sponsor: str) -> bool:
    """Whether a stored payment is the row's own: the worker, months, programs and amount, paid
    by this sponsor from the same budget (on the row's paid_on, when it gives one)."""
    payer = payment["payer"]
    return (
        payment["nik"] == item.nik
        and (payment["months_from"], payment["months_to"]) == (item.months_from, item.months_to)
        and int(payment["amount"]) == item.amount
        and set(payment["programs"]) == set(item.programs)
        and (payer.get("kind"), payer.get("name"), payer.get("budget"))
        == ("organisation", sponsor, item.budget)
        and (item.paid_on is None or payment["paid_on"] == item.paid_on.isoformat())
    )


def differing_rows(rows: Sequence[SponsorRow], memberships: Sequence[dict[str, Any]]) -> list[int]:
    """The accepted rows whose worker's membership in force says otherwise than the row."""
    latest: dict[str, dict[str, Any]] = {}
    for payload in sorted(memberships, key=lambda p: p["valid_from"]):
        latest[payload["nik"]] = payload
    return [
        item.row
        for item in rows
        if (membership := latest.get(item.nik)) is not None
        and (
            membership["region_code"] != item.region_code
            or set(membership["programs"]) != set(item.programs)
            or int(membership["declared_income"]) != item.declared_income
            or membership.get("sector", "other") != item.sector
        )
    ]


async def differing_registration_rows(
    session: AsyncSession,
    *,
    rows: Sequence[SponsorRow],
    known: Sequence[projections_repository.InForceEvent],
    principal: Principal,
) -> list[int]:
    """The accepted rows of workers registered before, in the key's region, whose name,
    birth date or phone differs from that registration (which the roster does not change): the
    first sign of a mistyped NIK. Registrations outside the region are not compared (a dry run
    would confirm a guessed name), as in an officer roster."""
    registrations = {
        e.payload["nik"]: e.event_id
        for e in known
        if e.type == "person.registered" and e.tx_seq is not None and principal.sees(e.payload["region_code"])
    }
    compared = [item for item in rows if item.nik in registrations]
    if not compared:
        return []
    vault = await projections_repository.vault_entries(
        session, (registrations[item.nik] for item in compared)
    )
    found = []
    for item in compared:
        entry = vault.get(registrations[item.nik])
        if entry is None:  # erased: nothing to compare with
            continue
        fields = entry[1]
        if (
            # as an officer roster compares them: composed, spaces run together, case left out
            comparable_name(fields.get("name") or "") != comparable_name(item.name)
            or fields.get("birth_date") != item.birth_date.isoformat()
            or (item.phone is not None and fields.get("phone") != item.phone)
        ):
            found.append(item.row)
    return found


def restated_rows(
    rows: Sequence[SponsorRow],
    known: Sequence[projections_repository.InForceEvent],
    *,
    principal: Principal,
    record: UploadRecord,
) -> set[int]:
    """The rows restating a payment the sponsor already recorded, as it was: duplicates."""
    # a monthly file that repeats last month's rows: a duplicate, as an officer roster's unchanged
    # row is, not a month paid twice (not the payments this upload wrote itself: a row repeated in
    # the file is the month paid twice); only payments for a membership in the key's region: a row
    # matching another region's payment would confirm its months and amount
    own = f"{record.upload_id.hex}-"
    paid: dict[str, list[dict[str, Any]]] = {}
    for event in known:
        if event.type == "contribution.paid" and not event.event_id.startswith(own):
            paid.setdefault(event.payload["nik"], []).append(event.payload)
    seen = _payments_seen(paid, known, principal)
    return {
        item.row for item in rows if any(_restates(item, p, record.committee) for p in seen.get(item.nik, ()))
    }
