"""The read pool: plain psycopg connections for the reads the service answers without a session.

A single-person coverage lookup is three small statements; around them, SQLAlchemy's session
lifecycle cost more CPU than the statements (see docs/benchmarks.md, "Coverage lookups"). The
reads served by `http/lean_reads.py` therefore take a connection from this pool instead, with
the same session settings as the engine's. Each read is one transaction: the connection's
context commits it when the read ends, before the response is built.
"""

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from coverage_ledger.database.engine import (
    APPLICATION_NAME,
    CONNECTION_WAIT_SECONDS,
    libpq_url,
    network_arguments,
    service_options,
)
from coverage_ledger.database.raw import Db

ReadConnection = Callable[[], AbstractAsyncContextManager[Db]]
"""Opens the transaction of one lean read: a pooled psycopg connection in the service, the test's
session in tests (anything `database.raw` can run statements on)."""


class ReadPool:
    """A psycopg pool of read connections, opened with the app and closed with it."""

    def __init__(self, url: str, *, size: int) -> None:
        self._pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]] = AsyncConnectionPool(
            libpq_url(url),
            min_size=min(2, size),
            max_size=size,
            kwargs={
                "options": service_options(url),
                "application_name": APPLICATION_NAME,
                **network_arguments(url),
            },
            open=False,
            name="reads",
            # a read waits this long for a connection (the database down or every connection
            # busy), then answers 503 (`http/problems.py`) instead of holding the client
            timeout=CONNECTION_WAIT_SECONDS,
        )

    async def open(self) -> None:
        """Connect the pool's first connections."""
        await self._pool.open()

    async def close(self) -> None:
        """Close every connection."""
        await self._pool.close()

    def connection(self) -> AbstractAsyncContextManager[psycopg.AsyncConnection[Any]]:
        """One read's transaction: committed at the end, rolled back on an error."""
        return self._pool.connection()
