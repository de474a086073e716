"""Whether a `rule.defined` payload makes a rule of its kind: checked when it is appended, so a
malformed definition is refused with its reason instead of breaking every later read of the table."""

from collections.abc import Mapping
from typing import Any

from coverage_ledger.domain.benefit_table import HOLIDAY_CATEGORIES, benefit_table
from coverage_ledger.domain.rule_table import officer_rate_from, rates_from, relief_from


class MalformedRule(ValueError):
    """The parameters do not make a rule of the kind stated."""


def check_rule_definition(definition: Mapping[str, Any]) -> None:
    """Build the rule the definition describes; `MalformedRule` naming what is wrong if it cannot."""
    kind, rule_id, parameters = definition["kind"], definition["rule_id"], definition["parameters"]
    regulation = definition["regulation"]
    try:
        if kind == "bpu_rates":
            rates_from(rule_id, parameters, regulation)
        elif kind == "relief":
            relief_from(rule_id, parameters, regulation)
        elif kind == "officer_rate":
            officer_rate_from(rule_id, parameters, regulation)
        elif kind == "grace":
            if int(parameters["months"]) < 0:
                raise ValueError("months must not be negative")
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
