"""The OpenAPI document as client generators read it: short operation ids, 64-bit integers, and
the problem schema written once as a component."""

from collections.abc import Iterable
from typing import Any

from fastapi.routing import APIRoute

from coverage_ledger.http.problems import PROBLEM_JSON, PROBLEM_SCHEMA

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def one_of(values: Iterable[str], *, nullable: bool = False) -> dict[str, Any]:
    """A response field's allowed values, for `Field(json_schema_extra=…)`: a client generator
    makes an enum of them, where a bare string told it nothing (found by an integrator's probe)."""
    return {"enum": [*values, *([None] if nullable else [])]}


def operation_id(route: APIRoute) -> str:
    """The route's function name (`get_coverage`), not FastAPI's default built from the path and
    method (`get_coverage_v1_persons__nik__coverage_get`); FastAPI warns of a repeated one, and
    the test suite turns warnings into failures."""
    return route.name


def _integers_as_int64(node: Any) -> None:
    """Every integer declared `format: int64`: rupiah totals and counts pass 2^31 (a province's
    payouts, 2,565,600,000), which generators read as a 32-bit int when no format is given."""
    if isinstance(node, dict):
        if node.get("type") == "integer" and "format" not in node:
            node["format"] = "int64"
        for value in node.values():
            _integers_as_int64(value)
    elif isinstance(node, list):
        for value in node:
            _integers_as_int64(value)


def _problem_as_component(schema: dict[str, Any]) -> None:
    """Each problem+json response refers to one `Problem` schema instead of repeating it."""
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for response in operation.get("responses", {}).values():
                media = response.get("content", {}).get(PROBLEM_JSON)
                if media is not None and media.get("schema") == PROBLEM_SCHEMA:
                    media["schema"] = PROBLEM_REF
    schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA


def finish_document(schema: dict[str, Any]) -> dict[str, Any]:
    """The generated document with the problem schema as a component and integers as int64."""
    _problem_as_component(schema)
    _integers_as_int64(schema)
    return schema
