"""A query parameter the API takes once, given twice, is refused rather than guessed at.

Starlette hands a route the last of repeated values: `?known_at=tx:5&known_at=2024-01-01` would
silently answer as of 2024-01-01, and an auditor reading the URL later could not tell which of the
two the answer was for. Parameters documented as lists (the claims' `status`) may repeat; which
they are is read from the OpenAPI document, the API's own contract.
"""

import json
import re
from collections import Counter
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from coverage_ledger.errors import ErrorItem, InvalidInput
from coverage_ledger.http.problems import check_key, known_problem

Repeatable = list[tuple[re.Pattern[str], str, frozenset[str]]]
"""(an operation's path pattern, its method, the query parameters it takes as a list)."""


def repeatable_parameters(openapi: dict[str, Any]) -> Repeatable:
    """Each operation's list-valued query parameters, read from an OpenAPI document."""
    found: Repeatable = []
    for template, operations in openapi.get("paths", {}).items():
        pattern = re.compile(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)))
        for method, operation in operations.items():
            names = frozenset(
                p["name"]
                for p in operation.get("parameters", [])
                if p.get("in") == "query" and '"array"' in json.dumps(p.get("schema", {}))
            )
            found.append((pattern, method.upper(), names))
    return found


def repeated_names(query_string: bytes) -> set[str]:
    """The names a query string gives more than once."""
    names = Counter(name for name, _ in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))
    return {name for name, count in names.items() if count > 1}


class SingleValuedQuery:
    """ASGI middleware answering 422 problem+json to an API request that repeats a query
    parameter its operation takes once; a missing or bad key is the 401 first, as on the routes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._repeatable: Repeatable | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/v1/") and b"&" in scope["query_string"]:
            repeated = repeated_names(scope["query_string"]) - self._allowed(scope)
            if repeated:
                response = await _refusal(Request(scope, receive), sorted(repeated))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _allowed(self, scope: Scope) -> frozenset[str]:
        if self._repeatable is None:  # the document is built once, on the first repeat seen
            self._repeatable = repeatable_parameters(scope["app"].openapi())
        for pattern, method, names in self._repeatable:
            if method == scope["method"] and pattern.fullmatch(scope["path"]):
                return names
        return frozenset()


async def _refusal(request: Request, names: list[str]) -> Response:
    error: Exception = InvalidInput(
        f"query parameter {', '.join(names)} given more than once; give each once",
        [ErrorItem("repeated_parameter", "given more than once", field=name) for name in names],
    )
    try:
        await check_key(request)
    except Exception as refused:  # mapped as the routes map it; anything else is re-raised below
        error = refused
    response = known_problem(error, method=request.method, path=request.url.path)
    if response is None:
        raise error
    return response
