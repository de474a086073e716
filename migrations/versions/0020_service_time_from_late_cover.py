"""A claim whose cover rests on arrears paid after the claim was complete (the heirs pay, as in
the Sidoarjo case of facts.md) is due a service time after that payment, not after the
completion: until it the claim could not be approved, and the penalty ran for days no one could
pay in.

The claim projection stores the due date, so it is recorded as due for rebuilding, as 0015–0017
did; `db upgrade` replays it from the log. The schema does not change.

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
        "SELECT 'claims', 'migration 0020: the service time of a claim counts from arrears paid after it' "
        "WHERE EXISTS (SELECT 1 FROM claim_record) ON CONFLICT (projection) DO NOTHING"
    )


def downgrade() -> None:
    # the older code dates those claims from their completion: rebuild with it too
    op.execute(
        "INSERT INTO pending_reprojection (projection, reason) "
        "SELECT 'claims', 'downgrade from 0020: the service time from the completion as before' "
        "WHERE EXISTS (SELECT 1 FROM claim_record) ON CONFLICT (projection) DO NOTHING"
    )
