"""Coverage spans and regional coverage deltas with checkpoints: the fast path of regional ratios.

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
    op.create_table(
        "coverage_delta",
        sa.Column("parent_code", sa.Text(), nullable=False),
        sa.Column("tx_seq", sa.BigInteger(), nullable=False),
        sa.Column("child_code", sa.Text(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("officer", sa.Boolean(), nullable=False),
        sa.Column("informal", sa.Boolean(), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "parent_code", "tx_seq", "child_code", "day", "officer", "informal", name="pk_coverage_delta"
        ),
    )
    op.create_table(
        "coverage_checkpoint",
        sa.Column("parent_code", sa.Text(), nullable=False),
        sa.Column("tx_seq", sa.BigInteger(), nullable=False),
        sa.Column("child_code", sa.Text(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("officer", sa.Boolean(), nullable=False),
        sa.Column("informal", sa.Boolean(), nullable=False),
        sa.Column("covered", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "parent_code", "tx_seq", "child_code", "day", "officer", "informal", name="pk_coverage_checkpoint"
        ),
    )
    op.create_table(
        "coverage_delta_parent",
        sa.Column("parent_code", sa.Text(), nullable=False),
        sa.Column("checkpoint_tx", sa.BigInteger(), nullable=False),
        sa.Column("checkpoint_rows", sa.Integer(), nullable=False),
        sa.Column("pending", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("parent_code", name="pk_coverage_delta_parent"),
    )
    op.create_table(
        "coverage_checkpoint_tx",
        sa.Column("parent_code", sa.Text(), nullable=False),
        sa.Column("tx_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("parent_code", "tx_seq", name="pk_coverage_checkpoint_tx"),
    )


def downgrade() -> None:
    for table in (
        "coverage_checkpoint_tx",
        "coverage_delta_parent",
        "coverage_checkpoint",
        "coverage_delta",
        "coverage_span",
    ):
        op.drop_table(table)
