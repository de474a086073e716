"""Officer terms a person holds at once: no two in force share a day and a program, and nobody
holds more than `MAX_TERMS_PER_PERSON`."""

from collections.abc import Callable, Collection, Sequence

from coverage_ledger.domain.access import Principal
from coverage_ledger.domain.coverage import human_date
from coverage_ledger.domain.officer import OfficerTerm, find_overlaps, last_day
from coverage_ledger.errors import Conflict, ErrorItem, InvalidInput
from coverage_ledger.ledger.person_events import officer_term

MAX_TERMS_PER_PERSON = 200
"""Officer terms one person may hold in force. An officer serves a few terms per election, a
few dozen in a working life; thousands of one-day terms (a probe's) made every append, read and
rebuild of that person grow with the square of their number and held the server for minutes."""


def check_overlaps(
    *,
    principal: Principal,
    in_force: Sequence[tuple[str, dict[str, object]]],
    entering: set[str],
    fresh: Collection[str],
    field_of: Callable[[str], str],
) -> None:
    """No two in-force officer terms of one person share a day and a program, and nobody holds
    more than `MAX_TERMS_PER_PERSON`.

    `in_force` is every officer enrolment of the persons concerned after this tx: (event_id, payload).
    `fresh`: the terms the request itself sends. `field_of`: the request field a refusal of an
    entering term is laid on (a term a correction restores: that correction's `supersedes`, never
    the term's own id).
    """
    terms = [officer_term(event_id, payload, None) for event_id, payload in in_force]
    _check_term_count(terms, entering, field_of, principal)
    errors = []
    for first, second in find_overlaps(terms):
        # the term the request sends is the one refused; one it restores is in the ledger, in the way
        rank = {t.event_id: (t.event_id in entering, t.event_id in fresh) for t in (first, second)}
        new, other = (second, first) if rank[second.event_id] >= rank[first.event_id] else (first, second)
        if new.event_id not in entering:
            continue
        if principal.sees(other.region_code):
            detail = (
                f"overlaps {other.event_id}: {other.role} of {other.committee}, "
                f"{human_date(other.valid_from)} – {human_date(last_day(other))}; supersede it to replace it"
            )
        else:  # this key may not supersede it (a 403): say who can
            detail = (
                "overlaps an enrolment held outside your region, which only a key of its region can correct"
            )
        errors.append(
            ErrorItem(
                "overlapping_enrolment",
                f"NIK {new.nik}: {detail}",
                field=field_of(new.event_id),
            )
        )
    if errors:
        raise Conflict(
            f"{len(errors)} officer term(s) overlap existing coverage; nothing was written", errors
        )


def _check_term_count(
    terms: Sequence[OfficerTerm], entering: set[str], field_of: Callable[[str], str], principal: Principal
) -> None:
    held: dict[str, list[OfficerTerm]] = {}
    for term in terms:
        held.setdefault(term.nik, []).append(term)
    errors = []
    for nik, own in sorted(held.items()):
        new = [t.event_id for t in own if t.event_id in entering]
        if len(own) > MAX_TERMS_PER_PERSON and new:
            # a regional key is told the terms in its region: the total counts other regions'
            how_many = (
                f"{len(own):,} officer terms in force, more than the {MAX_TERMS_PER_PERSON} a person may"
                if principal.region_prefix is None
                else f"more than the {MAX_TERMS_PER_PERSON} officer terms in force a person may "
                f"({sum(principal.sees(t.region_code) for t in own):,} of them in this key's region)"
            )
            errors.append(
                ErrorItem(
                    "too_many_terms",
                    f"NIK {nik} would hold {how_many}; supersede old ones or merge short ones",
                    field=field_of(new[0]),
                )
            )
    if errors:
        raise InvalidInput(
            f"{len(errors)} person(s) with too many officer terms; nothing was written", errors
        )
