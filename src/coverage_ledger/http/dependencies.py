"""Request-scoped dependencies: the transaction the request owns, the clock, the caller."""

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from datetime import date, datetime
from typing import Annotated

from fastapi import Depends, Query, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.auth.service import authenticate, required_secret
from coverage_ledger.domain.access import Principal
from coverage_ledger.domain.region_codes import REGION_CODE_PATTERN
from coverage_ledger.domain.timeframes import LAST_TX_SEQ, jakarta_date
from coverage_ledger.http.access_log import note_caller

LARGEST_STORED_NUMBER = LAST_TX_SEQ
"""PostgreSQL's largest bigint, which tx numbers and the access log's ids alike are: a query asking
for a larger one is refused as out of range (found by a probe: it reached the database and was
called unstorable)."""

_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <API key>`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="The API key")


async def request_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's transaction: committed when the endpoint returns, before the response is built."""
    async with request.app.state.sessionmaker() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()


Session = Annotated[AsyncSession, Depends(request_session, scope="function")]


async def hand_back_connection(session: AsyncSession) -> None:
    """End the request's transaction so far (the caller's lookup), handing its connection back to
    the pool before the request waits on its client: ten uploads whose bodies arrived slowly held
    every pooled connection idle in transaction, and the health check and the API answered 503
    (found by a soak probe). The session opens a new transaction when it is used again."""
    await session.commit()


SessionOpener = Callable[[], AbstractAsyncContextManager[AsyncSession]]


async def session_opener(request: Request) -> SessionOpener:
    """Opens sessions for work that outlives the request's transaction (a streamed report reads
    in its own, after the request's has committed)."""
    opener: SessionOpener = request.app.state.sessionmaker
    return opener


Opener = Annotated[SessionOpener, Depends(session_opener)]


async def clock(request: Request) -> datetime:
    """Now, from the app's clock (tests may replace it); the domain never reads a clock itself.

    Dependencies are `async def` even when they do not await: FastAPI runs plain `def` ones in
    its thread pool, a hand-off that cost more than the rest of a lookup."""
    now: datetime = request.app.state.clock()
    return now


Now = Annotated[datetime, Depends(clock)]


async def today_in_jakarta(now: Now) -> date:
    """Today's Asia/Jakarta date, the default `valid_at`."""
    return jakarta_date(now)


async def current_principal(
    request: Request,
    session: Session,
    now: Now,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
    api_key: Annotated[str | None, Security(_header)] = None,
) -> Principal:
    """The caller; 401 without a valid key."""
    secret = bearer.credentials if bearer is not None else api_key
    principal = await authenticate(session, secret=secret, now=now)
    note_caller(request, principal)
    return principal


def presented_secret(headers: Mapping[str, str]) -> str | None:
    """The key a request's headers present, read as `current_principal`'s security schemes read
    it: a `Bearer` authorization first, else `X-API-Key` (for handlers outside FastAPI's resolution)."""
    authorization = headers.get("authorization")
    scheme, credentials = get_authorization_scheme_param(authorization)
    if authorization and credentials and scheme.lower() == "bearer":
        return credentials
    return headers.get("x-api-key")


Caller = Annotated[Principal, Depends(current_principal)]


RegionQuery = Annotated[
    str | None,
    Query(
        pattern=REGION_CODE_PATTERN,
        description="Kemendagri code; default: the key's region (national keys: the whole country).",
    ),
]
"""The optional `region` of lists and reports."""


async def check_key(request: Request) -> None:
    """Raise the 401 of a missing, unknown, revoked or expired key (outside dependency resolution)."""
    secret = required_secret(secret=presented_secret(request.headers))
    async with request.app.state.sessionmaker() as session:
        await authenticate(session, secret=secret, now=request.app.state.clock())
