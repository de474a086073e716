"""The service writes as `ledger_writer`: a role that may append to the log but never change it.

The guard triggers refuse UPDATE, DELETE and TRUNCATE on `ledger_event` and `ledger_tx`, but the
table owner (or a superuser, as the embedded cluster's `postgres` and the compose file's user are)
may disable a trigger, or skip it with `session_replication_role`. The service's connections now
act as `ledger_writer` (`database/engine.py` sets the role at connection start when this
migration could create it): SELECT and INSERT on the log, SELECT/INSERT/UPDATE/DELETE on the
projections and operational tables, no ownership, no superuser rights. Migrations keep running as
the connecting user, who owns the tables. The connection's session user is still that user, so
this guards against the service's own statements (none of them changes roles), not against
arbitrary SQL on its connections: for that, the service must log in as a role that is not the
owner (docs/architecture.md). Tables of later migrations get the same rights through default
privileges, for tables that the same user creates (a test checks every table).

The role is cluster-wide and may serve several ledger databases, so the downgrade revokes this
database's grants and leaves the role. A user without CREATEROLE (some managed servers) gets a
notice and the service keeps connecting as that user.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WRITER = "ledger_writer"
LOG_TABLES = ("ledger_event", "ledger_tx")


def upgrade() -> None:
    op.execute(
        f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{WRITER}') THEN
        CREATE ROLE {WRITER} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
    END IF;
    IF NOT pg_has_role(current_user, '{WRITER}', 'SET') THEN
        -- PostgreSQL 16+ makes a non-superuser creator an admin of the role, not a member who
        -- may SET it: the service, connecting as this user, must be able to
        EXECUTE format('GRANT {WRITER} TO %I WITH INHERIT FALSE, SET TRUE', current_user);
    END IF;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN NULL;  -- another database's migration, just now
    WHEN insufficient_privilege THEN
        RAISE NOTICE 'no CREATEROLE: the service will connect as %, who owns the log', current_user;
END $$;

DO $$
DECLARE
    name text;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{WRITER}') THEN
        RETURN;
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO {WRITER}', current_schema());
    -- the upload staging tables are temporary; servers hardened by revoking TEMP from PUBLIC
    EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO {WRITER}', current_database());
    FOR name IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() LOOP
        IF name = ANY(ARRAY{list(LOG_TABLES)!r}) THEN
            EXECUTE format('GRANT SELECT, INSERT ON %I TO {WRITER}', name);
        ELSIF name = 'alembic_version' THEN
            EXECUTE format('GRANT SELECT ON %I TO {WRITER}', name);
        ELSE
            EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO {WRITER}', name);
        END IF;
    END LOOP;
    EXECUTE format('GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA %I TO {WRITER}', current_schema());
    -- tables of later migrations are projections or operational tables: the same rights
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES '
                   'TO {WRITER}', current_schema());
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE, SELECT, UPDATE ON SEQUENCES '
                   'TO {WRITER}', current_schema());
END $$;
"""
    )


def downgrade() -> None:
    op.execute(
        f"""
DO $$
DECLARE
    name text;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{WRITER}') THEN
        RETURN;
    END IF;
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I REVOKE ALL ON TABLES FROM {WRITER}',
                   current_schema());
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I REVOKE ALL ON SEQUENCES FROM {WRITER}',
                   current_schema());
    FOR name IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() LOOP
        EXECUTE format('REVOKE ALL ON %I FROM {WRITER}', name);
    END LOOP;
    EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA %I FROM {WRITER}', current_schema());
    EXECUTE format('REVOKE ALL ON SCHEMA %I FROM {WRITER}', current_schema());
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM {WRITER}', current_database());
END $$;
"""
    )
