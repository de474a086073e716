"""One log line per HTTP request: method, path and query, status and duration.

It replaces uvicorn's access log (`coverage-ledger serve` turns that one off) because it says
how long the request took, and because uvicorn's formatter, with its colour handling and address
formatting, cost a tenth of a coverage lookup's CPU (docs/benchmarks.md). NIKs in paths are
masked like every other log record (`logs.py`).
"""

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

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

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            query = scope["query_string"]
            target = f"{scope['path']}?{query.decode('latin-1')}" if query else scope["path"]
            log.info(
                "%s %s %d %.1f ms", scope["method"], target, status, (time.perf_counter() - started) * 1000
            )
