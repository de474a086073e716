"""The web session: a signed, HttpOnly, SameSite=Strict cookie holding the API key's sha256 (never
the key), checked against the keys table on every page, so revoking a key ends its sessions."""

import secrets
from urllib.parse import urlsplit

from fastapi import Request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from coverage_ledger.errors import ErrorItem, Forbidden

COOKIE = "ledger_session"
LANGUAGE_COOKIE = "ledger_lang"
MAX_AGE_SECONDS = 8 * 3600
"""A working day: after it, sign in again."""


class SessionSigner:
    """Signs and reads session cookies with one secret."""

    def __init__(self, secret: str | None) -> None:
        self._serializer = URLSafeTimedSerializer(secret or secrets.token_urlsafe(32), salt="ledger-session")

    def cookie_for(self, secret_sha256: str) -> str:
        """The cookie value of a signed-in key."""
        return self._serializer.dumps({"key": secret_sha256})

    def key_of(self, cookie: str | None) -> str | None:
        """The key's sha256 from a cookie, or None when missing, forged or older than MAX_AGE_SECONDS."""
        if not cookie:
            return None
        try:
            data = self._serializer.loads(cookie, max_age=MAX_AGE_SECONDS)
        except BadSignature:
            return None
        value = data.get("key") if isinstance(data, dict) else None
        return value if isinstance(value, str) else None


def same_site_form(request: Request) -> None:
    """403 for a form posted from another site: the session cookie is SameSite=Strict, but the
    sign-in form sets it, so a foreign page could otherwise sign a visitor in with its own key
    (their next roster upload would then go out under it). Browsers say where a form was posted
    from (`Sec-Fetch-Site`, or else its `Origin`); a client that says nothing is not a browser
    form and passes."""
    fetch_site = request.headers.get("sec-fetch-site")  # set by every current browser
    if fetch_site is not None:
        # the browser's own verdict, whatever Host a proxy passes on
        allowed = fetch_site in {"same-origin", "none"}
    else:
        source = request.headers.get("origin") or request.headers.get("referer")
        # the host alone: behind a proxy that ends TLS the service sees http, the browser https
        allowed = source is None or urlsplit(source).netloc == request.url.netloc
    if not allowed:
        raise Forbidden(
            "the form was posted from another site", [ErrorItem("cross_site_form", "post it from this site")]
        )
