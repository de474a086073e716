"""Rules an append must satisfy beyond the shape of each event: identities, regions, scope and
targets of corrections (officer terms held at once: `term_checks`)."""

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from coverage_ledger.domain.access import Principal, Role
from coverage_ledger.domain.nik import Nik, district_code_of, parse_nik
from coverage_ledger.domain.region_codes import region_parent
from coverage_ledger.domain.rule_definitions import MalformedRule, check_rule_definition
from coverage_ledger.errors import ErrorItem, Forbidden, InvalidInput
from coverage_ledger.ledger import repository
from coverage_ledger.ledger.preparation import PreparedEvent
from coverage_ledger.ledger.region_checks import definition_of, redefinition_errors, region_date_errors
from coverage_ledger.ledger.schemas import (
    DAY_DONE_FIELDS,
    AppendableEvent,
    ContributionPaid,
    InformalEnrolled,
    MembershipReactivated,
    OfficerEnrolled,
    PersonErased,
    PersonRegistered,
    PotentialEstimated,
    RegionDefined,
    RuleDefined,
)
from coverage_ledger.ledger.snapshot import RegionDefinition, Snapshot

PERSON_EVENTS = (
    PersonRegistered,
    OfficerEnrolled,
    InformalEnrolled,
    ContributionPaid,
    MembershipReactivated,
    PersonErased,
)
"""Events about one person, named by NIK."""
PAYING_EVENTS = (InformalEnrolled, ContributionPaid)
"""Events with a `payer`, who may be a person named by NIK."""


def region_of(payload: dict[str, object]) -> str | None:
    """The region an event's payload places it in: its `region_code`, or a region definition's `code`."""
    value = payload.get("region_code") or payload.get("code")
    return value if isinstance(value, str) else None


def niks_named(event: object, path: str) -> list[tuple[str, str]]:
    """(NIK, field) of every NIK an event names: its person's, and a paying person's."""
    named = []
    if isinstance(event, PERSON_EVENTS):
        named.append((event.nik, f"{path}.nik"))
    # not getattr(event, "payer", None): pydantic raises and catches an AttributeError per model without it
    payer = event.payer if isinstance(event, PAYING_EVENTS) else None
    if payer is not None and payer.nik:
        named.append((payer.nik, f"{path}.payer.nik"))
    return named


def snapshot_keys(prepared: Sequence[PreparedEvent]) -> dict[str, set[str]]:
    """What the snapshot must read for these events: regions, districts, persons."""
    sources = [p.source for p in prepared]
    niks = {nik for p in prepared for nik, _ in niks_named(p.source, p.path)}
    batch_regions = {s.code for s in sources if isinstance(s, RegionDefined)}
    parents = {parent for s in sources if isinstance(s, RegionDefined) and (parent := region_parent(s.code))}
    successors = {code for s in sources if isinstance(s, RegionDefined) for code in s.successors or []}
    return {
        "region_codes": (
            {c for p in prepared if (c := region_of(p.row.payload)) is not None} | parents | successors
        )
        - batch_regions,
        "defined_codes": batch_regions,
        "district_codes": {district_code_of(n) for n in niks if len(n) == 16 and n.isdigit()},
        "registered_niks": {
            s.nik for s in sources if isinstance(s, OfficerEnrolled | InformalEnrolled | PersonErased)
        },
        "officer_niks": {s.nik for s in sources if isinstance(s, OfficerEnrolled)},
        "informal_niks": {
            s.nik
            for s in sources
            if isinstance(s, InformalEnrolled | ContributionPaid | MembershipReactivated)
        },
    }


def check_scope(*, principal: Principal, prepared: Sequence[PreparedEvent]) -> None:
    """Every event lies in the key's region (403), checked before anything is read: an identical
    re-send of another region's event must not learn that it exists."""
    for item in prepared:
        region = region_of(item.row.payload)
        if region is not None and not principal.sees(region):
            raise Forbidden(
                f"{item.path}: region {region} is outside this key's region {principal.region_prefix}",
                [
                    ErrorItem(
                        "region_out_of_scope", "outside the key's region", field=f"{item.path}.region_code"
                    )
                ],
            )


def check_days_done(*, prepared: Sequence[PreparedEvent], recording_day: date) -> None:
    """422 when an event says it was registered, paid or reactivated after its recording day, or
    a registration gives a birth date after it."""
    # cover would start from a day nobody has reached yet (a 2042 typed for 2024)
    errors = []
    for item in prepared:
        born = item.source.birth_date if isinstance(item.source, PersonRegistered) else None
        if born is not None and born > recording_day:  # (a roster refused it, the API took it)
            errors.append(
                ErrorItem(
                    "day_in_future",
                    f"birth_date {born} is after the day it is recorded on ({recording_day})",
                    field=f"{item.path}.birth_date",
                )
            )
        name = DAY_DONE_FIELDS.get(item.row.type)
        value = item.row.payload.get(name) if name else None
        if isinstance(value, str) and date.fromisoformat(value) > recording_day:
            errors.append(
                ErrorItem(
                    "day_in_future",
                    f"{name} {value} is after the day it is recorded on ({recording_day})",
                    field=f"{item.path}.{name}",
                )
            )
    if errors:
        raise InvalidInput(
            f"{len(errors)} event(s) dated after their recording day; nothing was written", errors
        )


def check_batch(*, principal: Principal, prepared: Sequence[PreparedEvent], snapshot: Snapshot) -> None:
    """Every semantic rule of the batch; all failures are reported together (422)."""
    errors: list[ErrorItem] = []
    batch_definitions: dict[str, list[RegionDefinition]] = {}
    """The batch's region definitions by code, in batch order."""
    for p in prepared:
        if isinstance(p.source, RegionDefined):
            batch_definitions.setdefault(p.source.code, []).append(definition_of(p.source))
    regions = snapshot.regions_in_force | set(batch_definitions)
    registered = set(snapshot.registered_niks)
    stored = snapshot.stored
    seen_ids: set[str] = set()
    superseded = {target for p in prepared for target in p.supersedes}
    for item in prepared:
        event = item.source
        path = item.path
        errors.extend(_region_errors(item, snapshot, regions, superseded, batch_definitions))
        errors.extend(_nik_errors(event, path, snapshot))
        if isinstance(event, RuleDefined):
            try:
                check_rule_definition(item.row.payload)
            except MalformedRule as exc:
                at = f"{path}.parameters" + (f".{exc.parameter}" if exc.parameter else "")
                errors.append(ErrorItem("malformed_rule", str(exc), field=at))
        errors.extend(_person_errors(principal, event, path, registered))
        if isinstance(event, InformalEnrolled | ContributionPaid) and principal.role is Role.SPONSOR:
            _check_sponsor_pays(principal, item.row.payload, f"{path}.payer")
        if item.supersedes:
            errors.extend(_target_errors(principal, item, seen_ids, stored))
        seen_ids.add(item.row.event_id)
    if errors:
        raise InvalidInput(f"{len(errors)} problem(s) in the batch; nothing was written", errors)


def _region_errors(
    item: PreparedEvent,
    snapshot: Snapshot,
    regions: set[str],
    superseded: set[str],
    batch_definitions: dict[str, list[RegionDefinition]],
) -> list[ErrorItem]:
    """A region definition's parent and successors are defined; an event's region is in the
    list, and in force on the event's dates."""
    event = item.source
    path = item.path
    region = region_of(item.row.payload)
    errors: list[ErrorItem] = []
    if isinstance(event, RegionDefined):
        errors.extend(redefinition_errors(event, path, snapshot, superseded, batch_definitions))
        parent = region_parent(event.code)
        if parent is not None and parent not in regions:
            errors.append(
                ErrorItem(
                    "unknown_parent_region",
                    f"parent region {parent} is not defined",
                    field=f"{path}.code",
                )
            )
        # a successor no decree defines was dropped from every read (the code read as
        # replaced by nothing)
        errors.extend(
            ErrorItem(
                "unknown_region",
                f"successor {successor} is not defined (define it in this batch or before)",
                field=f"{path}.successors[{index}]",
            )
            for index, successor in enumerate(event.successors or [])
            if successor not in regions
        )
    elif region is not None and region not in regions:
        errors.append(
            ErrorItem(
                "unknown_region",
                f"region code {region} is not in the Kemendagri list",
                field=f"{path}.region_code",
            )
        )
    elif region is not None and isinstance(event, OfficerEnrolled | InformalEnrolled | PotentialEstimated):
        windows = [*snapshot.region_definitions.get(region, []), *batch_definitions.get(region, [])]
        errors.extend(region_date_errors(event, region, windows, path))
    return errors


def _nik_errors(event: AppendableEvent, path: str, snapshot: Snapshot) -> list[ErrorItem]:
    """Every NIK the event names is well formed; a registration's identity agrees with its NIK."""
    errors: list[ErrorItem] = []
    for named, field in niks_named(event, path):
        nik = parse_nik(named, known_districts=snapshot.districts_known, field=field)
        if isinstance(nik, ErrorItem):
            errors.append(nik)
        elif isinstance(event, PersonRegistered):
            errors.extend(_identity_errors(event, nik, path))
    return errors


def _person_errors(
    principal: Principal, event: AppendableEvent, path: str, registered: set[str]
) -> list[ErrorItem]:
    """An erasure or enrolment names a person registered (before or in the batch, which
    `registered` collects); a committee key enrols only for its committee."""
    errors: list[ErrorItem] = []
    if isinstance(event, PersonRegistered):
        registered.add(event.nik)
    if isinstance(event, PersonErased) and event.nik not in registered:
        errors.append(
            ErrorItem(
                "person_not_registered", f"NIK {event.nik} has no person.registered", field=f"{path}.nik"
            )
        )
    if isinstance(event, OfficerEnrolled | InformalEnrolled):
        if event.nik not in registered:
            errors.append(
                ErrorItem(
                    "person_not_registered",
                    f"NIK {event.nik} has no person.registered; "
                    "register the person first (the same batch is fine)",
                    field=f"{path}.nik",
                )
            )
        if (
            isinstance(event, OfficerEnrolled)
            and principal.role is Role.COMMITTEE
            and event.committee != principal.organisation
        ):
            raise Forbidden(
                f"{path}: a key of {principal.organisation} cannot enrol for {event.committee}",
                [ErrorItem("committee_mismatch", "committee must be the key's", field=f"{path}.committee")],
            )
    return errors


def _identity_errors(event: PersonRegistered, nik: Nik, path: str) -> list[ErrorItem]:
    errors = []
    if event.sex is not None and event.sex != nik.sex:
        errors.append(
            ErrorItem(
                "sex_mismatch_nik",
                f"sex {event.sex} disagrees with the NIK, which encodes {nik.sex}",
                field=f"{path}.sex",
            )
        )
    if event.birth_date is not None and not nik.birth_date_matches(event.birth_date):
        errors.append(
            ErrorItem(
                "birth_date_mismatch_nik",
                f"birth date {event.birth_date} disagrees with the NIK's DDMMYY",
                field=f"{path}.birth_date",
            )
        )
    return errors


def _target_errors(
    principal: Principal,
    item: PreparedEvent,
    earlier_in_batch: set[str],
    stored: dict[str, repository.StoredEvent],
) -> list[ErrorItem]:
    errors = []
    for position, target in enumerate(item.supersedes):
        field = f"{item.path}.supersedes[{position}]"
        if target in earlier_in_batch:
            continue
        original = stored.get(target)
        if original is None:
            errors.append(ErrorItem("unknown_event", f"no event {target!r} in the ledger", field=field))
            continue
        region = region_of(original.payload)
        if region is not None and not principal.sees(region):
            raise _outside_region(field)
        if region is not None:
            # an event naming no region (a payment, a claim's) lies where its person or claim
            # does: the planning judges it once that is read (`check_correction_effects`), and
            # its region before its type, so a refusal cannot tell another region's event's type
            _check_may_correct(principal, original, field)
    return errors


def _outside_region(field: str) -> Forbidden:
    """403 for a correction naming a stored event outside the key's region. DESIGN.md's scope rule
    makes a write outside the region a 403 and reports such a conflict without details: neither the
    event's type, region nor person is told (that the id exists is, as a 409 `event_id_taken` is)."""
    return Forbidden(
        f"{field}: names an event outside this key's region",
        [ErrorItem("region_out_of_scope", "the event lies outside this key's region", field=field)],
    )


def _check_may_correct(principal: Principal, original: repository.StoredEvent, field: str) -> None:
    """403 unless the key may correct this stored event (its region is checked by the caller)."""
    if not principal.may_append(original.type):
        raise Forbidden(
            f"{field}: role {principal.role} may not correct {original.type}",
            [ErrorItem("role_not_allowed", f"may not correct {original.type}", field=field)],
        )
    if original.type == "person.registered" and principal.role in (Role.COMMITTEE, Role.SPONSOR):
        # a registration is the person's identity and domicile, shared by every organisation
        # that enrols them: its corrections are an office's
        raise Forbidden(
            f"{field}: a {principal.role} key may not correct a registration",
            [
                ErrorItem(
                    "registration_correction_not_allowed",
                    "registrations are corrected by a regional office or an admin",
                    field=field,
                )
            ],
        )
    committee = original.payload.get("committee")
    if principal.role is Role.COMMITTEE and committee is not None and committee != principal.organisation:
        raise Forbidden(
            f"{field}: the event belongs to committee {committee}",
            [ErrorItem("committee_mismatch", "only the enrolling committee may correct it", field=field)],
        )
    if principal.role is Role.SPONSOR and original.type in ("informal.enrolled", "contribution.paid"):
        _check_sponsor_pays(principal, original.payload, field)


def _check_sponsor_pays(principal: Principal, payload: Mapping[str, Any], field: str) -> None:
    """403 unless the membership or payment is paid by the sponsor key's own organisation: a
    sponsor enrols and pays as itself, and corrects only what it paid."""
    payer = payload.get("payer") or {}
    if payer.get("kind") != "organisation" or payer.get("name") != principal.organisation:
        raise Forbidden(
            f"{field}: a key of {principal.organisation} enrols, pays and corrects only as that "
            "organisation (payer kind organisation, with its name)",
            [ErrorItem("payer_mismatch", "the payer must be the key's organisation", field=field)],
        )


def check_correction_effects(
    *,
    principal: Principal,
    affected: Sequence[tuple[repository.StoredEvent, str]],
    regions: Mapping[str, set[str]],
    named: Mapping[str, str],
) -> None:
    """403 when a correction names, restores or withdraws a stored event the key may not correct
    itself: superseding someone else's correction undoes it, so it is a correction of its targets
    and its replacement. `affected`: each stored event named, entering or leaving force, with the
    field of the correction that names or moves it; `regions`: the regions each lies in (none
    known: any key's).
    An event the batch names (`named`: its field) outside the key's region is refused at that
    field, as one named stored with a region (`_target_errors`)."""

    def outside(event_id: str) -> bool:
        lies_in = regions.get(event_id, set())
        return bool(lies_in) and not any(principal.sees(region) for region in lies_in)

    # the events named first: a refusal for one that the batch moves would tell that the named
    # one is a correction of it
    for original, _ in affected:
        if original.event_id in named and outside(original.event_id):
            raise _outside_region(named[original.event_id])
    for original, field in affected:
        if outside(original.event_id):
            raise Forbidden(
                f"{field}: it would restore or withdraw an event outside this key's region",
                [ErrorItem("region_out_of_scope", "moves an event outside the key's region", field=field)],
            )
        _check_may_correct(principal, original, field)
