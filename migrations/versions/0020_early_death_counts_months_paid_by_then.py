"""An early BPU death (under three months "active & paying", facts.md) counts the months the member
had paid by the incident day: arrears the heirs paid afterwards restore the cover but no longer
make up the months.

The claim projection stores the amounts as assessed, so it is recorded as due for rebuilding, as
0015 to 0017 did; `db upgrade` replays it from the log. The schema does not change.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "INSERT INTO pending_reprojection (projection, reason) "
        "SELECT 'claims', 'migration 0020: an early BPU death counts the months paid by the incident' "
        "WHERE EXISTS (SELECT 1 FROM claim_record) ON CONFLICT (projection) DO NOTHING"
    )


def downgrade() -> None:
    # the older code assesses those claims otherwise: rebuild with it too
    op.execute(
        "INSERT INTO pending_reprojection (projection, reason) "
        "SELECT 'claims', 'downgrade from 0020: early BPU deaths count arrears paid afterwards' "
        "WHERE EXISTS (SELECT 1 FROM claim_record) ON CONFLICT (projection) DO NOTHING"
    )
