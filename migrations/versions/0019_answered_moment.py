"""The latest moment past the head that a read has answered for, so that a backfill cannot be
stamped within it afterwards and change an answer already given.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "answered_moment",
        sa.Column("singleton", sa.Boolean(), primary_key=True),
        sa.Column("answered_until", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("singleton", name="answered_moment_one_row"),
    )
    op.execute("INSERT INTO answered_moment (singleton, answered_until) VALUES (true, '-infinity')")


def downgrade() -> None:
    op.drop_table("answered_moment")
