"""RFC 9457 problem+json for every error: the one place errors become HTTP."""

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

import psycopg
import psycopg_pool
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from coverage_ledger.errors import ErrorItem, FieldProblem, InvalidInput, LedgerError, NotFound
from coverage_ledger.http.access_log import logged_path
from coverage_ledger.http.dependencies import check_key
from coverage_ledger.validation_codes import validation_code

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An RFC 9457 problem: what went wrong, and for validation which fields or rows.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "field": {"type": "string"},
                    "row": {"type": "integer"},
                    "column": {"type": "string"},
                },
            },
        },
    },
}
"""Written out (not derived from a model) so it carries no `$defs` reference into the OpenAPI."""


def documented(description: str, **headers: str) -> dict[str, Any]:
    """An OpenAPI response entry answered as problem+json (a route's own entry replaces the app's),
    with the headers it carries, by name and description."""
    entry: dict[str, Any] = {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}},
    }
    if headers:
        entry["headers"] = {
            name.replace("_", "-"): {"description": text, "schema": {"type": "string"}}
            for name, text in headers.items()
        }
    return entry


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: documented("Malformed request (the body is not valid JSON)"),
    401: documented("No valid API key", WWW_Authenticate='`Bearer realm="coverage-ledger"`'),
    403: documented("The key's role or region may not do this"),
    404: documented("Unknown, or outside the key's region (the same answer)"),
    409: documented("Conflicts with what the ledger holds; nothing was written"),
    413: documented("File too large"),
    415: documented("A body sent in a media type the operation does not take; nothing was written"),
    503: documented(
        "The database asked for a retry (a deadlock or serialization failure; nothing was written), "
        "or could not be reached in time; `Retry-After` says when to try again",
        Retry_After="Seconds to wait before trying again",
    ),
    422: documented("Invalid input, naming the field or row; nothing was written"),
}
"""Documented on every operation: every error is problem+json (`tailor_openapi` then leaves out
the ones an operation cannot give)."""

KEYLESS_PATHS = frozenset({"/healthz", "/problems/{slug}"})
"""Operations that need no key, so answer no 401 or 403."""


def tailor_openapi(schema: dict[str, Any]) -> dict[str, Any]:
    """Each operation documents only the errors it can give: one without a body, no 400 (a body
    that is not JSON) nor 413, nor 415; one without a key, no 401 or 403;
    the liveness check, none; and a read's invalid input writes nothing, so its 422 does not say it."""
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            responses: dict[str, Any] = operation.get("responses", {})
            gone = set()
            body_types = operation.get("requestBody", {}).get("content", {})
            if "requestBody" not in operation:
                gone |= {"400", "413"}
            if not body_types:
                gone.add("415")
            if path in KEYLESS_PATHS:
                gone |= {"401", "403", "409", "503"}
            if path == "/healthz":
                gone = (gone | {"404", "422"}) - {"503"}  # the database out of reach
            for status in gone:
                responses.pop(status, None)
            if method == "get" and "422" in responses:
                responses["422"] = documented("Invalid parameter, naming it")
    return schema


def problem(
    status: int,
    slug: str,
    title: str,
    detail: str,
    errors: list[ErrorItem] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """A problem+json response."""
    body: dict[str, Any] = {
        "type": f"/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = [e.as_dict() for e in errors]
    if status == 401:
        # RFC 9110: a 401 names the scheme that would be accepted
        headers = {"WWW-Authenticate": 'Bearer realm="coverage-ledger"', **(headers or {})}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for part in loc:
        if part in {"body", "query", "path", "header"} and not parts:
            continue
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif isinstance(part, str) and part.count(".") == 1 and part[0].islower() and "[" not in part:
            continue  # the discriminator tag pydantic adds to union errors (e.g. officer.enrolled)
        else:
            parts.append(f".{part}" if parts else str(part))
    return "".join(parts) or "body"


def _json_body_sent_as_something_else(request: Request, exc: RequestValidationError) -> bool:
    """Whether a JSON body was refused whole because it came with another content type (curl's
    `-d` sends form-urlencoded): FastAPI then reads it as no JSON at all."""
    media = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if media == "application/json" or media.endswith("+json") or media == "multipart/form-data":
        return False
    return any(tuple(error.get("loc", ())) == ("body",) for error in exc.errors())


def _validation_items(exc: RequestValidationError) -> tuple[list[ErrorItem], bool]:
    items = []
    malformed = False
    for error in exc.errors():
        malformed |= error.get("type") == "json_invalid"
        kind, message = validation_code(error)
        location = tuple(error.get("loc", ()))
        if error.get("type") == "json_invalid" and location[1:] and isinstance(location[-1], int):
            # pydantic places a JSON error at ("body", offset): the field is the body itself
            items.append(ErrorItem(kind, f"{message} (at character {location[-1]})", field="body"))
            continue
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, FieldProblem):  # a check across fields names the one at fault
            location = (*location, cause.field)
            kind = cause.code or kind
        items.append(ErrorItem(kind, message, field=_field(location)))
    return items, malformed


UNAVAILABLE = (psycopg.OperationalError, psycopg_pool.PoolTimeout, sqlalchemy.exc.TimeoutError)
"""The database unreachable, gone mid-request, or no connection free in time (checked after the
retryable errors, which psycopg also counts as operational)."""


EXPECTED = (LedgerError, psycopg.DataError, sqlalchemy.exc.DBAPIError, *UNAVAILABLE)
"""The errors handed to `known_problem` (the retryable ones are operational errors too); a
session's DBAPIError it does not know becomes the 500 problem."""


def _try_again(slug: str, title: str, detail: str, *, after_seconds: int) -> JSONResponse:
    response = problem(503, slug, title, detail)
    response.headers["Retry-After"] = str(after_seconds)
    return response


def known_problem(exc: Exception, *, method: str, path: str) -> JSONResponse | None:
    """The problem response of an error the service expects (its own, or the database asking for
    a retry or refusing a value), logged; None for anything else. Shared by the exception handlers
    and the lean reads, which run outside FastAPI's exception middleware."""
    path = logged_path(path)
    if isinstance(exc, sqlalchemy.exc.DBAPIError) and isinstance(exc.orig, psycopg.Error):
        exc = exc.orig  # the driver's error, as statements run through a session raise it
    if isinstance(exc, LedgerError):
        log.info("%s %s -> %d %s", method, path, exc.status, exc.slug)
        answer = problem(exc.status, exc.slug, exc.title, exc.detail, exc.errors)
        if exc.retry_after is not None:
            answer.headers["Retry-After"] = str(exc.retry_after)
        return answer
    if isinstance(exc, psycopg.errors.SerializationFailure | psycopg.errors.DeadlockDetected):
        # the database chose this request to give way; its transaction was rolled back whole
        log.warning("%s %s -> 503 the database asked for a retry: %s", method, path, exc)
        return _try_again(
            "retry",
            "Try again",
            "the database asked for this request to be retried; nothing was written",
            after_seconds=1,
        )
    if isinstance(exc, psycopg.errors.LockNotAvailable):
        # lock_timeout (POST /v1/events): another tx, a large upload's, is being numbered
        log.warning("%s %s -> 503 the append lock stayed taken: %s", method, path, exc)
        return _try_again(
            "ledger-busy",
            "Ledger busy",
            "the ledger is busy numbering another tx (a large upload) and this request waited as "
            "long as it may; nothing was written, send it again",
            after_seconds=10,
        )
    if isinstance(exc, UNAVAILABLE):
        # the database refused or dropped the connection, or none came free in time; an append
        # cut off in its COMMIT may have landed, and resending it is safe (duplicates are known)
        log.error("%s %s -> 503 the database is unavailable: %s", method, path, exc)
        resend = (
            " (an append resent with the same event ids is recognised if it had been written)"
            if method not in ("GET", "HEAD")
            else ""
        )
        return _try_again(
            "database-unavailable",
            "Database unavailable",
            f"the database could not be reached or did not answer in time; try again{resend}",
            after_seconds=5,
        )
    if isinstance(exc, psycopg.DataError):
        # input PostgreSQL cannot hold (a NUL character in a text, an escaped \u0000 in JSON): the
        # request's transaction was rolled back with the error, so nothing was written
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        log.info("%s %s -> 422 unstorable value: %s", method, path, reason)
        detail = (
            # a read stores nothing: said of a read, "stored" and "nothing was written" misled
            f"a value in the request cannot be looked up ({reason})"
            if method in READS
            else f"a value in the request cannot be stored ({reason}); nothing was written"
        )
        items = [ErrorItem("unstorable_value", reason)]
        return problem(422, "unstorable-value", "Invalid input", detail, items)
    return None


def install(app: FastAPI, *, page: Callable[[Request, LedgerError], Response] | None = None) -> None:
    """Register the handlers that turn every error into problem+json; `page` renders a web
    page's invalid query or form as a page instead (its visitor is a browser, not a client)."""

    async def _known(request: Request, exc: Exception) -> Response:
        response = known_problem(exc, method=request.method, path=request.url.path)
        if response is None:
            return unexpected_problem(exc, request=request)
        if page is not None and _for_a_browser(request) and response.status_code < 500:
            # a refused form or a value the database cannot hold, met on a page: said as a page
            error = exc if isinstance(exc, LedgerError) else InvalidInput(_detail_of(response))
            return page(request, error)
        return response

    for kind in EXPECTED:
        app.add_exception_handler(kind, _known)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        if request.url.path.startswith("/v1/"):
            # FastAPI reads the body before it resolves the key: without a valid key, the answer
            # is the 401 every other request without one gets, whatever the body holds
            try:
                await check_key(request)
            except LedgerError as refused:
                return await _known(request, refused)
        items, malformed = _validation_items(exc)
        if page is not None and _for_a_browser(request):
            return page(request, InvalidInput(f"{len(items)} invalid field(s)", items))
        if _json_body_sent_as_something_else(request, exc):
            media = request.headers.get("content-type") or "no content type"
            return problem(
                415,
                "unsupported-media-type",
                "Unsupported media type",
                f"the body was sent as {media}; send it as application/json (curl: -H "
                "'content-type: application/json'); nothing was written",
                [ErrorItem("unsupported_media_type", "send the body as application/json", field="body")],
            )
        if malformed:
            return problem(400, "malformed-request", "Malformed request", "the body is not valid JSON", items)
        return problem(
            422,
            "validation-error",
            "Invalid input",
            f"{len(items)} invalid field(s)" + ("" if _reads_only(request) else "; nothing was written"),
            items,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        headers = _with_head_allowed(exc.headers)
        if page is not None and _for_a_browser(request) and exc.status_code < 500:
            # an unknown page or a wrong method met in a browser (a mistyped or stale link)
            error = NotFound(str(exc.detail)) if exc.status_code == 404 else LedgerError(str(exc.detail))
            error.status = exc.status_code
            answer = page(request, error)
            answer.headers.update(headers or {})  # a 405's Allow
            return answer
        # the exception's headers (a 405's Allow) go out with the problem; an unknown path is the
        # same `not-found` problem as an unknown resource
        if exc.status_code == 404:
            return problem(404, NotFound.slug, NotFound.title, "no operation or resource at this path")
        return problem(exc.status_code, "http-error", str(exc.detail), str(exc.detail), headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return unexpected_problem(exc, request=request)


def _with_head_allowed(headers: Mapping[str, str] | None) -> dict[str, str] | None:
    """A 405's `Allow` with HEAD wherever GET is (HeadAsGet answers it; FastAPI lists GET only)."""
    if not headers:
        return None
    answer = dict(headers)
    for name, value in headers.items():
        methods = [m.strip() for m in value.split(",")]
        if name.lower() == "allow" and "GET" in methods and "HEAD" not in methods:
            answer[name] = ", ".join([*methods, "HEAD"])
    return answer


READS = frozenset({"GET", "HEAD"})
"""Methods that write nothing, whose errors need not say so."""
READING_POSTS = frozenset({"/v1/coverage/lookup"})
"""POSTs that only read (a body too long for a query): their refusals write nothing to speak of."""


def _reads_only(request: Request) -> bool:
    return request.method in READS or request.url.path in READING_POSTS


API_PATHS = ("/v1/", "/docs", "/redoc", "/openapi", "/healthz", "/static/", "/problems/")
"""Paths whose callers are programs (or the API's own docs): their errors stay problem+json."""


def _for_a_browser(request: Request) -> bool:
    """Whether an error is met on a web page (answered as a page), not by an API client."""
    path = request.url.path
    return path != "/v1" and not path.startswith(API_PATHS)


def _detail_of(response: JSONResponse) -> str:
    """The `detail` of a problem response already built."""
    body = json.loads(bytes(response.body))
    return str(body.get("detail", ""))


def unexpected_problem(exc: Exception, *, request: Request) -> JSONResponse:
    """The 500 problem of an error nobody planned for, logged with its traceback."""
    log.error("unexpected error on %s %s", request.method, logged_path(request.url.path), exc_info=exc)
    return problem(500, "internal-error", "Internal error", "the error was logged; nothing was committed")
