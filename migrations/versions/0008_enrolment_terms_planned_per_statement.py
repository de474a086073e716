"""Enrolment terms: the trigger functions plan their statement at each call.

plpgsql keeps the plan of a static statement for the life of the connection. The trigger's join
of the transition table with `ledger_event` (and the update's with `enrolment_term`) was planned
on the connection's first append, usually while the tables were small, and kept scanning them
whole after they had grown: batches of 1,000 corrections fell to a third of their speed on a young
ledger (docs/benchmarks.md). Run through EXECUTE, each statement is planned with the tables' and
the transition table's current sizes (index lookups for a correction, a hash join for a
million-row roster); planning costs well under a millisecond a statement.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The statements as 0007 wrote them (a migration keeps its own copy: 0007 must not change).
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
INSERT_TERMS = (
    f"INSERT INTO enrolment_term ({TERM_COLUMNS}) SELECT {TERM_VALUES} "
    f"FROM inserted k JOIN ledger_event e ON e.event_id = k.event_id WHERE {ENROLMENTS}"
)
CLOSE_TERMS = (
    "UPDATE enrolment_term t SET tx_to = k.tx_to FROM updated k "
    f"WHERE {ENROLMENTS} AND t.event_id = k.event_id AND t.tx_from = k.tx_from "
    "AND t.tx_to IS DISTINCT FROM k.tx_to"
)


def _functions(*, planned_per_call: bool) -> str:
    def body(statement: str) -> str:
        return f"EXECUTE $sql${statement}$sql$;" if planned_per_call else f"{statement};"

    return f"""
CREATE OR REPLACE FUNCTION enrolment_term_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {body(INSERT_TERMS)}
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION enrolment_term_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {body(CLOSE_TERMS)}
    RETURN NULL;
END $$;
"""


def upgrade() -> None:
    op.execute(_functions(planned_per_call=True))


def downgrade() -> None:
    op.execute(_functions(planned_per_call=False))
