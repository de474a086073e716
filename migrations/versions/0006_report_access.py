"""Report access log: who pulled which report, when, with which parameters and content hash.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "report_access",
        sa.Column("access_id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("key_name", sa.Text(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.Column("parameters", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("tx_seq", sa.BigInteger(), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=True),
        sa.Column("content_sha256", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("access_id", name="pk_report_access"),
    )


def downgrade() -> None:
    op.drop_table("report_access")
