"""Claims: the claim state and payment projections, and a lookup of claim events by claim_id.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CLAIM_EVENTS = "type LIKE 'claim.%'"


def upgrade() -> None:
    op.create_index(
        "ix_ledger_event_claim_id",
        "ledger_event",
        [sa.text("(payload ->> 'claim_id')")],
        postgresql_where=sa.text(CLAIM_EVENTS),
    )
    op.create_table(
        "claim_record",
        sa.Column("claim_id", sa.Text(), nullable=False),
        sa.Column("tx_from", sa.BigInteger(), nullable=False),
        sa.Column("tx_to", sa.BigInteger(), nullable=True),
        sa.Column("nik", sa.Text(), nullable=False),
        sa.Column("region_code", sa.Text(), nullable=False),
        sa.Column("benefit", sa.Text(), nullable=False),
        sa.Column("incident_date", sa.Date(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("payable_amount", sa.BigInteger(), nullable=False),
        sa.Column("paid_amount", sa.BigInteger(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("settled_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("claim_id", "tx_from", name="pk_claim_record"),
    )
    op.create_index(
        "ix_claim_record_open",
        "claim_record",
        ["claim_id"],
        unique=True,
        postgresql_where=sa.text("tx_to IS NULL"),
    )
    op.create_index(
        "ix_claim_record_region",
        "claim_record",
        ["region_code", "tx_from"],
        postgresql_ops={"region_code": "text_pattern_ops"},
    )
    op.create_table(
        "claim_payment",
        sa.Column("payment_event_id", sa.Text(), nullable=False),
        sa.Column("tx_from", sa.BigInteger(), nullable=False),
        sa.Column("tx_to", sa.BigInteger(), nullable=True),
        sa.Column("claim_id", sa.Text(), nullable=False),
        sa.Column("region_code", sa.Text(), nullable=False),
        sa.Column("benefit", sa.Text(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("first_of_claim", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("payment_event_id", "tx_from", name="pk_claim_payment"),
    )
    op.create_index(
        "ix_claim_payment_claim_open",
        "claim_payment",
        ["claim_id"],
        postgresql_where=sa.text("tx_to IS NULL"),
    )
    op.create_index(
        "ix_claim_payment_region",
        "claim_payment",
        ["region_code", "tx_from"],
        postgresql_ops={"region_code": "text_pattern_ops"},
    )


def downgrade() -> None:
    op.drop_table("claim_payment")
    op.drop_table("claim_record")
    op.drop_index("ix_ledger_event_claim_id", table_name="ledger_event")
