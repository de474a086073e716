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
