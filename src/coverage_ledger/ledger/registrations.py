"""A registration leaves force only with the person's enrolments (coverage is read through it)."""

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.errors import Conflict, ErrorItem
from coverage_ledger.ledger import projections


async def check_registrations_kept(
    session: AsyncSession,
    *,
    entering: Sequence[str],
    leaving: Sequence[tuple[str, str | None]],
    kinds: dict[str, tuple[str, str | None]],
    paths: dict[str, str],
) -> set[str]:
    """A registration may leave force only with the person's enrolments: coverage is read through
    it, so an enrolled person would otherwise vanish. The persons left without a registration."""
    causes = {
        nik: cause
        for event_id, cause in leaving
        if kinds[event_id][0] == "person.registered" and (nik := kinds[event_id][1]) is not None
    }
    causes = {
        nik: cause
        for nik, cause in causes.items()
        if not any(kinds[e] == ("person.registered", nik) for e in entering)
    }
    if not causes:
        return set()
    gone = {event_id for event_id, _ in leaving}
    remaining = [
        (event.type, event.payload["nik"])
        for event in await projections.in_force_events_of(
            session, niks=causes, types=["person.registered", "officer.enrolled", "informal.enrolled"]
        )
        if event.event_id not in gone
    ] + [kinds[e] for e in entering if kinds[e][0] in ("officer.enrolled", "informal.enrolled")]
    registered = {nik for kind, nik in remaining if kind == "person.registered"}
    enrolled = {nik for kind, nik in remaining if kind != "person.registered"}
    errors = [
        ErrorItem(
            "registration_in_use",
            f"NIK {nik} has enrolments in force; retract or correct them before its registration",
            field=f"{paths[cause]}.supersedes" if cause in paths else "events",
        )
        for nik, cause in sorted(causes.items())
        if nik in enrolled and nik not in registered
    ]
    if errors:
        raise Conflict(f"{len(errors)} registration(s) still carry enrolments; nothing was written", errors)
    return set(causes) - registered
