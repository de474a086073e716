"""The service's role may ANALYZE (the MAINTAIN right, PostgreSQL 17+) the tables a large upload
grows: an upload of ten thousand rows or more refreshes their statistics once it has committed,
so that the next upload's statements are planned for their new sizes. Without the right,
PostgreSQL skipped those tables with a warning, and a roster committed right after a far larger
one was planned for the ledger before it (one such write ran for over ten minutes instead of two
seconds, until autovacuum analyzed the tables). No table changes.

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-29
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WRITER = "ledger_writer"
GROWN_BY_UPLOADS = (
    "ledger_event",
    "person_vault",
    "event_knowledge",
    "correction_link",
    "enrolment_term",
    "coverage_span",
    "coverage_delta",
)


def _grant(verb: str) -> str:
    preposition = "TO" if verb == "GRANT" else "FROM"
    return f"""
DO $$
DECLARE
    name text;
BEGIN
    IF current_setting('server_version_num')::int < 170000
       OR NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{WRITER}') THEN
        RETURN;
    END IF;
    FOREACH name IN ARRAY ARRAY{list(GROWN_BY_UPLOADS)!r} LOOP
        EXECUTE format('{verb} MAINTAIN ON %I {preposition} {WRITER}', name);
    END LOOP;
EXCEPTION
    WHEN insufficient_privilege THEN
        RAISE NOTICE 'MAINTAIN on the tables uploads grow could not be changed by %', current_user;
END $$;
"""


def upgrade() -> None:
    op.execute(_grant("GRANT"))


def downgrade() -> None:
    op.execute(_grant("REVOKE"))
