"""Claims are due by the service time and the public holidays known at each tx.

A claim's projected due date used to follow the service time known when the claim's own events
last fixed it, counting weekends only. It now also skips the public holidays of the
`public_holidays` rules (their cuti bersama count as working days), and a tx in which a
`service_time` or `public_holidays` rule enters or leaves force reviews every claim again, so the
lists and the claim read agree after a calendar is corrected. The claim projection is recorded as due
for rebuilding, as 0010, 0012 and 0013 did; `db upgrade` replays it from the log. The schema does
not change.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "INSERT INTO pending_reprojection (projection, reason) "
        "SELECT 'claims', 'migration 0014: due dates skip public holidays and follow rule changes' "
        "WHERE EXISTS (SELECT 1 FROM claim_record) ON CONFLICT (projection) DO NOTHING"
    )


def downgrade() -> None:
    # the older code projects due dates without holidays: rebuild with it too
    op.execute(
        "INSERT INTO pending_reprojection (projection, reason) "
        "SELECT 'claims', 'downgrade from 0014: due dates count weekends only' "
        "WHERE EXISTS (SELECT 1 FROM claim_record) ON CONFLICT (projection) DO NOTHING"
    )
