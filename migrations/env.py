"""Alembic environment: runs migrations on a connection handed in, or on DATABASE_URL."""

import os

from alembic import context
from sqlalchemy import Connection, create_engine, pool

from coverage_ledger.database.engine import sync_url
from coverage_ledger.database.models import Base

config = context.config
target_metadata = Base.metadata


def run_on(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    handed_in = config.attributes.get("connection")
    if handed_in is not None:
        run_on(handed_in)
        return
    url = config.attributes.get("url") or os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("set DATABASE_URL, or run `coverage-ledger db upgrade` for the embedded database")
    engine = create_engine(sync_url(url), poolclass=pool.NullPool)
    with engine.connect() as connection:
        run_on(connection)


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: the schema has triggers")
run_online()
