"""Coverage spans: each person's covered valid-time intervals as known over [tx_from, tx_to).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "coverage_span",
        sa.Column("nik", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("tx_from", sa.BigInteger(), nullable=False),
        sa.Column("tx_to", sa.BigInteger(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("region_code", sa.Text(), nullable=False),
        sa.Column("officer", sa.Boolean(), nullable=False),
        sa.Column("informal", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("nik", "valid_from", "tx_from", name="pk_coverage_span"),
    )
    op.create_index(
        "ix_coverage_span_nik_open", "coverage_span", ["nik"], postgresql_where=sa.text("tx_to IS NULL")
    )
    op.create_index("ix_coverage_span_region_code", "coverage_span", ["region_code"])


def downgrade() -> None:
    op.drop_table("coverage_span")
