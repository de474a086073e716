"""Whether a `rule.defined` payload makes a rule of its kind: checked when it is appended, so a
malformed definition is refused with its reason instead of breaking every later read of the table."""

import re
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

from coverage_ledger.domain.benefit_table import HOLIDAY_CATEGORIES, MEMBERSHIP_SOURCES, benefit_table
from coverage_ledger.domain.benefits import EARLY_COUNTS
from coverage_ledger.domain.claim_benefit import BENEFIT_KINDS, program_of
from coverage_ledger.domain.months import MONTH_TEXT
from coverage_ledger.domain.rule_table import officer_rate_from, rates_from, relief_from
from coverage_ledger.domain.timeframes import plausible_year


class MalformedRule(ValueError):
    """The parameters do not make a rule of the kind stated."""

    def __init__(self, message: str, *, parameter: str | None = None) -> None:
        super().__init__(message)
        self.parameter = parameter
        """The parameter at fault (a path under `parameters`), when one is."""


DURATION_LIMITS: dict[tuple[str, str], tuple[int, int]] = {
    ("grace", "months"): (0, 120),
    ("claim_deadline", "years"): (1, 100),
    ("service_time", "working_days"): (1, 365),
    ("service_time", "penalty_bp_per_day"): (0, 10_000),
}
"""Bounds of the parameters that move dates or grow per day. Far beyond any regulation's value,
they keep every date the rule computes inside the calendar: a grace of 100,000 months once made
every later coverage read of a BPU member fail, and for good at that `known_at`."""


def check_rule_definition(definition: Mapping[str, Any]) -> None:
    """Build the rule the definition describes; `MalformedRule` naming what is wrong if it cannot."""
    kind, rule_id, parameters = definition["kind"], definition["rule_id"], definition["parameters"]
    regulation = definition["regulation"]
    _check_bounds(kind, parameters)
    _check_shapes(kind, parameters)
    try:
        if kind == "bpu_rates":
            rates_from(rule_id, parameters, regulation)
        elif kind == "relief":
            relief_from(rule_id, parameters, regulation)
        elif kind == "officer_rate":
            officer_rate_from(rule_id, parameters, regulation)
        elif kind == "grace":
            int(parameters["months"])
        else:
            benefit_table([definition])
            if kind == "public_holidays":  # read leniently (as a day off): refused when appended
                categories = {str(d.get("category", "public")) for d in parameters["days"]}
                unknown = sorted(categories - HOLIDAY_CATEGORIES)
                if unknown:
                    raise ValueError(f"category {', '.join(unknown)} is neither public nor joint_leave")
    except KeyError as exc:
        raise MalformedRule(f"a {kind} rule needs the parameter {exc.args[0]!r}") from exc
    except (TypeError, ValueError, AttributeError, IndexError) as exc:
        raise MalformedRule(f"the parameters do not make a {kind} rule: {exc}") from exc


MONTHS = re.compile(MONTH_TEXT)
CLAIM_PROGRAMS = tuple(sorted({program_of(benefit) for benefit in BENEFIT_KINDS}))
"""The programs claims are made under, and so the programs of deadlines and service times."""


def _check_shapes(kind: str, parameters: Any) -> None:
    """What the builders would take too leniently: a grace of `"3"` months, a service time for a
    program no claim is made under, a rate whose months end before they begin (every payment of
    its months then found no rate in force). A parameter left out is the builders' to name."""
    if not isinstance(parameters, Mapping):
        raise MalformedRule("parameters must be an object")
    if kind == "grace" and "months" in parameters and not _is_whole(parameters["months"]):
        raise MalformedRule("months must be a whole number", parameter="months")
    program = parameters.get("program")
    if (
        kind in ("service_time", "claim_deadline")
        and "program" in parameters
        and program not in CLAIM_PROGRAMS
    ):
        raise MalformedRule(f"program must be one of {', '.join(CLAIM_PROGRAMS)}", parameter="program")
    start = parameters.get("incidents_from")
    if kind == "claim_deadline" and start is not None and not _is_day(start):
        raise MalformedRule("incidents_from must be a date, YYYY-MM-DD", parameter="incidents_from")
    counts = parameters.get("early_informal_counts")
    if kind == "jkm_benefit" and counts is not None and counts not in EARLY_COUNTS:
        name, allowed = "early_informal_counts", ", ".join(EARLY_COUNTS)
        raise MalformedRule(f"{name} must be one of {allowed}", parameter=name)
    sources = parameters.get("membership_sources")
    if kind == "claim_reading" and "membership_sources" in parameters and sources not in MEMBERSHIP_SOURCES:
        name, allowed = "membership_sources", ", ".join(MEMBERSHIP_SOURCES)
        raise MalformedRule(f"{name} must be one of {allowed}", parameter=name)
    if kind in ("bpu_rates", "relief"):
        first, last = parameters.get("months_from"), parameters.get("months_to")
        for name, value in (("months_from", first), ("months_to", last)):
            if value is not None and not (isinstance(value, str) and MONTHS.match(value)):
                raise MalformedRule(f"{name} must be a month, YYYY-MM", parameter=name)
        if isinstance(first, str) and isinstance(last, str) and last < first:
            raise MalformedRule(f"months_to {last} is before months_from {first}", parameter="months_to")


def _is_day(value: Any) -> bool:
    try:
        return isinstance(value, str) and plausible_year(date.fromisoformat(value).year)
    except ValueError:
        return False


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_bounds(kind: str, parameters: Any) -> None:
    """No rule parameter is a negative number (they are amounts, rates, counts and durations),
    and the durations stay within `DURATION_LIMITS`."""
    for path, value in _numbers(parameters, ""):
        if value < 0:
            raise MalformedRule(f"{path} must not be negative (got {value})", parameter=path)
    if not isinstance(parameters, Mapping):
        return
    for (limited_kind, name), (low, high) in DURATION_LIMITS.items():
        given = parameters.get(name)
        if limited_kind == kind and isinstance(given, int | float) and not low <= given <= high:
            raise MalformedRule(f"{name} must be between {low:,} and {high:,} (got {given})", parameter=name)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _numbers(value: Any, path: str) -> Iterator[tuple[str, int | float]]:
    """Every number in a JSON value, with its path (`steps[0].months`)."""
    if _is_number(value):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _numbers(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _numbers(item, f"{path}[{index}]")
