"""An officer's age at the start of a term, checked on the API as a roster row is checked: a term
before the officer's birth, or one starting before they are 17, is refused, and so is a new term
whose `registered_on` comes before the birth.

Judged on the ledger as the batch leaves it, supersession cascade included (a review found the
batch's own named targets misleading: superseding a correction brings back the registration it
replaced and withdraws its replacement). Every officer term in force afterwards, of every person
whose registration or terms the batch moves, meets the birth date of the registration then in
force; none is guessed when that registration gives no birth date (the NIK's DDMMYY does not
say the century). The persons concerned are watched by the recheck under the append lock, as
every NIK a moved registration or term names is."""

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.domain.officer import MIN_OFFICER_AGE, term_age_problem
from coverage_ledger.errors import Conflict, ErrorItem, InvalidInput
from coverage_ledger.ledger import projections_repository
from coverage_ledger.ledger.preparation import PreparedEvent
from coverage_ledger.ledger.registrations import REGISTRATION
from coverage_ledger.ledger.schemas import OfficerEnrolled, PersonRegistered

OFFICER_TERM = "officer.enrolled"


async def check_officer_ages(
    session: AsyncSession,
    *,
    fresh: Sequence[PreparedEvent],
    entering: Sequence[str],
    leaving: set[str],
    kinds: Mapping[str, tuple[str, str | None]],
    payloads: Mapping[str, Mapping[str, Any]],
    paths: Mapping[str, str],
    cause_of: Callable[[str], str],
    snapshot_registrations: Mapping[str, tuple[str, date | None]],
) -> None:
    """422 for an enrolment of the batch, 409 for a stored term (kept or brought back), that would
    be in force starting before the officer's birth or 17th birthday. `payloads` holds every
    entering term's; `cause_of` names the field a stored term's refusal is laid on when no
    registration of the batch is (the correction whose cascade brings it back);
    `snapshot_registrations` the stored registrations the snapshot read (of the persons the batch
    enrols as officers, so the common batches read none here)."""
    moved_registrations = [e for e in entering if kinds[e][0] == REGISTRATION]
    entering_terms = [e for e in entering if kinds[e][0] == OFFICER_TERM]
    # the persons with terms entering force, and those whose stored registration leaves force
    # (only they may hold terms in force under another registration now: a person registered by
    # this batch for the first time has none, and a BPU worker's registration is not read for it)
    reregistered = {
        nik for e in leaving if kinds.get(e, ("", None))[0] == REGISTRATION and (nik := kinds[e][1])
    }
    concerned = reregistered | {nik for e in entering_terms if (nik := kinds[e][1]) is not None}
    if not concerned:
        return
    looked_up = {p.source.nik for p in fresh if isinstance(p.source, OfficerEnrolled)}
    stored = {
        event_id: (nik, born) for nik, (event_id, born) in snapshot_registrations.items() if nik in concerned
    }
    restored = [e for e in moved_registrations if e not in paths]
    if concerned - looked_up or restored:
        stored |= await projections_repository.registration_birth_dates(
            session, niks=concerned - looked_up, event_ids=restored
        )
    births = _births_after(
        fresh=fresh, stored=stored, entering=moved_registrations, leaving=leaving, kinds=kinds
    )
    if not births:
        return
    terms = {e: payloads[e] for e in entering_terms}
    # a person whose stored registration leaves force keeps the terms in force it had: judged too
    # (a person with no registration in force has no term in force: check_registrations)
    replaced = {nik for event_id, (nik, _) in stored.items() if event_id in leaving} & births.keys()
    for kept in await projections_repository.in_force_events_of(session, niks=replaced, types=[OFFICER_TERM]):
        if kept.event_id not in leaving:
            terms.setdefault(kept.event_id, kept.payload)
    invalid, conflicts = _age_errors(
        terms,
        births=births,
        registered_by={kinds[e][1]: paths[e] for e in moved_registrations if e in paths},
        entered_by={kinds[e][1]: e for e in moved_registrations},
        payloads=payloads,
        paths=paths,
        cause_of=cause_of,
    )
    if invalid:
        order = {path: i for i, path in enumerate(paths.values())}
        invalid.sort(key=lambda e: order.get((e.field or "").rpartition(".")[0], 0))
        raise InvalidInput(
            f"{len(invalid)} officer term(s) start before the officer may serve; nothing was written", invalid
        )
    if conflicts:
        unique = list({(e.code, e.field): e for e in conflicts}.values())
        raise Conflict(
            "the batch would leave an officer term the officer-age rule refuses; nothing was written", unique
        )


def _age_errors(
    terms: Mapping[str, Mapping[str, Any]],
    *,
    births: Mapping[str, date],
    registered_by: Mapping[str | None, str],
    entered_by: Mapping[str | None, str],
    payloads: Mapping[str, Mapping[str, Any]],
    paths: Mapping[str, str],
    cause_of: Callable[[str], str],
) -> tuple[list[ErrorItem], list[ErrorItem]]:
    """The refusals of the terms judged: the batch's own enrolments (422) and the stored terms
    kept or brought back (409), each laid on the event that is the cause. `registered_by`: the
    paths of the batch's registrations by NIK; `entered_by`: the registrations entering force."""
    invalid: list[ErrorItem] = []
    conflicts: list[ErrorItem] = []
    for event_id, term in terms.items():
        nik = term["nik"]
        registered_on = term.get("registered_on")
        if (
            event_id in paths
            and nik in births
            and registered_on
            and date.fromisoformat(registered_on) < births[nik]
        ):
            # found by a date probe: a roster refused this row, the API took it
            invalid.append(
                ErrorItem(
                    "registered_before_birth",
                    # (the birth date is the registration's personal field: not repeated here)
                    f"registered_on {registered_on} is before the officer's birth date on record",
                    field=f"{paths[event_id]}.registered_on",
                )
            )
        problem = (
            term_age_problem(births[nik], date.fromisoformat(term["valid_from"])) if nik in births else None
        )
        if problem is None:
            continue
        if event_id in paths:
            invalid.append(
                ErrorItem(problem, _enrolled_too_early(problem), field=f"{paths[event_id]}.valid_from")
            )
        elif nik in registered_by:
            conflicts.append(
                ErrorItem(problem, _kept_too_early(problem, nik), field=f"{registered_by[nik]}.birth_date")
            )
        else:  # brought back: the term itself, or the registration it is now judged by
            moved = event_id if event_id in payloads else entered_by.get(nik, event_id)
            conflicts.append(ErrorItem(problem, _brought_back_too_early(problem), field=cause_of(moved)))
    return invalid, conflicts


def _births_after(
    *,
    fresh: Sequence[PreparedEvent],
    stored: Mapping[str, tuple[str, date | None]],
    entering: Sequence[str],
    leaving: set[str],
    kinds: Mapping[str, tuple[str, str | None]],
) -> dict[str, date]:
    """The birth date the registration in force once the batch is gives, of each person that has
    one: a stored one (`stored`: event id to NIK and birth date) not leaving force, else one
    entering (the batch's, or a stored one brought back)."""
    given = {p.row.event_id: p.source.birth_date for p in fresh if isinstance(p.source, PersonRegistered)}
    births: dict[str, date] = {}
    moved = leaving.union(entering)
    for event_id, (nik, born) in stored.items():
        if event_id not in moved and born is not None:
            births[nik] = born
    for event_id in entering:
        person = kinds[event_id][1]
        if person is None:
            continue
        entered = given[event_id] if event_id in given else stored.get(event_id, (person, None))[1]
        if entered is None:
            births.pop(person, None)
        else:
            births[person] = entered
    return births


def _starting_too_early(problem: str) -> str:
    return (
        "before the birth date"
        if problem == "term_before_birth"
        else f"before the {MIN_OFFICER_AGE}th birthday"
    )


def _enrolled_too_early(problem: str) -> str:
    # the registration's date is not repeated: it may be another region's
    return (
        f"the term starts {_starting_too_early(problem)} registered; election officers are at least "
        f"{MIN_OFFICER_AGE} (UU 7/2017)"
    )


def _kept_too_early(problem: str, nik: str) -> str:
    return (
        f"NIK {nik} has an officer term in force starting {_starting_too_early(problem)} this registration "
        f"gives; election officers are at least {MIN_OFFICER_AGE} (UU 7/2017): correct or retract that "
        "enrolment first, or check the date"
    )


def _brought_back_too_early(problem: str) -> str:
    return (
        f"the correction leaves an officer term in force starting {_starting_too_early(problem)} "
        f"registered; election officers are at least {MIN_OFFICER_AGE} (UU 7/2017)"
    )
