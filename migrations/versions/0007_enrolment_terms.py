"""Enrolment terms: the officer terms and BPU memberships of event_knowledge with the few payload
fields the coverage roster report prints, kept by statement-level triggers on event_knowledge.

A narrow copy read by index-only scans, so a report of a million covered persons does not fetch a
million wide ledger_event rows.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TERM_COLUMNS = (
    "event_id, tx_from, tx_to, nik, type, tx_id, valid_from, valid_to, registered_on, role, committee, "
    "programs, payer"
)
TERM_VALUES = """
    k.event_id, k.tx_from, k.tx_to, k.nik, k.type, e.tx_id,
    (e.payload ->> 'valid_from')::date, (e.payload ->> 'valid_to')::date,
    (e.payload ->> 'registered_on')::date, e.payload ->> 'role', e.payload ->> 'committee',
    translate((e.payload -> 'programs')::text, '[]",', ''),
    CASE e.payload -> 'payer' ->> 'kind'
         WHEN 'organisation' THEN (e.payload -> 'payer' ->> 'name')
                                  || coalesce(' (' || (e.payload -> 'payer' ->> 'budget') || ')', '')
         WHEN 'person' THEN 'person ' || (e.payload -> 'payer' ->> 'nik')
         WHEN 'self' THEN 'self' END
"""
ENROLMENTS = "k.type IN ('officer.enrolled', 'informal.enrolled')"

FUNCTIONS = f"""
CREATE FUNCTION enrolment_term_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO enrolment_term ({TERM_COLUMNS})
    SELECT {TERM_VALUES}
      FROM inserted k JOIN ledger_event e ON e.event_id = k.event_id
     WHERE {ENROLMENTS};
    RETURN NULL;
END $$;

CREATE FUNCTION enrolment_term_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE enrolment_term t SET tx_to = k.tx_to
      FROM updated k
     WHERE {ENROLMENTS} AND t.event_id = k.event_id AND t.tx_from = k.tx_from
       AND t.tx_to IS DISTINCT FROM k.tx_to;
    RETURN NULL;
END $$;

CREATE TRIGGER event_knowledge_terms_insert AFTER INSERT ON event_knowledge
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION enrolment_term_insert();
CREATE TRIGGER event_knowledge_terms_update AFTER UPDATE ON event_knowledge
    REFERENCING NEW TABLE AS updated FOR EACH STATEMENT EXECUTE FUNCTION enrolment_term_update();
"""


def upgrade() -> None:
    op.create_table(
        "enrolment_term",
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("tx_from", sa.BigInteger(), nullable=False),
        sa.Column("tx_to", sa.BigInteger(), nullable=True),
        sa.Column("nik", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("tx_id", sa.UUID(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("registered_on", sa.Date(), nullable=True),
        sa.Column("role", sa.Text(), nullable=True),
        sa.Column("committee", sa.Text(), nullable=True),
        sa.Column("programs", sa.Text(), nullable=False),
        sa.Column("payer", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("event_id", "tx_from", name="pk_enrolment_term"),
    )
    op.create_index(
        "ix_enrolment_term_nik",
        "enrolment_term",
        ["nik", "type", "tx_from"],
        postgresql_include=[
            "tx_to",
            "tx_id",
            "valid_from",
            "valid_to",
            "registered_on",
            "role",
            "committee",
            "programs",
            "payer",
        ],
    )
    op.execute(
        f"INSERT INTO enrolment_term ({TERM_COLUMNS}) SELECT {TERM_VALUES} "
        f"FROM event_knowledge k JOIN ledger_event e ON e.event_id = k.event_id WHERE {ENROLMENTS}"
    )
    op.execute(FUNCTIONS)


def downgrade() -> None:
    op.execute("DROP TRIGGER event_knowledge_terms_update ON event_knowledge")
    op.execute("DROP TRIGGER event_knowledge_terms_insert ON event_knowledge")
    op.execute("DROP FUNCTION enrolment_term_update()")
    op.execute("DROP FUNCTION enrolment_term_insert()")
    op.drop_table("enrolment_term")
