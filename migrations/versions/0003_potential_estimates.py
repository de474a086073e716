"""Potential-worker estimates (the denominators of coverage ratios) found fast as known at a tx.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # a few thousand estimates among millions of events, like the rule table
    op.create_index(
        "ix_event_knowledge_potential",
        "event_knowledge",
        ["tx_from"],
        postgresql_where=sa.text("type = 'potential.estimated'"),
    )


def downgrade() -> None:
    op.drop_index("ix_event_knowledge_potential", table_name="event_knowledge")
