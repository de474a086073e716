"""Claims: the day a claim's last payment was reversed, so that it is overdue again from then on;
and a list of projections to rebuild from the log at the next `db upgrade`.

A claim whose payments were all reversed is owed again (its approval stands), but only from the
day the last payment was taken back: on earlier days it was paid. Without that day the overdue
lists could either never list it or list it on days it was paid.

The rules that project claims changed with this release too (untargeted reversals, rejected
claims, contribution years), and a claim's projected history is decided in Python, not SQL: the
migration cannot rewrite it. It records the claim projection as due for rebuilding instead;
`db upgrade` (which `serve` runs) replays it from the log and clears the entry.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("claim_record", sa.Column("reversed_on", sa.Date(), nullable=True))
    op.create_table(
        "pending_reprojection",
        sa.Column("projection", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("projection", name="pk_pending_reprojection"),
    )
    op.execute(
        "INSERT INTO pending_reprojection (projection, reason) "
        "SELECT 'claims', 'migration 0010: claim_record.reversed_on and the claim rules of this release' "
        "WHERE EXISTS (SELECT 1 FROM claim_record)"
    )


def downgrade() -> None:
    op.drop_table("pending_reprojection")
    op.drop_column("claim_record", "reversed_on")
