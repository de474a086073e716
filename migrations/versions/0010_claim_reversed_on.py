"""Claims: the day a claim's last payment was reversed, so that it is overdue again from then on.

A claim whose payments were all reversed is owed again (its approval stands), but only from the
day the last payment was taken back: on earlier days it was paid. Without that day the overdue
lists could either never list it or list it on days it was paid. Existing rows get NULL and are
projected again by their claim's next tx.

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


def downgrade() -> None:
    op.drop_column("claim_record", "reversed_on")
