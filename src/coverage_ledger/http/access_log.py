"""One log line per HTTP request: method, path and query, status, caller and duration.

It replaces uvicorn's access log (`coverage-ledger serve` turns that one off) because it says how
long the request took. NIKs in paths and queries are masked like every other log record
(`logs.py`).
"""

import logging
import time
import unicodedata
from urllib.parse import quote, unquote

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from coverage_ledger.domain.access import Principal

log = logging.getLogger("coverage_ledger.access")


class AccessLog:
    """ASGI middleware writing the access line of each HTTP request when its response ends."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app fails before starting a response
        begun = ended = False

        async def sending(message: Message) -> None:
            nonlocal status, begun, ended
            if message["type"] == "http.response.start":
                status, begun = message["status"], True
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                ended = True
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            log.info(
                "%s %s %d%s by %s %.1f ms",
                scope["method"],
                _target(scope),
                status,
                # a streamed body cut off (the database lost mid-report) went out under a 200
                # already sent: the line says so, as the client may not notice (a fault probe)
                " cut off" if begun and not ended else "",
                scope.get("state", {}).get(CALLER, "-"),
                (time.perf_counter() - started) * 1000,
            )


CALLER = "caller"
"""Where a request's state keeps who made it, for its access line."""


def note_caller(request: Request, principal: Principal) -> None:
    """Name the authenticated caller (`key:<name>`) in the request's access line."""
    setattr(request.state, CALLER, principal.actor)


def logged_path(path: str) -> str:
    """A decoded request path as a log shows it: percent-encoded again, so a `%0A` cannot start a
    forged line, a `%00` put a NUL in the log, or a `%31…` carry a NIK past the masking; in NFKC
    form, so a NIK typed in full-width digits (`１６７１…`) is masked like one in ASCII."""
    return quote(unicodedata.normalize("NFKC", path), safe=_SAFE)


def _target(scope: Scope) -> str:
    """Path and query as one line (`logged_path`)."""
    target = logged_path(scope["path"])
    query: bytes = scope["query_string"]
    if query:
        decoded = unquote(query.decode("latin-1"))
        target += "?" + quote(unicodedata.normalize("NFKC", decoded), safe=_SAFE + "=&")
    return target


_SAFE = "/:@!$'()*+,;-._~"
