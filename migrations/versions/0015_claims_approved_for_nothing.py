"""A claim approved for Rp0 is not owed: it has no due date and is never overdue.

Such a claim (a JKK benefit on a declared income of 0, say) could never be paid (a payment of
more than nothing overpays it) and stayed in the overdue lists for good. The claim projection is
recorded as due for rebuilding, as 0010 and 0012 to 0014 did; `db upgrade` replays it from the
log. The schema does not change.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "INSERT INTO pending_reprojection (projection, reason) "
        "SELECT 'claims', 'migration 0015: a claim approved for Rp0 is not owed' "
        "WHERE EXISTS (SELECT 1 FROM claim_record) ON CONFLICT (projection) DO NOTHING"
    )


def downgrade() -> None:
    # the older code gives such a claim a due date: rebuild with it too
    op.execute(
        "INSERT INTO pending_reprojection (projection, reason) "
        "SELECT 'claims', 'downgrade from 0015: a claim approved for Rp0 is owed' "
        "WHERE EXISTS (SELECT 1 FROM claim_record) ON CONFLICT (projection) DO NOTHING"
    )
