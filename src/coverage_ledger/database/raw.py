"""Statements on the psycopg connection under a SQLAlchemy session's transaction.

Repositories run their SQL here rather than through `session.execute(text(...))`: on the append
path SQLAlchemy's per-statement machinery cost more CPU than the statements themselves (see
docs/benchmarks.md). The transaction is still the session's, owned by the request.
"""

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg import pq
from psycopg.rows import namedtuple_row
from sqlalchemy.ext.asyncio import AsyncSession

Db = AsyncSession | psycopg.AsyncConnection[Any]
"""Where a repository's statements run: a request's session (its transaction), or a connection
of the read pool (`database/reads.py`) for the reads served without a session."""


async def driver_connection(session: Db) -> psycopg.AsyncConnection[Any]:
    """The psycopg connection under the session's (begun) transaction, or the read connection given.

    Remembered for the rest of the innermost transaction: asking SQLAlchemy again costs more than
    most of the statements run on it. A new savepoint asks again, because SQLAlchemy emits the
    SAVEPOINT only when the session's connection is next requested.
    """
    if isinstance(session, psycopg.AsyncConnection):
        return session
    transaction = session.get_nested_transaction() or session.get_transaction()
    if transaction is not None and session.info.get("driver_for") is transaction:
        cached: psycopg.AsyncConnection[Any] = session.info["driver"]
        return cached
    connection = await session.connection()
    pooled = await connection.get_raw_connection()
    driver = pooled.driver_connection
    assert isinstance(driver, psycopg.AsyncConnection)
    session.info["driver_for"] = session.get_nested_transaction() or session.get_transaction()
    session.info["driver"] = driver
    return driver


class Rows:
    """The rows of a statement, with the few accessors repositories use."""

    def __init__(self, rows: list[Any]) -> None:
        self._rows = rows

    def __iter__(self) -> Any:
        return iter(self._rows)

    def one(self) -> Any:
        """Exactly one row."""
        if len(self._rows) != 1:
            raise LookupError(f"expected one row, got {len(self._rows)}")
        return self._rows[0]

    def one_or_none(self) -> Any:
        """The row, or None."""
        return self._rows[0] if self._rows else None


async def execute(
    session: Db, query: str, params: Mapping[str, Any] | None = None, *, prepare: bool | None = None
) -> Rows:
    """Run a statement and keep its rows (none for statements without a result).

    `prepare`: None lets psycopg prepare a statement from its 5th use (a generic plan, see
    engine.py); False plans each call for its actual arguments, which a statement that may get
    thousands of keys needs (its generic plan, made for a few keys, was 4x slower there).
    """
    conn = await driver_connection(session)
    # no `async with`: closing a client-side cursor frees nothing the garbage collector would not
    cursor = conn.cursor(row_factory=namedtuple_row)
    # binary results. Parameters are binary only where the statement writes `%(name)b`: psycopg
    # sends a `%(name)s` list as quoted text, built in Python element by element (5x the CPU of
    # the binary form), so the append path's arrays of thousands of keys use `%(name)b::text[]`
    async with _planned_for_its_arguments(conn, prepare):
        await cursor.execute(query.encode(), params, binary=True, prepare=prepare)
    # the result's status, not `cursor.description`, which builds a Column per column per call
    returned_rows = cursor.pgresult is not None and cursor.pgresult.status == pq.ExecStatus.TUPLES_OK
    return Rows(await cursor.fetchall() if returned_rows else [])


async def scalar(session: Db, query: str, params: Mapping[str, Any] | None = None) -> Any:
    """The first column of the first row, or None."""
    row = (await execute(session, query, params)).one_or_none()
    return row[0] if row is not None else None


async def execute_count(
    session: AsyncSession, query: str, params: Mapping[str, Any] | None = None, *, prepare: bool | None = None
) -> int:
    """Run a data-changing statement; the number of rows it changed (nothing is fetched)."""
    conn = await driver_connection(session)
    async with conn.cursor() as cursor, _planned_for_its_arguments(conn, prepare):
        await cursor.execute(query.encode(), params, binary=True, prepare=prepare)
        return cursor.rowcount


@asynccontextmanager
async def _planned_for_its_arguments(
    conn: psycopg.AsyncConnection[Any], prepare: bool | None
) -> AsyncIterator[None]:
    """For `prepare=False`, a custom plan: the sessions' `plan_cache_mode=force_generic_plan`
    (engine.py) applies to unprepared statements too, so without this they were planned for an
    array of 10 keys whatever they got (a 1,000-row array estimated at 10 rows made the spans
    statement a nested loop). Set for the statement alone, then back to the session's mode; a
    statement that fails leaves its transaction to be rolled back, which undoes the setting.
    A session's first statement finds its transaction not yet begun (psycopg sends BEGIN with
    it), and the SET then begins it; only an autocommit connection outside a transaction, where
    SET LOCAL would do nothing, keeps the session's mode."""
    outside_transaction = conn.info.transaction_status != pq.TransactionStatus.INTRANS
    if prepare is not False or (conn.autocommit and outside_transaction):
        yield
        return
    await conn.execute(b"SET LOCAL plan_cache_mode = force_custom_plan")
    yield
    await conn.execute(b"RESET plan_cache_mode")


def within_region(column: str) -> str:
    """SQL: `column` is the region `%(region)s` or lies under it, or `%(region)s` is NULL (national)."""
    return f"({column} = %(region)s OR {column} LIKE %(region)s || '.%%' OR %(region)s::text IS NULL)"


def under_region(column: str) -> str:
    """SQL: `column` is the region `%(region)s` or lies under it, for a region that is given (not
    national). The codes under a region lie in one range of byte order, from the code to the code
    followed by `/` (the character after `.`), which an index on `column text_pattern_ops`
    answers even in a generic plan (`~>=~` and `~<~` compare bytes whatever the collation);
    `within_region` cannot be, for its national branch."""
    return (
        f"({column} ~>=~ %(region)s AND {column} ~<~ (%(region)s || '/')"
        f" AND ({column} = %(region)s OR {column} LIKE %(region)s || '.%%'))"
    )
