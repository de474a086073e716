"""Release 0.10.0 reads a claim's cover by the `claim_reading` rule (written by `db upgrade` as an
ordinary tx): from that rule's tx on, only the sources covering the claim's own program give its
membership facts. The schema does not change; the revision marks the claim projection as due for
rebuilding, so that a ledger taken back to an older release and brought forward again has its
claims projected by the code that reads them, and so that an older release, which does not know
the rule, refuses to run on this schema until `db downgrade 0024` is asked for.

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-29
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "INSERT INTO pending_reprojection (projection, reason) "
        "SELECT 'claims', 'migration 0025: claims read by the claim_reading rule' "
        "WHERE EXISTS (SELECT 1 FROM claim_record) ON CONFLICT (projection) DO NOTHING"
    )


def downgrade() -> None:
    # the older code reads every claim as before the rule: rebuild with it too
    op.execute(
        "INSERT INTO pending_reprojection (projection, reason) "
        "SELECT 'claims', 'downgrade from 0025: claims read as before the claim_reading rule' "
        "WHERE EXISTS (SELECT 1 FROM claim_record) ON CONFLICT (projection) DO NOTHING"
    )
