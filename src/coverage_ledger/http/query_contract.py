"""Query parameters as the API documents them: one the operation does not take, or one it takes
once given twice, is refused rather than ignored or guessed at; one given without a value is
taken as absent, so it takes its default.

Starlette ignores unknown names and hands a route the last of repeated values. So
`GET /v1/claims?nik=…` answered every claim of the region as if filtered, `POST /v1/events?recorded_at=…`
would have been recorded now instead of backfilled, and `?known_at=tx:5&known_at=2024-01-01`
answered as of 2024-01-01 where an auditor reading the URL could not tell which was meant. Which
names an operation takes, and which of them are lists (the claims' `status`), is read from the
OpenAPI document, the API's own contract.
"""

import json
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from coverage_ledger.errors import ErrorItem, InvalidInput
from coverage_ledger.http.dependencies import check_key
from coverage_ledger.http.problems import known_problem

OWN_QUERY = frozenset({("POST", "/v1/uploads")})
"""Operations that read their options from the query or the form themselves (and refuse unknown
names themselves): the upload, whose options are not documented as query parameters."""


@dataclass(frozen=True, slots=True)
class Operation:
    """An operation's path pattern and method, and the query parameters it takes."""

    template: str
    """The path as OpenAPI writes it (`/v1/claims/{claim_id}`)."""
    pattern: re.Pattern[str]
    loose: re.Pattern[str]
    """The same with path parameters that may hold slashes (a claim id: `{claim_id:path}`, which
    OpenAPI writes as `{claim_id}`)."""
    method: str
    names: frozenset[str]
    lists: frozenset[str]
    """The names it takes as a list: these may repeat."""


def documented_operations(openapi: dict[str, Any]) -> list[Operation]:
    """Every operation of an OpenAPI document under /v1, with its query parameters."""
    found = []
    for template, operations in openapi.get("paths", {}).items():
        if not template.startswith("/v1/"):
            continue
        pattern = re.compile(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)))
        loose = re.compile(re.sub(r"\\\{[^/]+?\\\}", ".+", re.escape(template)))
        for method, operation in operations.items():
            query = [p for p in operation.get("parameters", []) if p.get("in") == "query"]
            found.append(
                Operation(
                    template,
                    pattern,
                    loose,
                    method.upper(),
                    frozenset(p["name"] for p in query),
                    frozenset(p["name"] for p in query if '"array"' in json.dumps(p.get("schema", {}))),
                )
            )
    return found


NUL = "\x00"
NUL_MESSAGE = "holds a NUL character (%00), which no value can contain"


def query_errors(
    query_string: bytes, *, names: frozenset[str], lists: frozenset[str] = frozenset()
) -> list[ErrorItem]:
    """The names a query gives that are not among the operation's `names`, or are given twice
    but not among its `lists`, and values holding a NUL character (the database would refuse
    them as unstorable)."""
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    given = Counter(name for name, _ in pairs)
    errors = [
        ErrorItem("nul_character", NUL_MESSAGE, field=name)
        for name in sorted({name for name, value in pairs if NUL in value and name in names})
    ]
    for name, count in sorted(given.items()):
        if name not in names:
            taken = ", ".join(sorted(names)) or "none"
            errors.append(
                ErrorItem(
                    "unknown_parameter", f"not a parameter of this operation (it takes: {taken})", field=name
                )
            )
        elif count > 1 and name not in lists:
            errors.append(ErrorItem("repeated_parameter", "given more than once", field=name))
    return errors


def without_blank_values(query_string: bytes) -> bytes:
    """The query without its parameters given no value (`?segment=`, `?known_at`): DESIGN.md has
    a parameter without a value take its default, as if absent, so a required one (the diff's
    `known_then`) is then missing, not read as "now" (a probe found `?segment=` refused and
    `?known_then=` answering an always empty diff)."""
    kept = [part for part in query_string.split(b"&") if part.partition(b"=")[2]]
    return b"&".join(kept)


def path_errors(path: str, operation: Operation) -> list[ErrorItem]:
    """A path parameter holding a NUL character, named as the operation names it."""
    if NUL not in path:
        return []
    parts, names = path.split("/"), operation.template.split("/")
    named = [
        name.strip("{}")
        for name, part in zip(names, parts, strict=False)
        if NUL in part and name.startswith("{")
    ]
    return [ErrorItem("nul_character", NUL_MESSAGE, field=named[0] if named else "path")]


_DOCUMENTED: dict[tuple[str, str], list[Operation]] = {}
"""The operations of each API (title, version) met in this process. Every app `create_app`
builds has the same ones, and building the OpenAPI document costs some 0.3 s: the tests, which
build an app per test, would pay it hundreds of times."""


class QueryContract:
    """ASGI middleware answering 422 problem+json to an API request whose query breaks its
    operation's documented parameters; a missing or bad key is the 401 first, as on the routes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not (scope["query_string"] or NUL in scope["path"]):
            await self.app(scope, receive, send)
            return
        # the pages take the API's rule on blank values too (a web probe found `/claims?cursor=`
        # refused, where `/v1/claims?cursor=` lists the first page); their forms send only what
        # they name, so only the API's queries are held to its documented parameters
        blanks_dropped = True
        if scope["path"].startswith("/v1/"):
            operation = self._operation(scope)
            errors = (
                path_errors(scope["path"], operation)
                + query_errors(scope["query_string"], names=operation.names, lists=operation.lists)
                if operation
                else []
            )
            if errors:
                response = await _refusal(Request(scope, receive), errors)
                await response(scope, receive, send)
                return
            blanks_dropped = operation is not None
        if blanks_dropped and scope["query_string"]:
            # a copy, so the access log still shows the query as asked; its state shared, so
            # what the route learns (the caller) reaches the log
            scope.setdefault("state", {})
            scope = dict(scope, query_string=without_blank_values(scope["query_string"]))
        await self.app(scope, receive, send)

    def _operation(self, scope: Scope) -> Operation | None:
        """The documented operation the request is for; None for one reading its own query, or
        for a path or method the API does not have (its 404 or 405 follows)."""
        if (scope["method"], scope["path"]) in OWN_QUERY:
            return None
        api = scope["app"]
        operations = _DOCUMENTED.get((api.title, api.version))
        if operations is None:  # built on the first request with a query
            operations = _DOCUMENTED[(api.title, api.version)] = documented_operations(api.openapi())
        method = "GET" if scope["method"] == "HEAD" else scope["method"]
        path = scope["path"]
        for operation in operations:
            if operation.method == method and operation.pattern.fullmatch(path):
                return operation
        for operation in operations:
            if operation.method == method and operation.loose.fullmatch(path):
                return operation
        return None


async def _refusal(request: Request, errors: list[ErrorItem]) -> Response:
    names = ", ".join(sorted({e.field or "" for e in errors}))
    verdict: Exception = InvalidInput(f"parameter {names} not as documented; nothing was done", errors)
    try:
        await check_key(request)
    except Exception as refused:  # mapped as the routes map it; anything else is re-raised below
        verdict = refused
    response = known_problem(verdict, method=request.method, path=request.url.path)
    if response is None:
        raise verdict
    return response
