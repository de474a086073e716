"""The OpenAPI document as a client generator reads it (found by an integrator's probe)."""

import json
from typing import Any

from coverage_ledger.app import create_app
from coverage_ledger.domain.claims import ClaimStatus
from coverage_ledger.domain.coverage import CoverageStatus


def _document() -> dict[str, Any]:
    return create_app(database_url="postgresql://nobody@localhost/unused").openapi()


def _integers(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        found = [node] if node.get("type") == "integer" else []
        return found + [i for value in node.values() for i in _integers(value)]
    if isinstance(node, list):
        return [i for value in node for i in _integers(value)]
    return []


def test_every_integer_is_64_bit_so_rupiah_totals_past_two_billion_fit() -> None:
    document = _document()
    integers = _integers(document)
    assert integers and all(i.get("format") == "int64" for i in integers)
    schemas = document["components"]["schemas"]
    paid = [
        s["properties"]["paid_amount"] for s in schemas.values() if "paid_amount" in s.get("properties", {})
    ]
    assert paid and all(p == {**p, "type": "integer", "format": "int64"} for p in paid)


def test_operation_ids_are_short_and_unique() -> None:
    document = _document()
    ids = [operation["operationId"] for path in document["paths"].values() for operation in path.values()]
    assert len(ids) == len(set(ids))
    assert document["paths"]["/v1/persons/{nik}/coverage"]["get"]["operationId"] == "get_coverage"
    assert all("_v1_" not in i for i in ids)


def test_the_problem_schema_is_one_component_every_error_refers_to() -> None:
    document = _document()
    problem = document["components"]["schemas"]["Problem"]
    assert problem["required"] == ["type", "title", "status", "detail"]
    refused = document["paths"]["/v1/events"]["post"]["responses"]["422"]["content"]
    assert refused["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}
    assert json.dumps(document).count(problem["description"]) == 1


def test_what_a_response_carries_besides_json_is_declared() -> None:
    paths = _document()["paths"]
    diff = paths["/v1/reports/coverage-diff"]["get"]["responses"]["200"]
    assert set(diff["content"]) == {"application/json", "text/csv; charset=utf-8"}
    assert diff["content"]["application/json"]["schema"]["required"] == ["report", "columns", "rows"]
    assert "Content-Disposition" in diff["headers"]
    upload = paths["/v1/uploads"]["post"]["responses"]
    assert "Location" in upload["202"]["headers"] and "Location" in upload["200"]["headers"]
    assert {"400", "413", "415"} <= set(upload)  # a file sent as JSON is a 415, as on /v1/events
    assert upload["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/UploadStatus"
    }
    assert "Retry-After" in paths["/v1/persons/{nik}/coverage"]["get"]["responses"]["503"]["headers"]
    proof = paths["/v1/ledger/proof"]["get"]["responses"]["409"]
    assert proof["content"]["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}


def test_a_status_field_lists_its_values() -> None:
    schemas = _document()["components"]["schemas"]
    assert schemas["CoverageOut"]["properties"]["status"]["enum"] == [s.value for s in CoverageStatus]
    assert schemas["ClaimOut"]["properties"]["status"]["enum"] == [s.value for s in ClaimStatus]
    assert schemas["LookupResult"]["properties"]["status"]["enum"][-1] is None  # null: unknown NIK
    assert "succeeded" in schemas["UploadStatus"]["properties"]["status"]["enum"]
