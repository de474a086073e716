"""pydantic's validation errors as the codes the service's own checks give the same mistake: a
bad date is `invalid_date` in a query, a body or a roster, and a client tells errors apart by
`code` alone (found by an integrator's probe: pydantic's types stood beside the service's)."""

from collections.abc import Mapping
from typing import Any

from coverage_ledger.domain.months import MONTH_TEXT
from coverage_ledger.domain.nik import NIK_PATTERN, nik_read_problem

VALIDATION_CODES = {
    **dict.fromkeys(
        ("date_parsing", "date_from_datetime_parsing", "date_from_datetime_inexact", "date_type"),
        "invalid_date",
    ),
    **dict.fromkeys(
        ("datetime_parsing", "datetime_from_date_parsing", "datetime_type", "timezone_aware"),
        "invalid_timestamp",
    ),
    **dict.fromkeys(("bool_parsing", "bool_type"), "invalid_boolean"),
    **dict.fromkeys(("literal_error", "enum"), "invalid_choice"),
    **dict.fromkeys(("int_parsing", "int_type", "int_from_float"), "invalid_integer"),
    **dict.fromkeys(
        (
            "float_parsing",
            "float_type",
            "decimal_parsing",
            "decimal_type",
            "decimal_max_places",
            "decimal_max_digits",
            "decimal_whole_digits",
            "finite_number",
        ),
        "invalid_number",
    ),
    **dict.fromkeys(("greater_than", "greater_than_equal", "less_than", "less_than_equal"), "out_of_range"),
    **dict.fromkeys(("string_too_long", "too_long"), "too_long"),
    **dict.fromkeys(("string_too_short", "too_short"), "too_short"),
    **dict.fromkeys(("list_type", "tuple_type", "set_type"), "invalid_list"),
    **dict.fromkeys(("dict_type", "model_type", "model_attributes_type"), "invalid_object"),
    **dict.fromkeys(("uuid_parsing", "uuid_type", "uuid_version"), "invalid_uuid"),
    "string_type": "invalid_text",
    "missing": "missing_field",
    "extra_forbidden": "unknown_field",
    "json_invalid": "invalid_json",
    "union_tag_not_found": "missing_event_type",
    "value_error": "invalid_value",
}
"""pydantic's error types by the service's code for them; a type not listed keeps its name."""


def validation_code(error: Mapping[str, Any]) -> tuple[str, str]:
    """(code, message) of one pydantic error as the service says it."""
    kind = str(error.get("type", "invalid"))
    message = str(error.get("msg", "invalid value"))
    context = error.get("ctx") or {}
    if kind == "union_tag_invalid":
        return "unknown_event_type", f"unknown event type; expected one of: {context.get('expected_tags')}"
    if kind == "string_pattern_mismatch":
        pattern = context.get("pattern")
        if pattern == NIK_PATTERN:
            # say what a spreadsheet did to it (1.67101E+15, a digit missing), as the uploads do
            diagnosed = nik_read_problem(error.get("input"))
            if diagnosed is not None:
                return diagnosed.code, diagnosed.message
        return ("invalid_month" if pattern == MONTH_TEXT else "invalid_format"), message
    if kind == "value_error":
        # a check of the service's own raised a ValueError: its text is the message
        message = message.removeprefix("Value error, ")
    return VALIDATION_CODES.get(kind, kind), message
