"""One registration per person in force, and never none under an enrolment in force.

The registration is the person's identity and domicile, and the domicile decides which region
sees them: a second one in force would move them, and an enrolment without one would make them
vanish from every read. What counts is the ledger after the tx, as the supersession cascade
leaves it (a registration restored by superseding its retraction enters force too), not what
the batch names."""

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.errors import Conflict, ErrorItem
from coverage_ledger.ledger import projections_repository

REGISTRATION = "person.registered"
ENROLMENTS = ("officer.enrolled", "informal.enrolled")


async def check_registrations(
    session: AsyncSession,
    *,
    entering: Sequence[str],
    leaving: Sequence[tuple[str, str | None]],
    kinds: dict[str, tuple[str, str | None]],
    paths: dict[str, str],
) -> set[str]:
    """409 unless each person whose registration enters or leaves force, or whose stored enrolment
    is restored, keeps exactly one (none only without enrolments); the persons concerned, for the
    recheck under the append lock. (A new enrolment's registration is checked with the batch.)"""
    touched = {
        nik
        for event_id in [*entering, *(e for e, _ in leaving)]
        if kinds[event_id][0] == REGISTRATION and (nik := kinds[event_id][1]) is not None
    } | {
        nik
        for event_id in entering
        if event_id not in paths
        and kinds[event_id][0] in ENROLMENTS
        and (nik := kinds[event_id][1]) is not None
    }
    if not touched:
        return set()
    gone = {event_id for event_id, _ in leaving}
    registrations: dict[str, list[str]] = {nik: [] for nik in touched}
    enrolled: set[str] = set()
    for event in await projections_repository.in_force_events_of(
        session, niks=touched, types=[REGISTRATION, *ENROLMENTS]
    ):
        if event.event_id in gone:
            continue
        if event.type == REGISTRATION:
            registrations[event.payload["nik"]].append(event.event_id)
        else:
            enrolled.add(event.payload["nik"])
    for event_id in entering:
        kind, nik = kinds[event_id]
        if nik in touched and kind == REGISTRATION:
            registrations[nik].append(event_id)
        elif nik in touched and kind in ENROLMENTS:
            enrolled.add(nik)
    causes = {
        nik: cause
        for event_id, cause in leaving
        if kinds[event_id][0] == REGISTRATION and (nik := kinds[event_id][1]) is not None
    }
    errors = []
    for nik in sorted(touched):
        held = registrations[nik]
        if len(held) > 1:
            new = next((e for e in reversed(held) if e in paths), None)  # the later one
            errors.append(
                ErrorItem(
                    "already_registered",
                    f"NIK {nik} is already registered; to change the registration, supersede it "
                    "with an event.corrected carrying the new one",
                    field=f"{paths[new]}.nik" if new else "events",
                )
            )
        elif not held and nik in enrolled and nik in causes:
            cause = causes[nik]
            errors.append(
                ErrorItem(
                    "registration_in_use",
                    f"NIK {nik} has enrolments in force; retract or correct them before its registration",
                    field=f"{paths[cause]}.supersedes" if cause in paths else "events",
                )
            )
        elif not held and nik in enrolled:
            errors.append(
                ErrorItem(
                    "person_not_registered",
                    f"NIK {nik} has no registration in force; an enrolment of it cannot be restored",
                    field=next((f"{path}.supersedes" for path in paths.values() if path), "events"),
                )
            )
    if errors:
        raise Conflict(
            f"{len(errors)} person(s) would not have exactly one registration; nothing was written", errors
        )
    return touched
