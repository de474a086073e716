"""A BPU-only claim's JKK wage is the declared income; years of contributions count only the
months paid by the incident.

A claim of a member whom only a BPU membership covered was assessed on the `wage` the claim gave
(DESIGN.md makes the declared income the wage base), and arrears paid after a death counted
towards the three years of contributions the JKM scholarship needs. The claim projection stores
the amounts as assessed, so it is recorded as due for rebuilding, as 0015 did; `db upgrade`
replays it from the log. The schema does not change.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "INSERT INTO pending_reprojection (projection, reason) "
        "SELECT 'claims', 'migration 0016: BPU wage base and years of contributions' "
        "WHERE EXISTS (SELECT 1 FROM claim_record) ON CONFLICT (projection) DO NOTHING"
    )


def downgrade() -> None:
    # the older code assesses those claims otherwise: rebuild with it too
    op.execute(
        "INSERT INTO pending_reprojection (projection, reason) "
        "SELECT 'claims', 'downgrade from 0016: claim wage and contribution years as before' "
        "WHERE EXISTS (SELECT 1 FROM claim_record) ON CONFLICT (projection) DO NOTHING"
    )
