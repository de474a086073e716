"""The web session's cookie: HttpOnly, SameSite=Strict, holding a random token that the server
knows only by its sha256 (auth/web_sessions.py); and the check that a form came from this site."""

from urllib.parse import urlsplit

from fastapi import Request

from coverage_ledger.auth.web_sessions import SESSION_LIFETIME
from coverage_ledger.errors import ErrorItem, Forbidden

COOKIE = "ledger_session"
LANGUAGE_COOKIE = "ledger_lang"
MAX_AGE_SECONDS = int(SESSION_LIFETIME.total_seconds())


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
