"""All SQL of API keys (an operational table, not ledger events)."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.database import raw


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """An API key without its secret."""

    id: int
    name: str
    role: str
    region_prefix: str | None
    organisation: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


_COLUMNS = "id, name, role, region_prefix, organisation, created_at, expires_at, revoked_at"
_COLUMNS_OF_K = ", ".join(f"k.{column}" for column in _COLUMNS.split(", "))


async def insert_key(
    session: AsyncSession,
    *,
    name: str,
    secret_sha256: str,
    role: str,
    region_prefix: str | None,
    organisation: str | None,
    expires_at: datetime | None,
) -> KeyRecord:
    """Store a new key."""
    row = (
        await raw.execute(
            session,
            (
                "INSERT INTO api_key (name, secret_sha256, role, region_prefix, organisation, "
                "created_at, expires_at) VALUES (%(name)s, %(secret)s, %(role)s, %(region)s, %(org)s, "
                f"clock_timestamp(), %(expires)s) RETURNING {_COLUMNS}"
            ),
            {
                "name": name,
                "secret": secret_sha256,
                "role": role,
                "region": region_prefix,
                "org": organisation,
                "expires": expires_at,
            },
        )
    ).one()
    return KeyRecord(*row)


async def name_taken(session: AsyncSession, name: str) -> bool:
    """Whether a key of that name exists."""
    return bool(await raw.scalar(session, "SELECT 1 FROM api_key WHERE name = %(n)s", {"n": name}))


async def find_by_secret(session: raw.Db, secret_sha256: str) -> KeyRecord | None:
    """The key with this secret hash, valid or not."""
    # every request runs this: straight on the driver connection (see database/raw.py)
    row = (
        await raw.execute(
            session, f"SELECT {_COLUMNS} FROM api_key WHERE secret_sha256 = %(s)s", {"s": secret_sha256}
        )
    ).one_or_none()
    return KeyRecord(*row) if row else None


async def list_keys(session: AsyncSession) -> list[KeyRecord]:
    """Every key, oldest first."""
    rows = await raw.execute(session, f"SELECT {_COLUMNS} FROM api_key ORDER BY id")
    return [KeyRecord(*row) for row in rows]


async def find_by_name(session: AsyncSession, name: str) -> KeyRecord | None:
    """The key of this name, valid or not."""
    row = (
        await raw.execute(session, f"SELECT {_COLUMNS} FROM api_key WHERE name = %(name)s", {"name": name})
    ).one_or_none()
    return KeyRecord(*row) if row else None


async def revoke(session: AsyncSession, name: str) -> bool:
    """Mark a key revoked; False when no such valid key exists."""
    result = await raw.execute(
        session,
        (
            "UPDATE api_key SET revoked_at = clock_timestamp() "
            "WHERE name = %(n)s AND revoked_at IS NULL RETURNING id"
        ),
        {"n": name},
    )
    return result.one_or_none() is not None


async def insert_web_session(
    session: AsyncSession, *, token_sha256: str, key_id: int, started_at: datetime, expires_at: datetime
) -> None:
    """Store a signed-in browser's session, and drop the sessions that have expired."""
    await raw.execute(session, "DELETE FROM web_session WHERE expires_at <= %(t)s", {"t": started_at})
    await raw.execute(
        session,
        "INSERT INTO web_session (token_sha256, key_id, started_at, expires_at) "
        "VALUES (%(token)s, %(key)s, %(start)s, %(end)s)",
        {"token": token_sha256, "key": key_id, "start": started_at, "end": expires_at},
    )


async def find_by_web_session(session: raw.Db, *, token_sha256: str, now: datetime) -> KeyRecord | None:
    """The key of an unexpired web session, valid or not; None without such a session."""
    row = (
        await raw.execute(
            session,
            f"SELECT {_COLUMNS_OF_K} FROM web_session s JOIN api_key k ON k.id = s.key_id "
            "WHERE s.token_sha256 = %(token)s AND s.expires_at > %(now)s",
            {"token": token_sha256, "now": now},
        )
    ).one_or_none()
    return KeyRecord(*row) if row else None


async def delete_web_session(session: AsyncSession, *, token_sha256: str) -> None:
    """End a web session (signing out)."""
    await raw.execute(session, "DELETE FROM web_session WHERE token_sha256 = %(t)s", {"t": token_sha256})
