"""A claim of a BPU member whom nothing covered on the incident day (in arrears) is assessed on
the declared income of the membership the day belongs to, not on a `wage` the claim had to give.

The claim projection stores the amounts as assessed, so it is recorded as due for rebuilding, as
0015 and 0016 did; `db upgrade` replays it from the log. The schema does not change.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "INSERT INTO pending_reprojection (projection, reason) "
        "SELECT 'claims', 'migration 0017: the wage of a member in arrears is the declared income' "
        "WHERE EXISTS (SELECT 1 FROM claim_record) ON CONFLICT (projection) DO NOTHING"
    )


def downgrade() -> None:
    # the older code assesses those claims otherwise: rebuild with it too
    op.execute(
        "INSERT INTO pending_reprojection (projection, reason) "
        "SELECT 'claims', 'downgrade from 0017: the claim wage of a member in arrears as before' "
        "WHERE EXISTS (SELECT 1 FROM claim_record) ON CONFLICT (projection) DO NOTHING"
    )
