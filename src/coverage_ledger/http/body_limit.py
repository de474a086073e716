"""A ceiling on request bodies other than file uploads.

FastAPI reads a JSON body whole before validating it: without a ceiling one request of a few
hundred megabytes holds them all in memory (and several at once exhaust it). The upload routes
stream their files to disk under their own limit (`LEDGER_UPLOAD_MAX_BYTES`) and pass through;
which route, not the client's Content-Type, decides that.
"""

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from coverage_ledger.http.problems import problem


class BodyLimit:
    """ASGI middleware answering 413 problem+json to a body over `max_bytes`, except the POSTs to
    `streamed_paths` (the routes that stream a file to disk under their own limit)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, streamed_paths: frozenset[str]) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.streamed_paths = streamed_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (scope["method"] == "POST" and scope["path"] in self.streamed_paths):
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0
        too_large = False
        answered = False

        async def counting() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    too_large = True
                    # the app stops reading: it sees the client gone and answers whatever it
                    # answers to that, which `answering` replaces with the 413
                    return {"type": "http.disconnect"}
            return message

        async def answering(message: Message) -> None:
            nonlocal answered
            if not too_large:
                await send(message)
            elif not answered:
                answered = True
                await self._refuse(scope, receive, send)

        await self.app(scope, counting, answering)
        if too_large and not answered:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(
            413,
            "request-too-large",
            "Request body too large",
            f"the request body is larger than {self.max_bytes:,} bytes (LEDGER_REQUEST_MAX_BYTES); "
            "send large rosters as a file to POST /v1/uploads",
        )
        response.headers["connection"] = "close"  # the rest of the body is not read
        await response(scope, receive, send)
