"""The software version that made each report pulled, in the access log: a release may change a
report's bytes (docs/changes.md), and the log of who pulled which bytes should say which code
made them. Rows logged before this migration have none.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("report_access", sa.Column("software_version", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("report_access", "software_version")
