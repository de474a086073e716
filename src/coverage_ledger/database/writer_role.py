"""The service's role, `ledger_writer`, and its rights in a ledger database: what migration 0011
set up, set up again where the migrations did not run (a restored backup, whose rights are not
restored since its owner may not exist on the new server) and at every `db upgrade` (a role
created after 0011 ran, or a restore cut off before its grants, gets them then). Migrations are
history and import nothing from here: this is the same SQL as 0011's upgrade, for the same
tables."""

import psycopg

from coverage_ledger.database.engine import WRITER_ROLE

FIRST_REVISION_WITH_ROLE = 11
"""Migration 0011 made the role; a schema before it has no use for it yet (its upgrade grants)."""

CREATE_ROLE = f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{WRITER_ROLE}') THEN
        CREATE ROLE {WRITER_ROLE} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
    END IF;
    IF NOT pg_has_role(current_user, '{WRITER_ROLE}', 'SET') THEN
        EXECUTE format('GRANT {WRITER_ROLE} TO %I WITH INHERIT FALSE, SET TRUE', current_user);
    END IF;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN NULL;
    WHEN insufficient_privilege THEN
        RAISE NOTICE 'role {WRITER_ROLE} cannot be created or granted to % (no CREATEROLE, or no admin '
                     'option on it): the service acts as that user', current_user;
END $$"""
"""SQL: the role, created if the user may (else a notice: the service then acts as the user)."""

GRANT_RIGHTS = f"""
DO $$
DECLARE
    name text;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{WRITER_ROLE}') THEN
        RETURN;
    END IF;
    -- only tables this user may grant on (another role's, a DBA's, are theirs to grant), and
    -- nothing at all when none lacks its rights: no catalog write at every start
    IF NOT EXISTS (SELECT FROM pg_tables t
                    WHERE t.schemaname = current_schema() AND pg_has_role(current_user, t.tableowner, 'USAGE')
                      AND NOT has_table_privilege('{WRITER_ROLE}',
                                                  format('%I.%I', t.schemaname, t.tablename), 'SELECT')) THEN
        RETURN;
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO {WRITER_ROLE}', current_schema());
    EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO {WRITER_ROLE}', current_database());
    FOR name IN SELECT tablename FROM pg_tables
                 WHERE schemaname = current_schema() AND pg_has_role(current_user, tableowner, 'USAGE') LOOP
        IF name IN ('ledger_event', 'ledger_tx') THEN
            EXECUTE format('GRANT SELECT, INSERT ON %I TO {WRITER_ROLE}', name);
        ELSIF name = 'alembic_version' THEN
            EXECUTE format('GRANT SELECT ON %I TO {WRITER_ROLE}', name);
        ELSE
            EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO {WRITER_ROLE}', name);
        END IF;
    END LOOP;
    FOR name IN SELECT sequencename FROM pg_sequences
                 WHERE schemaname = current_schema()
                   AND pg_has_role(current_user, sequenceowner, 'USAGE') LOOP
        EXECUTE format('GRANT USAGE, SELECT, UPDATE ON SEQUENCE %I TO {WRITER_ROLE}', name);
    END LOOP;
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES '
                   'TO {WRITER_ROLE}', current_schema());
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE, SELECT, UPDATE ON SEQUENCES '
                   'TO {WRITER_ROLE}', current_schema());
EXCEPTION
    WHEN insufficient_privilege THEN
        RAISE NOTICE 'the rights of {WRITER_ROLE} could not all be granted by %', current_user;
END $$"""
"""SQL: the role's rights on this database's tables, when it exists and the user owns them."""


ANALYZED_TABLES = (
    "ledger_event",
    "person_vault",
    "event_knowledge",
    "correction_link",
    "enrolment_term",
    "coverage_span",
    "coverage_delta",
)
"""The tables a large upload grows by a row (or more) a roster row, and ANALYZEs once it has
committed (`ledger.repository.refresh_bulk_statistics`): the role may (MAINTAIN, migration 0026)."""

GRANT_MAINTAIN = f"""
DO $$
DECLARE
    name text;
BEGIN
    IF current_setting('server_version_num')::int < 170000
       OR NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{WRITER_ROLE}') THEN
        RETURN;
    END IF;
    FOR name IN SELECT tablename FROM pg_tables
                 WHERE schemaname = current_schema() AND tablename = ANY(ARRAY{list(ANALYZED_TABLES)!r})
                   AND pg_has_role(current_user, tableowner, 'USAGE')
                   AND NOT has_table_privilege('{WRITER_ROLE}', format('%I.%I', schemaname, tablename),
                                               'MAINTAIN') LOOP
        EXECUTE format('GRANT MAINTAIN ON %I TO {WRITER_ROLE}', name);
    END LOOP;
EXCEPTION
    WHEN insufficient_privilege THEN
        RAISE NOTICE 'MAINTAIN could not be granted to {WRITER_ROLE} by %', current_user;
END $$"""
"""SQL: the role's right to ANALYZE the tables uploads grow, where it lacks it (PostgreSQL 17+)."""


def grant_writer_role(conn: psycopg.Connection) -> None:
    """Create the role if the user may (else the service acts as the user, with a warning, as
    after 0011 on such a server) and grant it its rights on this database's tables."""
    conn.execute(CREATE_ROLE)
    conn.execute(GRANT_RIGHTS)
    conn.execute(GRANT_MAINTAIN)
