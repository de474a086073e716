"""The committee index keyed by committee, then regency, then NIK: a person search by committee
walks the committee's officers in each regency it has officers in, and only in the regencies of
the asked region. Before, a province's key asking for a committee of another province read all of
that committee's officers before finding none of them its own (20,000 officers: 54 ms against
9 ms for an unknown committee, which told the key how large the other committee was).

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_ledger_event_committee_regency_nik",
        "ledger_event",
        [sa.text("(payload ->> 'committee')"), sa.text("left(payload ->> 'region_code', 5)"), "nik"],
        postgresql_where=sa.text("type = 'officer.enrolled'"),
    )
    op.drop_index("ix_ledger_event_committee_nik", table_name="ledger_event")


def downgrade() -> None:
    op.create_index(
        "ix_ledger_event_committee_nik",
        "ledger_event",
        [sa.text("(payload ->> 'committee')"), "nik"],
        postgresql_where=sa.text("type = 'officer.enrolled'"),
    )
    op.drop_index("ix_ledger_event_committee_regency_nik", table_name="ledger_event")
