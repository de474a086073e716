"""Lean reads: the hottest GET answered without FastAPI's per-request machinery.

A coverage lookup is three small statements; around them, FastAPI's dependency resolution,
response validation and the SQLAlchemy session cost more CPU than the statements: the route
served some 500 lookups a second where this path serves some 1,400 on the same million persons
(docs/benchmarks.md). This middleware answers the routes given to it with plain handlers on a
read connection (`database/reads.py`). The FastAPI route of the same path stays the documented
contract and the answer when the lean reads are switched off (`LEDGER_LEAN_READS=false`); the
tests run both and compare them. Anything the pattern does not match (another method, a
malformed NIK) goes on to FastAPI unchanged, so its validation errors stay the same.

It sits inside FastAPI's `ServerErrorMiddleware`, which turns an unexpected exception into the
500 problem; the errors the service expects are mapped here by the same function the exception
handlers use.
"""

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from coverage_ledger.http.problems import known_problem

LeanHandler = Callable[[Request, re.Match[str]], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class LeanRoute:
    """A GET path (a regular expression matched against the whole path) and its handler."""

    pattern: re.Pattern[str]
    handler: LeanHandler


class LeanReads:
    """ASGI middleware serving `routes` when `app.state.lean_reads` is on; the rest goes to `app`."""

    def __init__(self, app: ASGIApp, routes: Sequence[LeanRoute]) -> None:
        self.app = app
        self.routes = tuple(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["app"].state.lean_reads:
            path = scope["path"]
            for route in self.routes:
                match = route.pattern.fullmatch(path)
                if match is not None:
                    response = await _answer(route, Request(scope, receive), match)
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)


async def _answer(route: LeanRoute, request: Request, match: re.Match[str]) -> Response:
    try:
        return await route.handler(request, match)
    except Exception as exc:
        problem = known_problem(exc, method=request.method, path=request.url.path)
        if problem is None:
            raise  # ServerErrorMiddleware logs it and answers the 500 problem
        return problem
