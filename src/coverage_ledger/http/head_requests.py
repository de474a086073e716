"""HEAD answered as GET without the body (RFC 9110 §9.3.2: a server supports HEAD wherever it
supports GET). FastAPI routes a GET route's HEAD to a 405; monitors and `curl -I` use HEAD to ask
whether a resource is there and what it would send."""

from typing import Annotated

from fastapi import Depends, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEAD_ONLY = "coverage_ledger.head_only"
"""Scope key marking a GET that answers a HEAD: its body will not be sent."""


def _head_only(request: Request) -> bool:
    return bool(request.scope.get(HEAD_ONLY))


HeadOnly = Annotated[bool, Depends(_head_only)]
"""Whether the request is a HEAD, whose body nobody reads: a report then is neither made nor
logged as a download (a HEAD logged as one that "did not reach its end"; found by a probe)."""


class HeadAsGet:
    """ASGI middleware running a HEAD request as its GET and sending only the status and headers
    (Content-Length included: the size the GET's body would have)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if not message.get("more_body", False):
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            await send(message)

        await self.app({**scope, "method": "GET", HEAD_ONLY: True}, receive, headers_only)
