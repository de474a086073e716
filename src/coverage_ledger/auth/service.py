"""Keys: a secret shown once, only its sha256 stored; role, region and organisation scope."""

import logging
import re
import secrets
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.auth import repository
from coverage_ledger.auth.repository import KeyRecord
from coverage_ledger.canonical import sha256_hex
from coverage_ledger.database import raw
from coverage_ledger.domain.access import Principal, Role
from coverage_ledger.domain.names import hidden_character
from coverage_ledger.errors import Conflict, ErrorItem, InvalidInput, NotFound, Unauthenticated
from coverage_ledger.ledger import projections_repository

log = logging.getLogger(__name__)

SECRET_PREFIX = "clk_"  # noqa: S105 -- a public prefix that marks secrets in logs, not a secret


def secret_hash(*, secret: str) -> str:
    """sha256 hex of a presented secret."""
    return sha256_hex(secret)


KEY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
"""What a key may be called: it is written into tx headers (`key:<name>`) and typed to revoke it."""
ORGANISATION = re.compile(r"(?=.{1,200}\Z)[^\s\x00-\x1f\x7f](?:[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f])?")
"""A committee's or sponsor's name: 1-200 characters, no control characters, no surrounding spaces."""


async def create_key(
    session: AsyncSession,
    *,
    role: Role,
    name: str,
    region_prefix: str | None = None,
    organisation: str | None = None,
    expires_at: datetime | None = None,
) -> tuple[KeyRecord, str]:
    """Create a key; returns it with the secret, which is not stored and cannot be shown again."""
    if not KEY_NAME.fullmatch(name):
        raise InvalidInput(
            f"key name {name[:40]!r} is not 1-64 letters, digits and . _ @ - "
            "(starting with a letter or digit)",
            [ErrorItem("invalid_key_name", "names appear in tx headers and in `keys revoke`", field="name")],
        )
    if organisation is not None and role not in {Role.COMMITTEE, Role.SPONSOR}:
        raise InvalidInput(
            f"{'an' if role in {Role.ADMIN, Role.AUDITOR} else 'a'} {role} key has no organisation; "
            "--org is for committee and sponsor keys",
            [ErrorItem("organisation_not_allowed", "only committee and sponsor keys name one", field="org")],
        )
    if role in {Role.COMMITTEE, Role.SPONSOR} and not organisation:
        raise InvalidInput(
            f"a {role} key needs its organisation (--org)",
            [
                ErrorItem(
                    "organisation_required",
                    "committee and sponsor keys name their organisation",
                    field="org",
                )
            ],
        )
    if organisation is not None and (
        not ORGANISATION.fullmatch(organisation) or hidden_character(organisation) is not None
    ):
        # the name goes into every event the key's uploads write (a committee, a payer), where
        # the API takes 1-200 characters without surrounding spaces
        raise InvalidInput(
            f"organisation {organisation[:40]!r} is not 1-200 visible characters without surrounding spaces",
            [ErrorItem("invalid_organisation", "the name events of this key's uploads carry", field="org")],
        )
    if region_prefix is not None and role in {Role.ADMIN, Role.AUDITOR}:
        # the export, the chain's proofs, the uploads and the access log are the whole ledger's:
        # a prefix would confine some reads and not others
        raise InvalidInput(
            f"an {role} key is national; --region is for regional_office, committee and sponsor keys",
            [ErrorItem("region_not_allowed", "admin and auditor keys read the whole ledger", field="region")],
        )
    if region_prefix is not None and not await projections_repository.region_codes_in_force(
        session, [region_prefix]
    ):
        raise InvalidInput(
            f"region {region_prefix} is not in the Kemendagri list",
            [ErrorItem("unknown_region", "unknown region code", field="region")],
        )
    if await repository.name_taken(session, name):
        raise Conflict(f"a key named {name!r} already exists")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    record = await repository.insert_key(
        session,
        name=name,
        secret_sha256=secret_hash(secret=secret),
        role=role.value,
        region_prefix=region_prefix,
        organisation=organisation,
        expires_at=expires_at,
    )
    # who may do what from now on, for whoever reads the log later (never the secret)
    log.info(
        "key %s created: role %s, region %s, organisation %s, expires %s",
        name,
        role.value,
        region_prefix or "national",
        organisation or "-",
        expires_at.isoformat() if expires_at else "never",
    )
    return record, secret


async def list_keys(session: AsyncSession) -> list[KeyRecord]:
    """Every key, revoked ones included."""
    return await repository.list_keys(session)


async def revoke_key(session: AsyncSession, *, name: str) -> None:
    """Revoke a key by name."""
    if not await repository.revoke(session, name):
        raise NotFound(f"no valid key named {name!r}")
    log.info("key %s revoked", name)


async def principal_named(session: AsyncSession, *, name: str, now: datetime) -> Principal:
    """The principal of a key known by its name, for an operator acting as it from the CLI."""
    # 404 when there is none, 401 when it is revoked or expired.
    record = await repository.find_by_name(session, name)
    if record is None:
        raise NotFound(f"no key named {name!r}")
    return principal_of(record=record, now=now)


async def authenticate(session: raw.Db, *, secret: str | None, now: datetime) -> Principal:
    """The principal of a presented secret; 401 when missing, unknown, revoked or expired."""
    return await authenticate_hash(
        session, secret_sha256=secret_hash(secret=required_secret(secret=secret)), now=now
    )


def required_secret(*, secret: str | None) -> str:
    """The secret presented; 401 without one (decided before any database work)."""
    if not secret:
        raise Unauthenticated("send the API key as `Authorization: Bearer <key>` or `X-API-Key`")
    return secret


async def authenticate_hash(session: raw.Db, *, secret_sha256: str, now: datetime) -> Principal:
    """The principal of a key known by its secret's sha256; 401 when unknown, revoked or expired."""
    return principal_of(record=await repository.find_by_secret(session, secret_sha256), now=now)


async def refuse_if_key_gone(session: AsyncSession, *, key_name: str | None, now: datetime) -> None:
    """401 when the named key was revoked, or expired by `now`, since its request was authenticated."""
    # Writers run it under the append lock, just before their tx commits: a request that waited there for a
    # large upload was otherwise written seconds after its key was revoked (found by a probe). None (the
    # service itself) passes, and so does a name no stored key has (keys are revoked, never deleted: only a
    # test's made-up principal).
    if key_name is None or key_name == "system":
        return
    record = await repository.find_by_name(session, key_name)
    if record is not None:
        principal_of(record=record, now=now)


def principal_of(*, record: KeyRecord | None, now: datetime) -> Principal:
    """The principal of a stored key; 401 when there is none or it is revoked or expired."""
    if record is None or record.revoked_at is not None:
        raise Unauthenticated("the API key is unknown or revoked")
    if record.expires_at is not None and record.expires_at <= now:
        raise Unauthenticated("the API key has expired")
    if record.region_prefix is not None and record.role in {Role.ADMIN, Role.AUDITOR}:
        # made before such keys were refused: its prefix confined some reads and not others, and
        # ignoring it would widen the key; it must be made again, national
        raise Unauthenticated(
            "an admin or auditor key with a region is no longer accepted; create a national one"
        )
    return Principal(
        key_name=record.name,
        role=Role(record.role),
        region_prefix=record.region_prefix,
        organisation=record.organisation,
    )
