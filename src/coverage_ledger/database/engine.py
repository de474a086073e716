"""Engines and sessions. Every connection speaks Asia/Jakarta and READ COMMITTED."""

import functools
import logging
import os
from typing import Any
from urllib.parse import quote, urlencode

import orjson
import psycopg
from psycopg.types.json import set_json_loads
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from coverage_ledger import __version__

SESSION_OPTIONS = (
    "-c timezone=Asia/Jakarta -c default_transaction_isolation=read\\ committed -c random_page_cost=1.1 "
    "-c plan_cache_mode=force_generic_plan -c work_mem=32MB"
)
"""Dates are Asia/Jakarta calendar dates: the session zone makes `::date` casts name it. Writers
use READ COMMITTED and re-read under the append lock. random_page_cost 1.1 (SSD, data in memory):
with the default 4 the planner hashed the whole projection instead of probing 1,000 keys.
Generic plans for prepared statements (psycopg prepares a statement on its 5th use): the ledger's
statements look rows up by key arrays, where a custom plan per call only added 0.4 ms of planning.
work_mem 32 MB: the 10,000-NIK batch lookup sorts some 30,000 events, which spilled to disk at 4 MB."""


set_json_loads(orjson.loads)
"""jsonb comes back through orjson, several times faster than the standard library: a batch lookup
of 10,000 NIKs decodes some 27,000 event payloads."""


SCHEMA_REVISION = "0026"
"""The Alembic head this code is written for (a test holds it to the migrations' head)."""
APPLICATION_NAME = f"coverage-ledger {__version__} schema {SCHEMA_REVISION}"
"""How the service's sessions name themselves in pg_stat_activity, and to an upgrade that finds
them connected: by the schema too, as several migrations were added under one version number."""


def sync_url(url: str) -> str:
    """The URL with the psycopg (v3) driver, whatever scheme the user wrote."""
    parsed = make_url(url)
    if parsed.drivername in {"postgres", "postgresql", "postgresql+psycopg2"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """The database URL as libpq (psycopg itself) reads it: no SQLAlchemy driver name, and every
    part percent-encoded (SQLAlchemy renders a password's spaces as they are, which libpq refuses;
    found by a backup probe)."""
    parsed = make_url(sync_url(url))
    credentials = ""
    if parsed.username is not None:
        credentials = quote(parsed.username, safe="")
        if parsed.password is not None:
            credentials += ":" + quote(str(parsed.password), safe="")
        credentials += "@"
    host = parsed.host or ""
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    port = f":{parsed.port}" if parsed.port is not None else ""
    query = urlencode(dict(parsed.query), doseq=True, quote_via=quote)
    return f"postgresql://{credentials}{host}{port}/{quote(parsed.database or '', safe='')}" + (
        f"?{query}" if query else ""
    )


NETWORK_DEFAULTS = {
    # a server that takes the connection but does not answer: an error (503) after 10 s, not a wait
    "connect_timeout": "10",
    # a server gone from the network mid-request: its connection fails once 30 s of data stay
    # unacknowledged, or three keepalive probes go unanswered on an idle one, where the kernel's
    # own retransmissions would keep the request waiting for some fifteen minutes
    "tcp_user_timeout": "30000",
    "keepalives": "1",
    "keepalives_idle": "30",
    "keepalives_interval": "10",
    "keepalives_count": "3",
}
"""libpq's connection parameters the service sets unless DATABASE_URL gives its own (as
`?connect_timeout=5`). None bounds a query the server is still working on: a report may stream
for minutes. The TCP ones do nothing on the embedded cluster's Unix socket."""


ENVIRONMENT_NAMES = {"connect_timeout": "PGCONNECT_TIMEOUT"}
"""libpq's environment variables for NETWORK_DEFAULTS (the others have none)."""


def network_arguments(url: str) -> dict[str, Any]:
    """NETWORK_DEFAULTS less the parameters the URL sets itself or libpq's environment does; none
    for a `service` (named by the URL or PGSERVICE: its file says what it wants)."""
    given = make_url(url).query
    if "service" in given or os.environ.get("PGSERVICE"):
        return {}
    return {
        name: value
        for name, value in NETWORK_DEFAULTS.items()
        if name not in given and not os.environ.get(ENVIRONMENT_NAMES.get(name, ""))
    }


WRITER_ROLE = "ledger_writer"
"""The role the service acts as (migration 0011): it may append to the log, never change it."""

log = logging.getLogger(__name__)


@functools.cache
def service_options(url: str) -> str:
    """SESSION_OPTIONS, and the writer role when this database grants it and the user may take
    it: the connecting user usually owns the tables (or is a superuser) and could switch the
    log's guard triggers off. Asked once per process and URL; `migrate_schema` asks again."""
    with psycopg.connect(libpq_url(url), autocommit=True, **network_arguments(url)) as conn:
        row = conn.execute(
            "SELECT current_user, to_regclass('ledger_event') IS NOT NULL, "
            "       (SELECT pg_has_role(current_user, oid, 'SET') "
            "               AND has_table_privilege(oid, 'ledger_event', 'INSERT') "
            "        FROM pg_roles WHERE rolname = %s AND to_regclass('ledger_event') IS NOT NULL)",
            (WRITER_ROLE,),
        ).fetchone()
    assert row is not None
    user, migrated, may_write = row
    if may_write:
        return f"{SESSION_OPTIONS} -c role={WRITER_ROLE}"
    if migrated:  # (before the first migration there is nothing to guard yet)
        log.warning(
            "the service acts as the database user %s itself, which owns the log and could switch its "
            "guard off: role %s is missing or has no rights here, or %s may not take it (create the "
            "role, GRANT %s TO %s WITH SET TRUE, then run `coverage-ledger db upgrade`, which grants "
            "it its rights; see README)",
            user,
            WRITER_ROLE,
            user,
            WRITER_ROLE,
            user,
        )
    return SESSION_OPTIONS


def create_sync_engine(url: str) -> Engine:
    """A synchronous engine (migrations, CLI maintenance)."""
    return create_engine(
        sync_url(url),
        connect_args={
            "options": SESSION_OPTIONS,
            "application_name": APPLICATION_NAME,
            **network_arguments(url),
        },
    )


CONNECTION_WAIT_SECONDS = 10.0
"""How long a request waits for a pooled connection (the database down, or every connection
busy) before it answers 503 instead of holding its client."""


def create_engine_for(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """The service's async engine."""
    return create_async_engine(
        sync_url(url),
        pool_size=pool_size,
        # no overflow: connections beyond the pool were opened and closed per request under load
        # (a new PostgreSQL backend each time); waiting for a pooled one is far cheaper
        max_overflow=0,
        # a request waits as long for a pooled connection as a lean read does, then answers 503
        # (`http/problems.py`): SQLAlchemy's default of 30 s held the client three times longer
        pool_timeout=CONNECTION_WAIT_SECONDS,
        pool_pre_ping=False,
        # every session ends its transaction itself (the request commits or rolls back), so the
        # pool's extra ROLLBACK on each return would only cost a round trip per request
        pool_reset_on_return=None,
        connect_args={
            "options": service_options(url),
            "application_name": APPLICATION_NAME,
            **network_arguments(url),
        },
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that never expire loaded objects on commit (responses are built after it)."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def database_answers(session: AsyncSession) -> None:
    """Run the cheapest statement there is: the health check's proof that the database answers."""
    await session.execute(text("SELECT 1"))
