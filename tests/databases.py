"""Databases the tests make on the test server: from the migrated template, or empty."""

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from coverage_ledger.database.embedded import create_database as ledger_database
from coverage_ledger.database.engine import libpq_url


def with_database(url: str, name: str) -> str:
    """The URL of database `name` on the server of `url`, for SQLAlchemy with psycopg."""
    return (
        make_url(url)
        .set(drivername="postgresql+psycopg", database=name)
        .render_as_string(hide_password=False)
    )


def create_database(server: str, name: str, template: str | None = None) -> str:
    """CREATE DATABASE (optionally from a template); returns its URL."""
    with psycopg.connect(libpq_url(server), autocommit=True) as conn:
        statement = ledger_database(name)
        if template:
            statement = sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY file_copy").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        conn.execute(statement)
    return with_database(server, name)


def drop_database(server: str, name: str) -> None:
    """DROP DATABASE … WITH (FORCE)."""
    with psycopg.connect(libpq_url(server), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
