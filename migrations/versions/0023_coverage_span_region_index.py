"""An index of coverage spans by region code, so a regional coverage-roster report reads its
region's spans instead of every span in the nation. Before, the report for a regency of 300
officers scanned all of a 200,000-officer regency's spans too, and grew with the whole ledger.

The index is in byte order (`text_pattern_ops`): the codes under a region are then one range,
from the code to the code followed by `/`, whatever the database's collation.

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-29
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_coverage_span_region",
        "coverage_span",
        ["region_code"],
        postgresql_ops={"region_code": "text_pattern_ops"},
    )


def downgrade() -> None:
    op.drop_index("ix_coverage_span_region", table_name="coverage_span")
