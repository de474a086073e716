"""Headers every response carries: answers hold NIKs, claims and amounts, so no cache keeps them
(`Cache-Control: no-store`, except the static files), browsers do not guess content types, and
pages are not framed by another site nor run anything but their own files."""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_ALWAYS = [(b"x-content-type-options", b"nosniff")]
_PRIVATE = [(b"cache-control", b"no-store")]
_HTML = [(b"x-frame-options", b"DENY"), (b"referrer-policy", b"same-origin")]
_PAGES = [
    *_HTML,
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
    ),
]
_DOCS = [
    *_HTML,
    # FastAPI's /docs and /redoc load Swagger UI and ReDoc from their CDN and start them with an
    # inline script; these pages show the API's description only, never ledger data
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
        b"style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
        b"font-src https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com "
        b"https://cdn.redoc.ly; worker-src blob:; frame-ancestors 'none'",
    ),
]
DOCS_PATHS = ("/docs", "/redoc")


class SecurityHeaders:
    """ASGI middleware adding the headers above when a response starts."""

    def __init__(self, app: ASGIApp, *, static_prefix: str = "/static/") -> None:
        self.app = app
        self.static_prefix = static_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        private = not scope["path"].startswith(self.static_prefix)

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                added = list(_ALWAYS)
                if private and b"cache-control" not in names:
                    added += _PRIVATE
                if any(
                    name.lower() == b"content-type" and value.startswith(b"text/html")
                    for name, value in headers
                ):
                    added += _DOCS if scope["path"].startswith(DOCS_PATHS) else _PAGES
                message = {**message, "headers": headers + added}
            await send(message)

        await self.app(scope, receive, sending)
