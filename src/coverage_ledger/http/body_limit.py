"""A ceiling on request bodies other than file uploads.

FastAPI reads a JSON body whole before validating it: without a ceiling one request of a few
hundred megabytes holds them all in memory (and several at once exhaust it). The upload routes
stream their files to disk under their own limit (`LEDGER_UPLOAD_MAX_BYTES`) and pass through;
which route, not the client's Content-Type, decides that.
"""

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from coverage_ledger.http.problems import PROBLEM_JSON


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
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(send)
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
                await self._refuse(send)

        await self.app(scope, counting, answering)
        if too_large and not answered:
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps(
            {
                "type": "/problems/request-too-large",
                "title": "Request body too large",
                "status": 413,
                "detail": f"the request body is larger than {self.max_bytes:,} bytes "
                "(LEDGER_REQUEST_MAX_BYTES); send large rosters as a file to POST /v1/uploads",
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def _content_length(scope: Scope) -> int | None:
    value = _header(scope, b"content-length")
    return int(value) if value is not None and value.isdigit() else None
