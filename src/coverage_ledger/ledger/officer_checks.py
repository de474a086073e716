"""An officer's age at the start of a term, checked on the API as a roster row is checked: a term
before the officer's birth, or one starting before they are 17, is refused."""

from datetime import date

from coverage_ledger.domain.officer import MIN_OFFICER_AGE, age_on
from coverage_ledger.errors import ErrorItem
from coverage_ledger.ledger.schemas import OfficerEnrolled


def officer_age_errors(event: OfficerEnrolled, born: date | None, path: str) -> list[ErrorItem]:
    """The errors of an enrolment whose term starts before the officer's birth or 17th birthday
    (none when the birth date is unknown: a registration need not give it, and the NIK's DDMMYY
    does not say the century). The messages do not repeat the date: the registration may be
    another region's."""
    if born is None:
        return []
    if event.valid_from < born:
        return [
            ErrorItem(
                "term_before_birth",
                "the term starts before the officer's birth date as registered",
                field=f"{path}.valid_from",
            )
        ]
    if age_on(born, event.valid_from) < MIN_OFFICER_AGE:
        return [
            ErrorItem(
                "officer_too_young",
                f"by the birth date registered, the officer is under {MIN_OFFICER_AGE} when the term "
                f"starts; election officers are at least {MIN_OFFICER_AGE} (UU 7/2017)",
                field=f"{path}.valid_from",
            )
        ]
    return []
