"""Web sessions: a browser signs in with an API key and gets a random token for its cookie; the
server keeps only the token's sha256, so signing out (or revoking the key) ends every copy."""

import secrets
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.auth import repository
from coverage_ledger.auth.service import principal_of, secret_hash
from coverage_ledger.database import raw
from coverage_ledger.domain.access import Principal
from coverage_ledger.errors import Unauthenticated

SESSION_LIFETIME = timedelta(hours=8)
"""A working day: after it, sign in again."""


async def start_web_session(session: AsyncSession, *, secret: str, now: datetime) -> tuple[Principal, str]:
    """Sign in with an API key: its principal and the new session's token (401 for a bad key)."""
    record = await repository.find_by_secret(session, secret_hash(secret=secret))
    principal = principal_of(record=record, now=now)
    assert record is not None  # principal_of refuses a missing key
    token = secrets.token_urlsafe(32)
    await repository.insert_web_session(
        session,
        token_sha256=secret_hash(secret=token),
        key_id=record.id,
        started_at=now,
        expires_at=now + SESSION_LIFETIME,
    )
    return principal, token


async def web_session_principal(session: raw.Db, *, token: str | None, now: datetime) -> Principal | None:
    """The principal of a session token; None when missing, unknown, ended, expired, or its key
    is revoked or expired."""
    if not token:
        return None
    record = await repository.find_by_web_session(session, token_sha256=secret_hash(secret=token), now=now)
    try:
        return principal_of(record=record, now=now)
    except Unauthenticated:
        return None


async def end_web_session(session: AsyncSession, *, token: str | None) -> None:
    """Sign out: the token is refused from now on, whoever presents it."""
    if token:
        await repository.delete_web_session(session, token_sha256=secret_hash(secret=token))
