"""Telling the database's own trouble (its connection lost, its disk full, it restarting) from a
statement's: the first is no fault of the input, and the work may be done again once it answers."""

import psycopg
import sqlalchemy.exc

_GIVING_WAY = (
    psycopg.errors.SerializationFailure,
    psycopg.errors.DeadlockDetected,
    psycopg.errors.LockNotAvailable,
)
"""Operational errors that ask for a retry of one transaction: the database itself is well."""


def outage_reason(exc: BaseException) -> str | None:
    """The server's or driver's words when `exc` says the database is out of reach or out of
    resources (a lost connection, a full disk, a shutdown); None for any other error."""
    cause = exc.orig if isinstance(exc, sqlalchemy.exc.DBAPIError) else exc
    if not isinstance(cause, psycopg.OperationalError) or isinstance(cause, _GIVING_WAY):
        return None
    said = str(cause).strip().splitlines()
    return said[0] if said else type(cause).__name__
