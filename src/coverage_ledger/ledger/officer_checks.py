"""An officer's age at the start of a term, checked on the API as a roster row is checked: a term
before the officer's birth, or one starting before they are 17, is refused."""

from collections.abc import Sequence
from datetime import date

from coverage_ledger.domain.officer import MIN_OFFICER_AGE, term_age_problem
from coverage_ledger.errors import ErrorItem
from coverage_ledger.ledger.preparation import PreparedEvent
from coverage_ledger.ledger.schemas import OfficerEnrolled, PersonRegistered


def birth_dates_after(
    *,
    prepared: Sequence[PreparedEvent],
    registrations: dict[str, tuple[str, date | None]],
    superseded: set[str],
) -> dict[str, date]:
    """The birth date each person's registration gives once the batch is in force: the stored
    one (`registrations`: NIK to its event id and birth date) unless the batch supersedes it, the
    batch's own registration (not itself superseded) instead when it has one."""
    births = {
        nik: born
        for nik, (event_id, born) in registrations.items()
        if born is not None and event_id not in superseded
    }
    for item in prepared:
        if isinstance(item.source, PersonRegistered) and item.row.event_id not in superseded:
            if item.source.birth_date is None:
                births.pop(item.source.nik, None)
            else:
                births[item.source.nik] = item.source.birth_date
    return births


def officer_age_errors(event: OfficerEnrolled, born: date | None, path: str) -> list[ErrorItem]:
    """The errors of an enrolment whose term starts before the officer's birth or 17th birthday
    (none when the birth date is unknown: a registration need not give it, and the NIK's DDMMYY
    does not say the century). The messages do not repeat the date: the registration may be
    another region's."""
    problem = None if born is None else term_age_problem(born, event.valid_from)
    if problem == "term_before_birth":
        return [
            ErrorItem(
                problem,
                "the term starts before the officer's birth date as registered",
                field=f"{path}.valid_from",
            )
        ]
    if problem == "officer_too_young":
        return [
            ErrorItem(
                problem,
                f"by the birth date registered, the officer is under {MIN_OFFICER_AGE} when the term "
                f"starts; election officers are at least {MIN_OFFICER_AGE} (UU 7/2017)",
                field=f"{path}.valid_from",
            )
        ]
    return []


def _starting_too_early(problem: str) -> str:
    return (
        "before the birth date"
        if problem == "term_before_birth"
        else f"before the {MIN_OFFICER_AGE}th birthday"
    )


def stored_terms_age_errors(
    *, nik: str, born: date, term_starts: Sequence[date], field: str
) -> list[ErrorItem]:
    """The error of a registration whose birth date would leave officer terms in force (starting
    on `term_starts`) before the person's birth or 17th birthday: the roster and the API refuse
    such a term when it is enrolled, so a registration corrected later must not make one. The
    message names neither the terms nor their dates: they may be another region's."""
    problems = {term_age_problem(born, start) for start in term_starts} - {None}
    if not problems:
        return []
    code = "term_before_birth" if "term_before_birth" in problems else "officer_too_young"
    return [
        ErrorItem(
            code,
            f"NIK {nik} has an officer term in force starting {_starting_too_early(code)} this registration "
            f"gives; election officers are at least {MIN_OFFICER_AGE} (UU 7/2017): correct or retract "
            "that enrolment first, or check the date",
            field=field,
        )
    ]


def restored_terms_age_errors(
    *, terms: Sequence[tuple[str, date]], births: dict[str, date], field: str
) -> list[ErrorItem]:
    """The errors of stored officer terms (NIK, first day) a correction brings back into force
    although they start before the officer's birth or 17th birthday by the birth date in force:
    a term enrolled so would be refused. The terms are not named: they may be another region's."""
    problems = {term_age_problem(births[nik], start) for nik, start in terms if nik in births} - {None}
    return [
        ErrorItem(
            problem,
            f"the correction brings back an officer term starting {_starting_too_early(problem)} "
            f"registered; election officers are at least {MIN_OFFICER_AGE} (UU 7/2017)",
            field=field,
        )
        for problem in sorted(p for p in problems if p is not None)
    ]
