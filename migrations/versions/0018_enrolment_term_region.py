"""Enrolment terms carry their region, so the coverage roster names a term or membership only
inside the report's region (another region's committee, role and payer are that region's data).

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The trigger statements as 0008 left them, plus the region (a migration keeps its own copy).
COLUMNS = (
    "event_id, tx_from, tx_to, nik, type, tx_id, valid_from, valid_to, registered_on, role, committee, "
    "programs, payer{region}"
)
VALUES = """
    k.event_id, k.tx_from, k.tx_to, k.nik, k.type, e.tx_id,
    (e.payload ->> 'valid_from')::date, (e.payload ->> 'valid_to')::date,
    (e.payload ->> 'registered_on')::date, e.payload ->> 'role', e.payload ->> 'committee',
    translate((e.payload -> 'programs')::text, '[]",', ''),
    CASE e.payload -> 'payer' ->> 'kind'
         WHEN 'organisation' THEN (e.payload -> 'payer' ->> 'name')
                                  || coalesce(' (' || (e.payload -> 'payer' ->> 'budget') || ')', '')
         WHEN 'person' THEN 'person ' || (e.payload -> 'payer' ->> 'nik')
         WHEN 'self' THEN 'self' END{region}
"""
INCLUDED = [
    *("tx_to", "tx_id", "valid_from", "valid_to", "registered_on"),
    *("role", "committee", "programs", "payer"),
]


def _insert_function(*, with_region: bool) -> str:
    columns = COLUMNS.format(region=", region_code" if with_region else "")
    values = VALUES.format(region=", e.payload ->> 'region_code'" if with_region else "")
    statement = (
        f"INSERT INTO enrolment_term ({columns}) SELECT {values} "
        "FROM inserted k JOIN ledger_event e ON e.event_id = k.event_id "
        "WHERE k.type IN ('officer.enrolled', 'informal.enrolled')"
    )
    return f"""
CREATE OR REPLACE FUNCTION enrolment_term_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE $sql${statement}$sql$;
    RETURN NULL;
END $$;
"""


def _index(included: list[str]) -> None:
    op.drop_index("ix_enrolment_term_nik", table_name="enrolment_term")
    op.create_index(
        "ix_enrolment_term_nik", "enrolment_term", ["nik", "type", "tx_from"], postgresql_include=included
    )


def upgrade() -> None:
    op.add_column("enrolment_term", sa.Column("region_code", sa.Text(), nullable=True))
    op.execute(
        "UPDATE enrolment_term t SET region_code = e.payload ->> 'region_code' "
        "FROM ledger_event e WHERE e.event_id = t.event_id"
    )
    op.alter_column("enrolment_term", "region_code", nullable=False)
    _index([*INCLUDED, "region_code"])
    op.execute(_insert_function(with_region=True))


def downgrade() -> None:
    op.execute(_insert_function(with_region=False))
    _index(INCLUDED)
    op.drop_column("enrolment_term", "region_code")
