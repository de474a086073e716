"""Claims: the live claims of a person found by NIK, and the claim projection rebuilt.

A person dies once: a filing or approval of a death benefit (JKM or JKK death) is checked against
the person's other claims that are not rejected, under the append lock, so `claim_record` gets an
index on the NIK of its open rows.

An undecided claim that is not payable no longer has a due date (nothing is owed, so nothing can
be overdue or earn a late penalty). The projected due dates of such claims change with this
release; the projection is decided in Python, so it is recorded as due for rebuilding, as 0010
did, and `db upgrade` replays it from the log.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_claim_record_nik_open", "claim_record", ["nik"], postgresql_where="tx_to IS NULL")
    op.execute(
        "INSERT INTO pending_reprojection (projection, reason) "
        "SELECT 'claims', 'migration 0012: no due date for an undecided claim that is not payable' "
        "WHERE EXISTS (SELECT 1 FROM claim_record) ON CONFLICT (projection) DO NOTHING"
    )


def downgrade() -> None:
    op.drop_index("ix_claim_record_nik_open", table_name="claim_record")
