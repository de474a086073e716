"""The web session: a signed, HttpOnly, SameSite=Strict cookie holding the API key's sha256 (never
the key), checked against the keys table on every page, so revoking a key ends its sessions."""

import secrets

from itsdangerous import BadSignature, URLSafeTimedSerializer

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
