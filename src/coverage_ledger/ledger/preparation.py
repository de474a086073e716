"""Turning submitted events into the rows the log stores (no SQL, no I/O).

A correction with an inline replacement becomes two events: the replacement, carried by the
correction, and the correction naming it by id. Personal fields of a registration leave the
event for the person vault; the event keeps their salted digest.
"""

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from coverage_ledger.canonical import canonical_json, event_digest, sha256_hex
from coverage_ledger.domain.region_codes import region_level, region_parent
from coverage_ledger.errors import Conflict, ErrorItem, InvalidInput
from coverage_ledger.ledger.repository import EventRow, StoredEvent
from coverage_ledger.ledger.schemas import (
    AppendableEvent,
    EventCorrected,
    OfficerEnrolled,
    PersonRegistered,
    RegionDefined,
)


@dataclass(slots=True)
class PreparedEvent:
    """One row for the log, with where it came from in the request."""

    index: int
    """Position of the submitted event in the request's `events`."""
    path: str
    """JSON path for error messages: `events[3]` or `events[3].replacement`."""
    source: AppendableEvent
    row: EventRow
    vault_fields: dict[str, Any] | None = None
    salt: bytes | None = None
    supersedes: tuple[str, ...] = ()
    replacement_id: str | None = None


def personal_digest(salt: bytes, fields: dict[str, Any], *, checked: bool = True) -> str:
    """Salted sha256 of the personal fields a registration keeps in the vault (`checked`: see
    `canonical_json`)."""
    return sha256_hex(salt.hex() + canonical_json(fields, checked=checked))


def vault_fields(name: str, birth_date: date | None, phone: str | None) -> dict[str, Any]:
    """The personal fields of a registration, as the vault keeps them."""
    fields: dict[str, Any] = {"name": name}
    if birth_date is not None:
        fields["birth_date"] = birth_date.isoformat()
    if phone:
        fields["phone"] = phone
    return fields


def vault_fields_of(event: PersonRegistered) -> dict[str, Any]:
    """The personal fields of a registration event."""
    return vault_fields(event.name, event.birth_date, event.phone)


def registration_payload(
    *, nik: str, region_code: str, sex: str, salt: bytes, fields: dict[str, Any]
) -> dict[str, Any]:
    """The logged payload of a registration: no personal field, only their digest."""
    return {
        "nik": nik,
        "region_code": region_code,
        "sex": sex,
        "personal_digest": personal_digest(salt, fields),
    }


def _payload_of(event: AppendableEvent) -> dict[str, Any]:
    data = event.model_dump(mode="json", exclude_none=True, exclude={"event_id", "type"})
    if isinstance(event, RegionDefined):
        data["level"] = region_level(event.code)
        parent = region_parent(event.code)
        if parent is not None:
            data["parent_code"] = parent
    if isinstance(event, OfficerEnrolled):
        data["programs"] = sorted(data["programs"])
    return data


def _row(
    event_id: str,
    event_type: str,
    payload: dict[str, Any],
    *,
    nik: str | None,
    carried_by: str | None,
) -> EventRow:
    return EventRow(
        event_id=event_id,
        type=event_type,
        nik=nik,
        carried_by=carried_by,
        payload=payload,
        # payloads come from validated models (no floats, ASCII keys): the subset check is moot
        digest=event_digest(event_id, event_type, payload, checked=False),
    )


def sex_from_nik(nik: str) -> str:
    """`F` when 40 was added to the birth day, else `M` (the NIK itself is checked elsewhere)."""
    day = nik[6:8]
    return "F" if day.isdigit() and int(day) > 40 else "M"


def prepare_one(
    event: AppendableEvent,
    *,
    index: int,
    path: str,
    carried_by: str | None,
    salt: bytes | None = None,
) -> PreparedEvent:
    """The log row of one non-correction event (`salt`: reuse a stored one, for comparisons)."""
    assert not isinstance(event, EventCorrected)
    if isinstance(event, PersonRegistered):
        salt = salt or secrets.token_bytes(32)
        payload = registration_payload(
            nik=event.nik,
            region_code=event.region_code,
            sex=sex_from_nik(event.nik),
            salt=salt,
            fields=vault_fields_of(event),
        )
        return PreparedEvent(
            index,
            path,
            event,
            _row(event.event_id, event.type, payload, nik=event.nik, carried_by=carried_by),
            vault_fields=vault_fields_of(event),
            salt=salt,
        )
    nik = getattr(event, "nik", None)
    return PreparedEvent(
        index,
        path,
        event,
        _row(event.event_id, event.type, _payload_of(event), nik=nik, carried_by=carried_by),
    )


def prepare_correction(event: EventCorrected, *, index: int, path: str) -> PreparedEvent:
    """The log row of a correction (its replacement is prepared separately)."""
    payload: dict[str, Any] = {"supersedes": list(event.supersedes), "reason": event.reason}
    if event.replacement is not None:
        payload["replacement_event_id"] = event.replacement.event_id
    return PreparedEvent(
        index,
        path,
        event,
        _row(event.event_id, event.type, payload, nik=None, carried_by=None),
        supersedes=tuple(event.supersedes),
        replacement_id=event.replacement.event_id if event.replacement else None,
    )


def prepare_batch(events: Sequence[AppendableEvent]) -> list[PreparedEvent]:
    """The rows of a batch, in order: a correction's inline replacement right after it."""
    prepared: list[PreparedEvent] = []
    for index, event in enumerate(events):
        path = f"events[{index}]"
        if isinstance(event, EventCorrected):
            prepared.append(prepare_correction(event, index=index, path=path))
            if event.replacement is not None:
                prepared.append(
                    prepare_one(
                        event.replacement,
                        index=index,
                        path=f"{path}.replacement",
                        carried_by=event.event_id,
                    )
                )
        else:
            prepared.append(prepare_one(event, index=index, path=path, carried_by=None))
    return prepared


def check_unique_ids(prepared: Sequence[PreparedEvent]) -> None:
    """422 when the batch uses an event_id twice."""
    seen: dict[str, str] = {}
    errors = []
    for item in prepared:
        if item.row.event_id in seen:
            errors.append(
                ErrorItem(
                    "duplicate_event_id",
                    f"event_id {item.row.event_id!r} also used by {seen[item.row.event_id]}",
                    field=f"{item.path}.event_id",
                )
            )
        seen[item.row.event_id] = item.path
    if errors:
        raise InvalidInput("the batch uses an event_id twice", errors)


def split_resends(
    prepared: list[PreparedEvent],
    stored: dict[str, StoredEvent],
    salts: dict[str, tuple[bytes, dict[str, Any]]],
) -> tuple[list[PreparedEvent], list[StoredEvent]]:
    """New events, and the stored originals of identical re-sends; a changed re-send is a 409."""
    fresh: list[PreparedEvent] = []
    originals: list[StoredEvent] = []
    for item in prepared:
        original = stored.get(item.row.event_id)
        if original is None:
            fresh.append(item)
            continue
        digest = item.row.digest
        if isinstance(item.source, PersonRegistered) and item.row.event_id in salts:
            # the salt is random per registration: recompute the digest with the stored one
            again = prepare_one(
                item.source,
                index=item.index,
                path=item.path,
                carried_by=item.row.carried_by,
                salt=salts[item.row.event_id][0],
            )
            digest = again.row.digest
        elif isinstance(item.source, PersonRegistered) and _same_but_personal(item.row.payload, original):
            # erased: its salt is gone, so the personal fields can no longer be compared. The rest
            # is the same, and a re-send writes nothing (the person stays erased): a duplicate,
            # not "different content" (found by a contract probe)
            digest = original.digest
        if digest != original.digest or original.carried_by != item.row.carried_by:
            raise Conflict(
                f"event_id {item.row.event_id!r} is already in the ledger with different content",
                [
                    ErrorItem(
                        "event_id_reused", "same event_id, different content", field=f"{item.path}.event_id"
                    )
                ],
            )
        originals.append(original)
    return fresh, originals


def _same_but_personal(payload: dict[str, Any], original: StoredEvent) -> bool:
    """Whether a registration's logged payload matches a stored one in all but the digest of its
    personal fields."""

    def bare(fields: dict[str, Any]) -> dict[str, Any]:
        return {name: value for name, value in fields.items() if name != "personal_digest"}

    return original.type == "person.registered" and bare(payload) == bare(original.payload)
